package storagetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

var keyChecks = []check{
	{"InvalidKeysRejected", testInvalidKeys},
	{"InvalidPrefixRejected", testInvalidPrefix},
	{"SpecialCharacterKeys", testSpecialKeys},
	{"EncodedTraversalStaysLiteral", testEncodedTraversal},
}

// invalidKeys escape a root, hold characters some provider cannot store,
// or take the reserved sidecar suffix. The prefix is prepended where that
// keeps the key invalid, so a store that wrongly accepts one writes inside
// the check's own area.
func invalidKeys(p string) []string {
	return []string{
		"",
		"../x",
		p + "../../../x",
		p + "a/../../x",
		"/abs/path",
		p + "a//b",
		p + "a/./b",
		p + ".",
		p + "..",
		p + "trailing/",
		p + "nul\x00byte",
		p + `back\slash`,
		p + "ctl\x01char",
		p + "del\x7fchar",
		p + "bad\xffutf8",
		p + "doc" + storage.MetaSuffix,
		p + "dir" + storage.MetaSuffix + "/doc",
		p + strings.Repeat("k", storage.MaxKeyLength),
		// Traversal in the spellings other layers might normalise.
		"/etc/passwd",
		p + "a/../../../../../../etc/passwd",
		p + `a\..\x`,
		p + `..\..\x`,
		p + "a/..",
		p + "x\x00/../y",
	}
}

func testInvalidKeys(t *testing.T, s storage.Store, p string) {
	ctx := t.Context()
	for _, key := range invalidKeys(p) {
		_, err := s.Put(ctx, key, strings.NewReader("x"), nil)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Put %q", key)
		rc, _, err := s.Get(ctx, key)
		if rc != nil {
			_ = rc.Close()
		}
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Get %q", key)
		_, err = s.Stat(ctx, key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "Stat %q", key)
		require.ErrorIs(t, s.Delete(ctx, key), storage.ErrInvalidKey, "Delete %q", key)
	}
	require.Empty(t, list(t, s, p, storage.ListOptions{}), "no rejected key left an object")
}

func testInvalidPrefix(t *testing.T, s storage.Store, p string) {
	for _, prefix := range []string{"../", "/abs", p + "a//", p + "../", p + "nul\x00", p + `back\`, p + "x" + storage.MetaSuffix + "/"} {
		n := 0
		for info, err := range s.List(t.Context(), prefix, storage.ListOptions{}) {
			n++
			require.ErrorIs(t, err, storage.ErrInvalidKey, "List %q", prefix)
			require.Empty(t, info.Key)
		}
		require.Equal(t, 1, n, "List %q yields exactly one error", prefix)
	}
}

func testSpecialKeys(t *testing.T, s storage.Store, p string) {
	names := []string{
		"with space.txt",
		"  leading and trailing  ",
		"ünïcødé/日本語.md",
		"emoji 😀.bin",
		"hash#tag",
		"percent%20encoded%2F",
		"plus+sign",
		"question?mark",
		"amp&ersand=eq;semi",
		"quotes'\"",
		"brackets[1]{2}(3)",
		"at@sign,comma",
		"tilde~dollar$",
		"dots...x",
		"..leading-dots",
		".hidden",
		"colon:name",
		"star*pipe|lt<gt>",
	}
	var want []string
	for i, n := range names {
		key := p + n
		info := put(t, s, key, n, storage.Metadata{"i": i})
		require.Equal(t, key, info.Key)
		want = append(want, key)
	}
	for i, n := range names {
		content, info := get(t, s, p+n)
		require.Equal(t, n, content, "content of %q", n)
		require.Equal(t, p+n, info.Key)
		require.EqualValues(t, i, info.Metadata["i"])
	}
	slices.Sort(want)
	require.Equal(t, want, keysOf(list(t, s, p, storage.ListOptions{})), "listing returns the keys exactly, sorted")
	for _, key := range want {
		require.NoError(t, s.Delete(t.Context(), key))
		requireNotFound(t, s, key)
	}
	require.Empty(t, list(t, s, p, storage.ListOptions{}))
}

// testEncodedTraversal proves stores take percent signs literally: a key
// spelled like an encoded "../" names an object inside its own folder, and
// nothing lands where the decoded path would point.
func testEncodedTraversal(t *testing.T, s storage.Store, p string) {
	keys := []string{p + "sub/%2e%2e/x", p + "sub/%2E%2E%2Fy", p + "sub/..%2fz", p + "sub/%252e%252e/w"}
	for _, key := range keys {
		put(t, s, key, key, nil)
		content, info := get(t, s, key)
		require.Equal(t, key, content)
		require.Equal(t, key, info.Key)
	}
	for _, decoded := range []string{p + "x", p + "y", p + "z", p + "sub/x"} {
		requireNotFound(t, s, decoded)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	require.Equal(t, want, keysOf(list(t, s, p, storage.ListOptions{})))
	for _, key := range keys {
		require.NoError(t, s.Delete(t.Context(), key))
	}
	require.Empty(t, list(t, s, p, storage.ListOptions{}))
}
