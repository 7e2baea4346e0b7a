package fs_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
)

func readSidecar(t *testing.T, s *fs.Store, key string) (map[string]any, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.Dir(), filepath.FromSlash(key)+storage.MetaSuffix))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m, raw
}

// filesUnder lists every file name below dir, relative and slash-separated.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(dir, p)
			require.NoError(t, err)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	}))
	return out
}

func TestSidecarFormat(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	content := "<p>hello</p>"
	info, err := s.Put(t.Context(), "exec/route/page.html", strings.NewReader(content), storage.Metadata{
		storage.MetaContentType: "text/html; charset=utf-8",
		storage.MetaRoute:       "route",
		"nested":                map[string]any{"a": []any{1, "x"}},
	})
	require.NoError(t, err)

	data, err := os.ReadFile(filepath.Join(s.Dir(), "exec", "route", "page.html"))
	require.NoError(t, err)
	require.Equal(t, content, string(data), "content is stored as a plain file under the key's path")

	m, _ := readSidecar(t, s, "exec/route/page.html")
	sum := md5.Sum([]byte(content))
	require.Equal(t, "text/html; charset=utf-8", m["content_type"])
	require.EqualValues(t, len(content), m["size"])
	require.Equal(t, hex.EncodeToString(sum[:]), m["etag"], "etag is the hex MD5 of the content")
	require.Equal(t, info.ETag, m["etag"])
	mod, err := time.Parse(time.RFC3339Nano, m["modified_at"].(string))
	require.NoError(t, err)
	require.True(t, mod.Equal(info.ModTime), "modified_at %v, info %v", mod, info.ModTime)
	require.Equal(t, "route", m["route"])
	require.Equal(t, map[string]any{"a": []any{1.0, "x"}}, m["nested"])
	require.Len(t, m, 6, "sidecar fields: %v", m)

	require.NotContains(t, info.Metadata, "size", "store-computed fields are not caller metadata")
	require.NotContains(t, info.Metadata, "etag")
	require.NotContains(t, info.Metadata, "modified_at")
}

func TestStoreOwnedFieldsCannotBeSet(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	info, err := s.Put(t.Context(), "k", strings.NewReader("abc"), storage.Metadata{"size": 999, "etag": "forged", "modified_at": "never"})
	require.NoError(t, err)
	m, _ := readSidecar(t, s, "k")
	require.EqualValues(t, 3, m["size"])
	require.Equal(t, info.ETag, m["etag"])
	require.NotEqual(t, "forged", m["etag"])
	require.NotEqual(t, "never", m["modified_at"])
}

// Fields someone else wrote into a sidecar survive a rewrite byte for byte
// in value, including numbers JSON decoders would round.
func TestUnknownSidecarFieldsSurviveRewrite(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, err := s.Put(t.Context(), "doc.md", strings.NewReader("v1"), storage.Metadata{storage.MetaContentType: "text/markdown", "n": 1})
	require.NoError(t, err)

	side := filepath.Join(s.Dir(), "doc.md"+storage.MetaSuffix)
	m, raw := readSidecar(t, s, "doc.md")
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fields))
	fields["x_future"] = json.RawMessage(`{"list":[1,{"deep":null}],"s":"ü"}`)
	fields["big"] = json.RawMessage(`12345678901234567890123`)
	edited, err := json.Marshal(fields)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(side, edited, 0o644))

	info, err := s.Put(t.Context(), "doc.md", strings.NewReader("v2 longer"), storage.Metadata{"n": 2})
	require.NoError(t, err)
	_, raw = readSidecar(t, s, "doc.md")
	require.Contains(t, string(raw), `12345678901234567890123`, "large numbers are kept verbatim")
	require.NoError(t, json.Unmarshal(raw, &fields))
	require.JSONEq(t, `{"list":[1,{"deep":null}],"s":"ü"}`, string(fields["x_future"]))
	require.Equal(t, "text/markdown", m["content_type"])
	require.Equal(t, "text/markdown", info.ContentType)
	require.EqualValues(t, 2, info.Metadata["n"])
	require.Contains(t, info.Metadata, "x_future")
	require.EqualValues(t, len("v2 longer"), info.Size)
}

func TestContentTypeDefaults(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	put := func(key string, meta storage.Metadata) storage.ObjectInfo {
		info, err := s.Put(t.Context(), key, strings.NewReader("{}"), meta)
		require.NoError(t, err)
		return info
	}
	require.Equal(t, "application/json", put("a.json", nil).ContentType, "guessed from the extension")
	require.Equal(t, "application/octet-stream", put("a.unknown-ext", nil).ContentType)
	require.Equal(t, "application/octet-stream", put("noext", storage.Metadata{storage.MetaContentType: ""}).ContentType)
	require.Equal(t, "text/plain", put("a.json", storage.Metadata{storage.MetaContentType: "text/plain"}).ContentType)
	require.Equal(t, "text/plain", put("a.json", nil).ContentType, "a rewrite keeps the stored type")

	_, err := s.Put(t.Context(), "bad", strings.NewReader("x"), storage.Metadata{storage.MetaContentType: 42})
	require.Error(t, err, "a content type must be a string")
	_, err = s.Put(t.Context(), "bad", strings.NewReader("x"), storage.Metadata{"ch": make(chan int)})
	require.Error(t, err, "metadata must encode as JSON")
	_, err = s.Stat(t.Context(), "bad")
	require.ErrorIs(t, err, storage.ErrNotFound, "bad metadata stores nothing")
}

func TestFilesWithoutSidecarAreObjects(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	require.NoError(t, os.MkdirAll(filepath.Join(s.Dir(), "manual"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir(), "manual", "page.html"), []byte("<b>x</b>"), 0o644))

	info, err := s.Stat(t.Context(), "manual/page.html")
	require.NoError(t, err)
	require.EqualValues(t, 8, info.Size)
	require.Equal(t, "text/html; charset=utf-8", info.ContentType)
	require.Empty(t, info.ETag)
	listed := 0
	for got, err := range s.List(t.Context(), "", storage.ListOptions{WithMetadata: true}) {
		require.NoError(t, err)
		require.Equal(t, "manual/page.html", got.Key)
		listed++
	}
	require.Equal(t, 1, listed)
}

func TestOrphanSidecarDoesNotLeakIntoNewObject(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	// Left behind by a delete interrupted between its two removals.
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir(), "k"+storage.MetaSuffix), []byte(`{"stale":true,"content_type":"text/old"}`), 0o644))
	info, err := s.Put(t.Context(), "k", strings.NewReader("x"), storage.Metadata{"fresh": true})
	require.NoError(t, err)
	require.NotContains(t, info.Metadata, "stale")
	require.Equal(t, "application/octet-stream", info.ContentType)
}

func TestCorruptSidecar(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, err := s.Put(t.Context(), "k", strings.NewReader("x"), storage.Metadata{"a": 1})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir(), "k"+storage.MetaSuffix), []byte("{not json"), 0o644))

	_, err = s.Stat(t.Context(), "k")
	require.Error(t, err)
	require.NotErrorIs(t, err, storage.ErrNotFound, "a damaged sidecar is reported, not hidden")

	info, err := s.Put(t.Context(), "k", strings.NewReader("y"), storage.Metadata{"b": 2})
	require.NoError(t, err, "a rewrite repairs the sidecar")
	require.NotContains(t, info.Metadata, "a")
	st, err := s.Stat(t.Context(), "k")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.Metadata["b"])
}

func TestTemporaryFilesInvisible(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, err := s.Put(t.Context(), "dir/real", strings.NewReader("x"), nil)
	require.NoError(t, err)
	// As a crash mid-write leaves them.
	stale := ".tmp-CRASHED" + storage.MetaSuffix + storage.MetaSuffix
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir(), "dir", stale), []byte("partial"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir(), stale), []byte("partial"), 0o644))

	var keys []string
	for info, err := range s.List(t.Context(), "", storage.ListOptions{}) {
		require.NoError(t, err)
		keys = append(keys, info.Key)
	}
	require.Equal(t, []string{"dir/real"}, keys)
	for info, err := range s.List(t.Context(), "", storage.ListOptions{Delimiter: "/"}) {
		require.NoError(t, err)
		require.Equal(t, "dir/", info.Key)
	}

	// A failed or cancelled write leaves no temporary file behind.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = s.Put(ctx, "dir/cancelled", strings.NewReader("x"), nil)
	require.Error(t, err)
	_, err = s.Put(t.Context(), "dir/broken", iotestErrReader{}, nil)
	require.Error(t, err)
	require.ElementsMatch(t, []string{"dir/real", "dir/real" + storage.MetaSuffix, "dir/" + stale, stale}, filesUnder(t, s.Dir()))
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("read failed") }

func TestNoTemporaryFilesAfterWrites(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for i := range 20 {
		_, err := s.Put(t.Context(), fmt.Sprintf("a/b/%d", i%4), strings.NewReader("x"), storage.Metadata{"i": i})
		require.NoError(t, err)
	}
	for _, f := range filesUnder(t, s.Dir()) {
		require.NotContains(t, f, ".tmp-", "temporary file left behind: %s", f)
	}
}

func TestSymlinkEscapeRefused(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(s.Dir(), "link")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(s.Dir(), "filelink")))
	require.NoError(t, os.Symlink("../"+filepath.Base(outside), filepath.Join(s.Dir(), "rellink")))
	ctx := t.Context()

	// Through a linked folder nothing works: the path leaves the root.
	for _, key := range []string{"link/secret", "link/new", "rellink/secret"} {
		_, err := s.Put(ctx, key, strings.NewReader("pwned"), nil)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Put %s", key)
		_, err = s.Stat(ctx, key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Stat %s", key)
		rc, _, err := s.Get(ctx, key)
		if rc != nil {
			rc.Close()
		}
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Get %s", key)
		require.ErrorIs(t, s.Delete(ctx, key), storage.ErrInvalidKey, "Delete %s", key)
	}
	// A linked file cannot be read; writing or deleting the key acts on the
	// link itself, inside the root.
	_, err := s.Stat(ctx, "filelink")
	require.ErrorIs(t, err, storage.ErrInvalidKey)
	rc, _, err := s.Get(ctx, "filelink")
	if rc != nil {
		rc.Close()
	}
	require.ErrorIs(t, err, storage.ErrInvalidKey)
	_, err = s.Put(ctx, "filelink", strings.NewReader("replaced"), nil)
	require.NoError(t, err)
	fi, err := os.Lstat(filepath.Join(s.Dir(), "filelink"))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular(), "the link was replaced, not followed")
	require.NoError(t, s.Delete(ctx, "filelink"))
	_, err = os.Lstat(filepath.Join(s.Dir(), "filelink"))
	require.ErrorIs(t, err, os.ErrNotExist)

	for info, err := range s.List(ctx, "link/", storage.ListOptions{}) {
		require.ErrorIs(t, err, storage.ErrInvalidKey, "List through the link: %v", info)
	}
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(s.Dir(), "filelink")))
	for info, err := range s.List(ctx, "", storage.ListOptions{}) {
		require.NoError(t, err)
		require.Fail(t, "symbolic links are not listed", info.Key)
	}

	data, err := os.ReadFile(filepath.Join(outside, "secret"))
	require.NoError(t, err)
	require.Equal(t, "secret", string(data))
	require.Equal(t, []string{"secret"}, filesUnder(t, outside), "nothing was written outside the root")
}

func TestDeletePrunesEmptyFolders(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for _, k := range []string{"a/b/c/d", "a/x"} {
		_, err := s.Put(ctx, k, strings.NewReader(k), nil)
		require.NoError(t, err)
	}
	require.NoError(t, s.Delete(ctx, "a/b/c/d"))
	_, err := os.Stat(filepath.Join(s.Dir(), "a", "b"))
	require.ErrorIs(t, err, os.ErrNotExist, "emptied folders are removed")
	_, err = os.Stat(filepath.Join(s.Dir(), "a", "x"))
	require.NoError(t, err, "a folder that still holds an object stays")

	require.NoError(t, s.Delete(ctx, "a/x"))
	_, err = os.Stat(filepath.Join(s.Dir(), "a"))
	require.ErrorIs(t, err, os.ErrNotExist)
	fi, err := os.Stat(s.Dir())
	require.NoError(t, err, "the root itself stays")
	require.True(t, fi.IsDir())
	require.Empty(t, filesUnder(t, s.Dir()))
}

func TestDeleteKeepsSymlinkedFolder(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Put(ctx, "real/x", strings.NewReader("x"), nil)
	require.NoError(t, err)
	require.NoError(t, os.Symlink("real", filepath.Join(s.Dir(), "alias")))
	require.NoError(t, s.Delete(ctx, "alias/x"))
	_, err = os.Lstat(filepath.Join(s.Dir(), "alias"))
	require.NoError(t, err, "pruning never removes a symbolic link")
}

func TestKeyConflicts(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Put(ctx, "obj", strings.NewReader("obj"), nil)
	require.NoError(t, err)
	_, err = s.Put(ctx, "obj/child", strings.NewReader("x"), nil)
	require.ErrorIs(t, err, fs.ErrKeyConflict)

	_, err = s.Put(ctx, "folder/child", strings.NewReader("child"), storage.Metadata{"keep": true})
	require.NoError(t, err)
	_, err = s.Put(ctx, "folder", strings.NewReader("x"), nil)
	require.ErrorIs(t, err, fs.ErrKeyConflict)

	rc, info, err := s.Get(ctx, "folder/child")
	require.NoError(t, err)
	rc.Close()
	require.Equal(t, true, info.Metadata["keep"])
	require.ElementsMatch(t, []string{"obj", "obj" + storage.MetaSuffix, "folder/child", "folder/child" + storage.MetaSuffix}, filesUnder(t, s.Dir()),
		"failed writes leave no files")
}

func TestListSkipsNamesNoKeyCanHave(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, p := range []string{`back\slash`, "ctl\x01", filepath.Join("dir"+storage.MetaSuffix, "inner"), "ok"} {
		full := filepath.Join(s.Dir(), p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte("x"), 0o644))
	}
	var keys []string
	for info, err := range s.List(t.Context(), "", storage.ListOptions{}) {
		require.NoError(t, err)
		keys = append(keys, info.Key)
	}
	require.Equal(t, []string{"ok"}, keys)
}

// A Delete prunes folders while Puts into the same folder run: the Puts must
// recreate what they need, never fail.
func TestPutSurvivesConcurrentPrune(t *testing.T) {
	t.Parallel()
	s := newStore(t, fs.WithSync(false))
	ctx := t.Context()
	const rounds = 200
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	wg.Go(func() {
		for i := range rounds {
			if _, err := s.Put(ctx, "f/g/churn", strings.NewReader("x"), nil); err != nil {
				errs <- err
			}
			if err := s.Delete(ctx, "f/g/churn"); err != nil {
				errs <- err
			}
			_ = i
		}
	})
	wg.Go(func() {
		for i := range rounds {
			key := fmt.Sprintf("f/g/steady-%d", i%3)
			if _, err := s.Put(ctx, key, strings.NewReader("y"), nil); err != nil {
				errs <- err
			}
			if err := s.Delete(ctx, key); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Empty(t, filesUnder(t, s.Dir()))
}

func TestNilReaderRefused(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	_, err := s.Put(t.Context(), "k", nil, nil)
	require.ErrorContains(t, err, "no content reader")
	_, err = s.Stat(t.Context(), "k")
	require.ErrorIs(t, err, storage.ErrNotFound)
}
