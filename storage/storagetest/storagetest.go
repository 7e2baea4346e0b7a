package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

type check struct {
	name string
	fn   func(t *testing.T, s storage.Store, prefix string)
}

// Run runs the contract suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	var checks []check
	checks = append(checks, objectChecks...)
	checks = append(checks, metadataChecks...)
	checks = append(checks, keyChecks...)
	checks = append(checks, listChecks...)
	checks = append(checks, concurrencyChecks...)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			c.fn(t, s, uniquePrefix(t))
		})
	}
}

// uniquePrefix isolates one check's keys from every other check's.
func uniquePrefix(t *testing.T) string {
	name := t.Name()
	name = name[strings.LastIndexByte(name, '/')+1:]
	return "storagetest/" + name + "-" + strings.ToLower(rand.Text()[:10]) + "/"
}

func put(t *testing.T, s storage.Store, key, content string, meta storage.Metadata) storage.ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, strings.NewReader(content), meta)
	require.NoError(t, err, "putting %s", key)
	return info
}

func get(t *testing.T, s storage.Store, key string) (string, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key)
	require.NoError(t, err, "getting %s", key)
	defer func() { require.NoError(t, rc.Close()) }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err, "reading %s", key)
	return string(b), info
}

func list(t *testing.T, s storage.Store, prefix string, opts storage.ListOptions) []storage.ObjectInfo {
	t.Helper()
	var out []storage.ObjectInfo
	for info, err := range s.List(t.Context(), prefix, opts) {
		require.NoError(t, err, "listing %q", prefix)
		out = append(out, info)
	}
	return out
}

func keysOf(infos []storage.ObjectInfo) []string {
	var keys []string
	for _, i := range infos {
		keys = append(keys, i.Key)
	}
	return keys
}

// normalized is meta as a JSON round trip returns it, which is what a
// store hands back.
func normalized(t *testing.T, meta storage.Metadata) storage.Metadata {
	t.Helper()
	b, err := json.Marshal(meta)
	require.NoError(t, err)
	var out storage.Metadata
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func requireMeta(t *testing.T, want storage.Metadata, got storage.Metadata, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, normalized(t, want), normalized(t, got), msgAndArgs...)
}

// sameObject asserts two descriptions of one object version agree.
func sameObject(t *testing.T, want, got storage.ObjectInfo) {
	t.Helper()
	require.Equal(t, want.Key, got.Key)
	require.Equal(t, want.Size, got.Size, "size of %s", want.Key)
	require.Equal(t, want.ETag, got.ETag, "etag of %s", want.Key)
	require.Equal(t, want.ContentType, got.ContentType, "content type of %s", want.Key)
	requireMeta(t, want.Metadata, got.Metadata, "metadata of %s", want.Key)
	require.False(t, got.IsPrefix)
	require.False(t, got.ModTime.IsZero(), "modification time of %s", want.Key)
}

func requireNotFound(t *testing.T, s storage.Store, key string) {
	t.Helper()
	_, err := s.Stat(t.Context(), key)
	require.ErrorIs(t, err, storage.ErrNotFound, "stat %s", key)
	rc, _, err := s.Get(t.Context(), key)
	if rc != nil {
		_ = rc.Close()
	}
	require.ErrorIs(t, err, storage.ErrNotFound, "get %s", key)
}

// cancelReader streams a pattern and cancels its context once after bytes
// have been read. It ends 64 MiB later, so a store that ignores the
// context finishes the write and fails the check rather than hanging.
type cancelReader struct {
	after  int
	read   int
	cancel context.CancelFunc
}

func (r *cancelReader) Read(p []byte) (int, error) {
	if r.read >= r.after && r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	if r.read >= r.after+64<<20 {
		return 0, io.EOF
	}
	p = p[:min(len(p), r.after+64<<20-r.read)]
	for i := range p {
		p[i] = byte('a' + (r.read+i)%26)
	}
	r.read += len(p)
	return len(p), nil
}

// failReader fails with err after n bytes.
type failReader struct {
	n   int
	err error
}

func (r *failReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, r.err
	}
	p = p[:min(len(p), r.n)]
	clear(p)
	r.n -= len(p)
	return len(p), nil
}

func uniform(b []byte) bool {
	return len(b) == 0 || bytes.Count(b, b[:1]) == len(b)
}
