package storagetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

var metadataChecks = []check{
	{"MetadataRoundTrip", testMetadataRoundTrip},
	{"MetadataMergesOnRewrite", testMetadataMerge},
	{"MetadataNilRemoves", testMetadataNilRemoves},
	{"MetadataIsPerKey", testMetadataPerKey},
}

func richMeta() storage.Metadata {
	return storage.Metadata{
		storage.MetaContentType: "application/json",
		storage.MetaExecutionID: "0193e0a4-7f1c-7d2e-9a61-2f4b8c1d0e5f",
		storage.MetaRoute:       "crawl",
		storage.MetaStage:       "fetch",
		storage.MetaMessageID:   "msg-1",
		storage.MetaSourceURL:   "https://example.com/a?b=c&d=%20e#frag",
		"count":                 42,
		"ratio":                 0.25,
		"flag":                  false,
		"unicode_value":         "värde ✓ 日本語 😀",
		"nested": map[string]any{
			"list":  []any{1, "two", true, nil, map[string]any{"deep": 3.5}},
			"empty": map[string]any{},
			"inner": map[string]any{"a": "b"},
		},
		"empty_list": []any{},
	}
}

func testMetadataRoundTrip(t *testing.T, s storage.Store, p string) {
	meta := richMeta()
	info := put(t, s, p+"doc.json", `{"ok":true}`, meta)
	requireMeta(t, meta, info.Metadata, "Put reports what it stored")
	_, got := get(t, s, p+"doc.json")
	requireMeta(t, meta, got.Metadata, "Get")
	st, err := s.Stat(t.Context(), p+"doc.json")
	require.NoError(t, err)
	requireMeta(t, meta, st.Metadata, "Stat")
	listed := list(t, s, p, storage.ListOptions{WithMetadata: true})
	require.Len(t, listed, 1)
	requireMeta(t, meta, listed[0].Metadata, "List WithMetadata")
}

// A rewrite that names only some fields keeps the rest: fields written by
// other code, or by a newer version, survive.
func testMetadataMerge(t *testing.T, s storage.Store, p string) {
	key := p + "page.md"
	put(t, s, key, "v1", richMeta())
	info := put(t, s, key, "v2", storage.Metadata{"count": 43, "added": map[string]any{"by": "rewrite"}})

	want := richMeta()
	want["count"] = 43
	want["added"] = map[string]any{"by": "rewrite"}
	requireMeta(t, want, info.Metadata, "Put reports the merged metadata")
	content, got := get(t, s, key)
	require.Equal(t, "v2", content)
	requireMeta(t, want, got.Metadata)
	require.Equal(t, "application/json", got.ContentType, "the content type survives a rewrite that does not name one")

	// Merging is one level deep: a nested object is replaced whole.
	info = put(t, s, key, "v3", storage.Metadata{"nested": map[string]any{"only": "this"}})
	want["nested"] = map[string]any{"only": "this"}
	requireMeta(t, want, info.Metadata)
	_, got = get(t, s, key)
	requireMeta(t, want, got.Metadata)
}

func testMetadataNilRemoves(t *testing.T, s storage.Store, p string) {
	key := p + "doc"
	put(t, s, key, "v1", storage.Metadata{storage.MetaContentType: "text/plain", "drop": "me", "keep": "me"})
	info := put(t, s, key, "v2", storage.Metadata{"drop": nil})
	want := storage.Metadata{storage.MetaContentType: "text/plain", "keep": "me"}
	requireMeta(t, want, info.Metadata)
	_, got := get(t, s, key)
	requireMeta(t, want, got.Metadata)
}

func testMetadataPerKey(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"a", "a", storage.Metadata{"who": "a", storage.MetaContentType: "text/plain"})
	put(t, s, p+"b", "b", storage.Metadata{"other": "b", storage.MetaContentType: "text/plain"})
	_, a := get(t, s, p+"a")
	_, b := get(t, s, p+"b")
	requireMeta(t, storage.Metadata{"who": "a", storage.MetaContentType: "text/plain"}, a.Metadata)
	requireMeta(t, storage.Metadata{"other": "b", storage.MetaContentType: "text/plain"}, b.Metadata)
}
