package storage_test

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

func TestValidateKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"executions/e1/route/stage/msg.html", true},
		{"with space/and#hash%20+plus?q=1&x", true},
		{"ünïcødé/日本語/😀", true},
		{"..dots/x..", true},
		{".hidden/.x", true},
		{"a.meta.jsonx", true},
		{"meta.json", true},
		{strings.Repeat("k", storage.MaxKeyLength), true},

		{"", false},
		{strings.Repeat("k", storage.MaxKeyLength+1), false},
		{"/abs", false},
		{"trailing/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/../b", false},
		{"a/./b", false},
		{"a/..", false},
		{"nul\x00", false},
		{"tab\tkey", false},
		{"new\nline", false},
		{"del\x7f", false},
		{`back\slash`, false},
		{`..\..\windows`, false},
		{"bad\xffutf8", false},
		{"x.meta.json", false},
		{"dir/x.meta.json", false},
		{"dir.meta.json/x", false},
		{".meta.json", false},
	} {
		err := storage.ValidateKey(tc.key)
		if tc.ok {
			require.NoError(t, err, "key %q", tc.key)
		} else {
			require.ErrorIs(t, err, storage.ErrInvalidKey, "key %q", tc.key)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"a", true},
		{"a/", true},
		{"a/b", true},
		{"a/b/", true},
		{".", true},  // matches ".hidden"
		{"..", true}, // matches "..x"
		{"a/..", true},
		{"a/.", true},
		{"x.meta.json", true}, // matches "x.meta.jsonl"
		{strings.Repeat("p", storage.MaxKeyLength), true},

		{"/", false},
		{"/a", false},
		{"../", false},
		{"../x", false},
		{"a/../", false},
		{"a//", false},
		{"a//b", false},
		{"./", false},
		{"x.meta.json/", false},
		{"nul\x00", false},
		{"a/nul\x00", false},
		{`back\`, false},
		{"bad\xff", false},
		{strings.Repeat("p", storage.MaxKeyLength+1), false},
	} {
		err := storage.ValidatePrefix(tc.prefix)
		if tc.ok {
			require.NoError(t, err, "prefix %q", tc.prefix)
		} else {
			require.ErrorIs(t, err, storage.ErrInvalidKey, "prefix %q", tc.prefix)
		}
	}
}

func TestExecutionKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		exec, route, stage, msg, ext, want string
	}{
		{"e1", "crawl", "fetch", "m1", ".html", "executions/e1/crawl/fetch/m1.html"},
		{"0193e0a4-7f1c", "docs", "to_markdown", "0193e0a4-aaaa", ".md", "executions/0193e0a4-7f1c/docs/to_markdown/0193e0a4-aaaa.md"},
		{"e", "r", "s", "m", "", "executions/e/r/s/m"},
	} {
		got := storage.ExecutionKey(tc.exec, tc.route, tc.stage, tc.msg, tc.ext)
		require.Equal(t, tc.want, got)
		require.NoError(t, storage.ValidateKey(got))
	}
	// Parts that would break out of the layout make an invalid key rather
	// than a key somewhere else.
	require.ErrorIs(t, storage.ValidateKey(storage.ExecutionKey("..", "r", "s", "m", "")), storage.ErrInvalidKey)
	require.ErrorIs(t, storage.ValidateKey(storage.ExecutionKey("e", "", "s", "m", "")), storage.ErrInvalidKey)
	require.ErrorIs(t, storage.ValidateKey(storage.ExecutionKey("e", "r", "s", "m", ".meta.json")), storage.ErrInvalidKey)
}

// FuzzValidateKey: validation never panics, and an accepted key, joined
// under a root the way a filesystem provider does, stays strictly inside it.
func FuzzValidateKey(f *testing.F) {
	for _, seed := range []string{
		"a", "a/b/c.html", "../x", "a/../../b", "/abs", "a//b", "./a", "a/.", "nul\x00", `a\b`,
		"x.meta.json", "d.meta.json/x", "ü/日本", "\xff", "a/b/", ". /..", "...", "a/.../b",
	} {
		f.Add(seed)
	}
	root := filepath.FromSlash("/srv/storage")
	f.Fuzz(func(t *testing.T, key string) {
		prefixErr := storage.ValidatePrefix(key)
		if err := storage.ValidateKey(key); err != nil {
			require.ErrorIs(t, err, storage.ErrInvalidKey)
			return
		}
		require.NoError(t, prefixErr, "a valid key %q is a valid prefix", key)
		require.True(t, utf8.ValidString(key))
		require.True(t, filepath.IsLocal(filepath.FromSlash(key)), "key %q is local", key)
		joined := filepath.Join(root, filepath.FromSlash(key))
		rel, err := filepath.Rel(root, joined)
		require.NoError(t, err)
		require.Equal(t, filepath.FromSlash(key), rel, "key %q resolves to itself under the root", key)
		require.False(t, strings.HasSuffix(key, storage.MetaSuffix))
		require.NotContains(t, key, "\\")
	})
}
