package fs_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

// TestNestedSymlinkEscapeRefused covers links the simpler escape test does
// not: deep in the tree, pointing at the file system root, and in place of
// a metadata sidecar. None of them lets a key read, write, list or delete
// anything outside the root.
func TestNestedSymlinkEscapeRefused(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "meta"), []byte(`{"content_type":"text/plain","stolen":"yes"}`), 0o600))

	_, err := s.Put(ctx, "a/b/keep", strings.NewReader("keep"), nil)
	require.NoError(t, err)
	up := strings.Repeat("../", 64) // climbs past the root whatever its depth
	require.NoError(t, os.Symlink(up+strings.TrimPrefix(outside, "/"), filepath.Join(s.Dir(), "a", "b", "deep")))
	require.NoError(t, os.Symlink("/", filepath.Join(s.Dir(), "fsroot")))

	for _, key := range []string{"a/b/deep/secret", "a/b/deep/new", "fsroot/etc/passwd", "fsroot" + outside + "/secret"} {
		_, err := s.Put(ctx, key, strings.NewReader("pwned"), nil)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Put %s", key)
		rc, _, err := s.Get(ctx, key)
		if rc != nil {
			_ = rc.Close()
		}
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Get %s", key)
		_, err = s.Stat(ctx, key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Stat %s", key)
		require.ErrorIs(t, s.Delete(ctx, key), storage.ErrInvalidKey, "Delete %s", key)
	}
	for _, prefix := range []string{"a/b/deep/", "fsroot/etc/"} {
		for info, err := range s.List(ctx, prefix, storage.ListOptions{}) {
			require.ErrorIs(t, err, storage.ErrInvalidKey, "List %s: %v", prefix, info)
		}
	}

	// A sidecar that links outside is never read: the object's metadata
	// cannot be taken from (or leak) a file beyond the root.
	_, err = s.Put(ctx, "doc", strings.NewReader("doc"), nil)
	require.NoError(t, err)
	side := filepath.Join(s.Dir(), "doc"+storage.MetaSuffix)
	require.NoError(t, os.Remove(side))
	require.NoError(t, os.Symlink(filepath.Join(outside, "meta"), side))
	info, err := s.Stat(ctx, "doc")
	if err == nil {
		require.NotContains(t, info.Metadata, "stolen", "metadata was read through a link")
	}
	rc, info, err := s.Get(ctx, "doc")
	if err == nil {
		b, rerr := io.ReadAll(rc)
		require.NoError(t, rerr)
		require.NoError(t, rc.Close())
		require.Equal(t, "doc", string(b))
		require.NotContains(t, info.Metadata, "stolen")
	}
	for info, err := range s.List(ctx, "", storage.ListOptions{WithMetadata: true}) {
		if err == nil {
			require.NotContains(t, info.Metadata, "stolen", "listing %s", info.Key)
		}
	}
	_, _ = s.Put(ctx, "doc", strings.NewReader("doc2"), storage.Metadata{"x": 1})
	require.NoError(t, s.Delete(ctx, "doc"))

	data, err := os.ReadFile(filepath.Join(outside, "meta"))
	require.NoError(t, err)
	require.Contains(t, string(data), "stolen", "the linked file is untouched")
	require.ElementsMatch(t, []string{"meta", "secret"}, filesUnder(t, outside), "nothing was written outside the root")
	content, err := os.ReadFile(filepath.Join(outside, "secret"))
	require.NoError(t, err)
	require.Equal(t, "secret", string(content))
}
