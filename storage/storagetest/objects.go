package storagetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

var objectChecks = []check{
	{"PutGetStat", testPutGetStat},
	{"ContentType", testContentType},
	{"Overwrite", testOverwrite},
	{"ETagFollowsContent", testETag},
	{"MissingIsNotFound", testMissing},
	{"Delete", testDelete},
	{"DeleteMissing", testDeleteMissing},
	{"FolderIsNotAnObject", testFolderIsNotAnObject},
	{"EmptyObject", testEmptyObject},
	{"LargeObjectStreams", testLargeObject},
	{"CancelMidUpload", testCancelMidUpload},
	{"CancelMidRewrite", testCancelMidRewrite},
	{"ReaderErrorLeavesNothing", testReaderError},
	{"CancelledContext", testCancelledContext},
}

func testPutGetStat(t *testing.T, s storage.Store, p string) {
	key := p + "docs/page.html"
	meta := storage.Metadata{storage.MetaContentType: "text/html", storage.MetaSourceURL: "https://example.com/page"}
	info := put(t, s, key, "<h1>hello</h1>", meta)
	require.Equal(t, key, info.Key)
	require.EqualValues(t, len("<h1>hello</h1>"), info.Size)
	require.NotEmpty(t, info.ETag)
	require.Equal(t, "text/html", info.ContentType)
	requireMeta(t, meta, info.Metadata)

	content, got := get(t, s, key)
	require.Equal(t, "<h1>hello</h1>", content)
	sameObject(t, info, got)

	st, err := s.Stat(t.Context(), key)
	require.NoError(t, err)
	sameObject(t, info, st)
}

func testContentType(t *testing.T, s storage.Store, p string) {
	for i, ct := range []string{"text/markdown; charset=utf-8", "application/json", "image/png", "application/x-custom+thing"} {
		key := p + "ct/" + string(rune('a'+i))
		info := put(t, s, key, "x", storage.Metadata{storage.MetaContentType: ct})
		require.Equal(t, ct, info.ContentType)
		_, got := get(t, s, key)
		require.Equal(t, ct, got.ContentType)
		require.Equal(t, ct, got.Metadata[storage.MetaContentType])
	}
}

func testOverwrite(t *testing.T, s storage.Store, p string) {
	key := p + "doc.txt"
	first := put(t, s, key, "first version, longer", storage.Metadata{storage.MetaContentType: "text/plain"})
	second := put(t, s, key, "second", storage.Metadata{storage.MetaContentType: "text/csv"})
	require.EqualValues(t, len("second"), second.Size)
	require.NotEqual(t, first.ETag, second.ETag)

	content, got := get(t, s, key)
	require.Equal(t, "second", content, "the last write wins")
	sameObject(t, second, got)
	require.Equal(t, "text/csv", got.ContentType)
	require.Equal(t, []string{key}, keysOf(list(t, s, p, storage.ListOptions{})), "an overwrite adds no object")
}

func testETag(t *testing.T, s storage.Store, p string) {
	a := put(t, s, p+"a", "same content", nil)
	b := put(t, s, p+"b", "same content", nil)
	c := put(t, s, p+"c", "other content", nil)
	require.NotEmpty(t, a.ETag)
	require.Equal(t, a.ETag, b.ETag, "equal content, equal etag")
	require.NotEqual(t, a.ETag, c.ETag, "different content, different etag")
}

func testMissing(t *testing.T, s storage.Store, p string) {
	requireNotFound(t, s, p+"never-written")
	requireNotFound(t, s, p+"no/such/folder/key")
	require.Empty(t, list(t, s, p, storage.ListOptions{}))
	require.Empty(t, list(t, s, p+"no/such/", storage.ListOptions{Delimiter: "/"}))
}

func testDelete(t *testing.T, s storage.Store, p string) {
	keep := put(t, s, p+"dir/keep", "keep", storage.Metadata{"n": 1})
	put(t, s, p+"dir/sub/gone", "gone", storage.Metadata{"n": 2})
	require.NoError(t, s.Delete(t.Context(), p+"dir/sub/gone"))
	requireNotFound(t, s, p+"dir/sub/gone")
	require.Equal(t, []string{keep.Key}, keysOf(list(t, s, p, storage.ListOptions{})))
	require.Equal(t, []string{p + "dir/"}, keysOf(list(t, s, p, storage.ListOptions{Delimiter: "/"})))

	// Writing the key again starts from scratch: no metadata of the
	// deleted object comes back.
	again := put(t, s, p+"dir/sub/gone", "new", storage.Metadata{storage.MetaContentType: "text/plain"})
	require.NotContains(t, again.Metadata, "n")
	content, _ := get(t, s, keep.Key)
	require.Equal(t, "keep", content)
}

func testDeleteMissing(t *testing.T, s storage.Store, p string) {
	require.NoError(t, s.Delete(t.Context(), p+"never-written"))
	require.NoError(t, s.Delete(t.Context(), p+"no/such/folder/key"))
	put(t, s, p+"twice", "x", nil)
	require.NoError(t, s.Delete(t.Context(), p+"twice"))
	require.NoError(t, s.Delete(t.Context(), p+"twice"), "deleting twice is fine")
}

func testFolderIsNotAnObject(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"folder/inner", "inner", nil)
	requireNotFound(t, s, p+"folder")
	require.NoError(t, s.Delete(t.Context(), p+"folder"), "deleting a folder name is deleting a missing key")
	content, _ := get(t, s, p+"folder/inner")
	require.Equal(t, "inner", content, "deleting the folder name left the object inside alone")
}

func testEmptyObject(t *testing.T, s storage.Store, p string) {
	info := put(t, s, p+"empty", "", storage.Metadata{storage.MetaContentType: "text/plain"})
	require.Zero(t, info.Size)
	content, got := get(t, s, p+"empty")
	require.Empty(t, content)
	sameObject(t, info, got)
	listed := list(t, s, p, storage.ListOptions{})
	require.Len(t, listed, 1)
	require.Zero(t, listed[0].Size)
}

func testLargeObject(t *testing.T, s storage.Store, p string) {
	size := int64(64 << 20)
	if testing.Short() {
		size = 8 << 20
	}
	// Generated on the fly, hashed as it is read: the test never holds
	// the object, so neither may the store need to.
	want := sha256.New()
	src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), size), want)
	info, err := s.Put(t.Context(), p+"large.bin", src, storage.Metadata{storage.MetaContentType: "application/octet-stream"})
	require.NoError(t, err)
	require.Equal(t, size, info.Size)

	rc, got, err := s.Get(t.Context(), p+"large.bin")
	require.NoError(t, err)
	defer func() { require.NoError(t, rc.Close()) }()
	require.Equal(t, size, got.Size)
	h := sha256.New()
	n, err := io.Copy(h, rc)
	require.NoError(t, err)
	require.Equal(t, size, n)
	require.Equal(t, want.Sum(nil), h.Sum(nil), "content read back differs from content written")
}

func testCancelMidUpload(t *testing.T, s storage.Store, p string) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := s.Put(ctx, p+"partial", &cancelReader{after: 1 << 20, cancel: cancel}, storage.Metadata{"x": 1})
	require.ErrorIs(t, err, context.Canceled)
	requireNotFound(t, s, p+"partial")
	require.Empty(t, list(t, s, p, storage.ListOptions{}), "no partial object is visible")
}

func testCancelMidRewrite(t *testing.T, s storage.Store, p string) {
	old := put(t, s, p+"doc", "old content", storage.Metadata{"version": 1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := s.Put(ctx, p+"doc", &cancelReader{after: 1 << 20, cancel: cancel}, storage.Metadata{"version": 2})
	require.ErrorIs(t, err, context.Canceled)
	content, got := get(t, s, p+"doc")
	require.Equal(t, "old content", content, "a cancelled rewrite leaves the old object")
	sameObject(t, old, got)
}

func testReaderError(t *testing.T, s storage.Store, p string) {
	boom := errors.New("source broke")
	_, err := s.Put(t.Context(), p+"broken", &failReader{n: 300 << 10, err: boom}, nil)
	require.ErrorIs(t, err, boom)
	requireNotFound(t, s, p+"broken")
	require.Empty(t, list(t, s, p, storage.ListOptions{}))
}

func testCancelledContext(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"there", "x", nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Put(ctx, p+"new", strings.NewReader("x"), nil)
	require.ErrorIs(t, err, context.Canceled)
	requireNotFound(t, s, p+"new")
	_, err = s.Stat(ctx, p+"there")
	require.ErrorIs(t, err, context.Canceled)
	rc, _, err := s.Get(ctx, p+"there")
	if rc != nil {
		_ = rc.Close()
	}
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.Delete(ctx, p+"there"), context.Canceled)
	content, _ := get(t, s, p+"there")
	require.Equal(t, "x", content, "a delete with a cancelled context deletes nothing")
	var listErr error
	for _, err := range s.List(ctx, p, storage.ListOptions{}) {
		listErr = err
		break
	}
	require.ErrorIs(t, listErr, context.Canceled)
}
