package storagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

var listChecks = []check{
	{"ListLexicalOrder", testListOrder},
	{"ListPrefix", testListPrefix},
	{"ListPagination", testListPagination},
	{"ListDelimiter", testListDelimiter},
	{"ListDelimiterPagination", testListDelimiterPagination},
	{"ListOtherDelimiter", testListOtherDelimiter},
	{"ListWithMetadata", testListWithMetadata},
	{"ListStopsEarly", testListStopsEarly},
}

// orderKeys sort differently as whole keys than folder by folder would:
// "a-c" and "a.b" come before "a/b" because '-' and '.' sort before '/'.
var orderKeys = []string{"B", "a-c", "a.b", "a/b", "a/b0", "a/bc/d", "a/b~", "a0", "ab", "b", "z/y/x/w", "Ω"}

func putShuffled(t *testing.T, s storage.Store, p string, names []string) []string {
	t.Helper()
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = p + n
	}
	shuffled := slices.Clone(keys)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		put(t, s, k, "content of "+k, storage.Metadata{storage.MetaContentType: "text/plain"})
	}
	slices.Sort(keys)
	return keys
}

func testListOrder(t *testing.T, s storage.Store, p string) {
	want := putShuffled(t, s, p, orderKeys)
	got := list(t, s, p, storage.ListOptions{})
	require.Equal(t, want, keysOf(got))
	for _, info := range got {
		require.False(t, info.IsPrefix)
		require.EqualValues(t, len("content of "+info.Key), info.Size, "size of %s", info.Key)
		require.False(t, info.ModTime.IsZero(), "modification time of %s", info.Key)
	}
}

func testListPrefix(t *testing.T, s storage.Store, p string) {
	putShuffled(t, s, p, orderKeys)
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"a", []string{"a-c", "a.b", "a/b", "a/b0", "a/bc/d", "a/b~", "a0", "ab"}},
		{"a/", []string{"a/b", "a/b0", "a/bc/d", "a/b~"}},
		{"a/b", []string{"a/b", "a/b0", "a/bc/d", "a/b~"}},
		{"a/bc", []string{"a/bc/d"}},
		{"a/bc/d", []string{"a/bc/d"}},
		{"z/y/", []string{"z/y/x/w"}},
		{"Ω", []string{"Ω"}},
		{"nothing", nil},
		{"nothing/", nil},
		{"a/b/", nil},
	} {
		var want []string
		for _, n := range tc.want {
			want = append(want, p+n)
		}
		require.Equal(t, want, keysOf(list(t, s, p+tc.prefix, storage.ListOptions{})), "prefix %q", tc.prefix)
	}
}

func testListPagination(t *testing.T, s storage.Store, p string) {
	var names []string
	for i := range 23 {
		names = append(names, fmt.Sprintf("k%02d", i))
	}
	names = append(names, "k05d/nested", "k05-x", "k10d/deeper/still", "k10d/deeper/zz", "k10d/more")
	want := putShuffled(t, s, p, names)

	for _, limit := range []int{1, 5, 7, len(want), len(want) + 1} {
		var all []string
		after := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, len(want)+2, "pagination does not end (limit %d)", limit)
			page := keysOf(list(t, s, p, storage.ListOptions{StartAfter: after, Limit: limit}))
			require.LessOrEqual(t, len(page), limit)
			all = append(all, page...)
			if len(page) < limit {
				break
			}
			after = page[len(page)-1]
		}
		require.Equal(t, want, all, "pages of %d", limit)
	}

	// StartAfter need not be an existing key.
	got := keysOf(list(t, s, p, storage.ListOptions{StartAfter: p + "k05.", Limit: 2}))
	require.Equal(t, []string{p + "k05d/nested", p + "k06"}, got)
	got = keysOf(list(t, s, p, storage.ListOptions{StartAfter: p + "k10d/"}))
	require.Equal(t, p+"k10d/deeper/still", got[0], "StartAfter inside a folder resumes inside it")
	require.Equal(t, want, keysOf(list(t, s, p, storage.ListOptions{StartAfter: "a"})), "StartAfter before the prefix")
	require.Empty(t, list(t, s, p, storage.ListOptions{StartAfter: p + "zzz"}), "StartAfter past the end")
	require.Empty(t, list(t, s, p, storage.ListOptions{StartAfter: want[len(want)-1]}), "StartAfter the last key")
}

var delimiterKeys = []string{"a.txt", "dir1/x", "dir1/y/z", "dir1-z/q", "dir2/x", "z.txt"}

func testListDelimiter(t *testing.T, s storage.Store, p string) {
	putShuffled(t, s, p, delimiterKeys)
	type entry struct {
		key    string
		prefix bool
	}
	for _, tc := range []struct {
		prefix string
		want   []entry
	}{
		{"", []entry{{"a.txt", false}, {"dir1-z/", true}, {"dir1/", true}, {"dir2/", true}, {"z.txt", false}}},
		{"d", []entry{{"dir1-z/", true}, {"dir1/", true}, {"dir2/", true}}},
		{"dir1/", []entry{{"dir1/x", false}, {"dir1/y/", true}}},
		{"dir1/y/", []entry{{"dir1/y/z", false}}},
		{"dir1", []entry{{"dir1-z/", true}, {"dir1/", true}}},
	} {
		got := list(t, s, p+tc.prefix, storage.ListOptions{Delimiter: "/"})
		var gotEntries []entry
		for _, info := range got {
			gotEntries = append(gotEntries, entry{info.Key[len(p):], info.IsPrefix})
			if info.IsPrefix {
				require.Zero(t, info.Size, "a common prefix has no size")
				require.Empty(t, info.ETag)
				require.Empty(t, info.Metadata)
			} else {
				require.NotZero(t, info.Size)
			}
		}
		require.Equal(t, tc.want, gotEntries, "prefix %q", tc.prefix)
	}
}

func testListDelimiterPagination(t *testing.T, s storage.Store, p string) {
	putShuffled(t, s, p, delimiterKeys)
	var all []string
	after := ""
	for {
		page := keysOf(list(t, s, p, storage.ListOptions{Delimiter: "/", StartAfter: after, Limit: 2}))
		all = append(all, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
		require.Less(t, len(all), 20, "pagination does not end")
	}
	var want []string
	for _, n := range []string{"a.txt", "dir1-z/", "dir1/", "dir2/", "z.txt"} {
		want = append(want, p+n)
	}
	require.Equal(t, want, all, "a common prefix used as StartAfter is not repeated")

	// A StartAfter inside a group skips the whole group.
	got := keysOf(list(t, s, p, storage.ListOptions{Delimiter: "/", StartAfter: p + "dir1/x"}))
	require.Equal(t, []string{p + "dir2/", p + "z.txt"}, got)
}

func testListOtherDelimiter(t *testing.T, s storage.Store, p string) {
	putShuffled(t, s, p, delimiterKeys)
	got := list(t, s, p, storage.ListOptions{Delimiter: "."})
	require.Equal(t, []string{p + "a.", p + "dir1-z/q", p + "dir1/x", p + "dir1/y/z", p + "dir2/x", p + "z."}, keysOf(got))
	require.True(t, got[0].IsPrefix)
	require.False(t, got[1].IsPrefix)
}

func testListWithMetadata(t *testing.T, s storage.Store, p string) {
	metas := map[string]storage.Metadata{
		p + "a":   {storage.MetaContentType: "text/plain", "n": 1},
		p + "b/c": {storage.MetaContentType: "application/json", "nested": map[string]any{"x": []any{1, 2}}},
	}
	infos := map[string]storage.ObjectInfo{}
	for k, m := range metas {
		infos[k] = put(t, s, k, "content "+k, m)
	}
	got := list(t, s, p, storage.ListOptions{WithMetadata: true})
	require.Len(t, got, 2)
	for _, info := range got {
		sameObject(t, infos[info.Key], info)
		requireMeta(t, metas[info.Key], info.Metadata)
	}
	// Without WithMetadata the cheap fields are still there.
	for _, info := range list(t, s, p, storage.ListOptions{}) {
		require.Equal(t, infos[info.Key].Size, info.Size)
		require.False(t, info.ModTime.IsZero())
	}
}

func testListStopsEarly(t *testing.T, s storage.Store, p string) {
	want := putShuffled(t, s, p, orderKeys)
	var got []string
	for info, err := range s.List(t.Context(), p, storage.ListOptions{}) {
		require.NoError(t, err)
		got = append(got, info.Key)
		if len(got) == 3 {
			break
		}
	}
	require.Equal(t, want[:3], got)

	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	var lastErr error
	for _, err := range s.List(ctx, p, storage.ListOptions{}) {
		n++
		if err != nil {
			lastErr = err
			break
		}
		cancel()
	}
	cancel()
	require.ErrorIs(t, lastErr, context.Canceled, "a listing notices its context ending")
	require.Less(t, n, len(want)+1)
}
