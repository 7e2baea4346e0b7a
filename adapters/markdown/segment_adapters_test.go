package markdown

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/tokenize"
)

func TestSmartSegmenterAdapter(t *testing.T) {
	md := readFixture(t, "guide.md")
	a := build(t, "smart_segmenter", "{max_tokens: 200, min_tokens: 20}", adapters.Deps{})
	res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"markdown": md, "url": "u"}})
	require.NoError(t, err)
	out := roundTrip(t, res.Message)
	require.NotContains(t, out, "markdown", "markdown is dropped unless keep_markdown")
	segs := out["segments"].([]any)
	require.EqualValues(t, len(segs), out["segment_count"])
	for i, s := range segs {
		seg := s.(map[string]any)
		require.EqualValues(t, i, seg["index"])
		text := seg["text"].(string)
		require.EqualValues(t, tokenize.Count(text), seg["tokens"])
		require.LessOrEqual(t, int(seg["tokens"].(float64)), 200)
		path := seg["heading_path"].([]any)
		if len(path) > 0 {
			require.Equal(t, path[len(path)-1], seg["heading"])
		}
	}

	keep := build(t, "smart_segmenter", "{keep_markdown: true}", adapters.Deps{})
	res, err = keep.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"markdown": md}})
	require.NoError(t, err)
	require.Equal(t, md, res.Message["markdown"])

	_, err = a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{}})
	requireCode(t, err, "MARKDOWN_MISSING", adapters.ClassPermanent)
}

func TestSmartSegmenterConfigValidation(t *testing.T) {
	tests := []struct {
		cfg  SmartSegmenterConfig
		want string
	}{
		{SmartSegmenterConfig{SourceField: "markdown", MaxTokens: 100, MinTokens: 100}, "min_tokens"},
		{SmartSegmenterConfig{SourceField: "markdown", MaxTokens: 100, OverlapTokens: 51}, "overlap_tokens"},
		{SmartSegmenterConfig{SourceField: "markdown", MaxTokens: 0}, "max_tokens"},
		{SmartSegmenterConfig{SourceField: "a..b", MaxTokens: 100}, "source_field"},
	}
	for _, tt := range tests {
		_, err := smartSegmenterSpec().New(tt.cfg, adapters.Deps{})
		require.ErrorContains(t, err, tt.want)
	}
}

func TestSegmentPublisher(t *testing.T) {
	a := build(t, "segment_publisher", "", adapters.Deps{})
	in := adapters.Payload{
		"url": "https://docs.acme.test/a", "title": "A", "storage_key": "k.html", "markdown_key": "k.md",
		"collection": "docs", "meta": map[string]any{"lang": "en"},
		"markdown": "big", "content": "bigger",
		"segments": []any{
			map[string]any{"index": 0, "text": "one", "tokens": 1, "heading": "", "heading_path": []any{}},
			map[string]any{"index": 1, "text": "two", "tokens": 1, "heading": "H", "heading_path": []any{"H"}},
		},
		"segment_count": 2,
	}
	res, err := a.Process(t.Context(), &adapters.Input{Payload: roundTrip(t, in)})
	require.NoError(t, err)
	require.Nil(t, res.Message)
	require.Len(t, res.Emitted, 2)
	for i, m := range res.Emitted {
		require.EqualValues(t, i, m["segment_index"])
		require.EqualValues(t, 2, m["segment_count"])
		require.Equal(t, map[string]any{"url": "https://docs.acme.test/a", "title": "A", "storage_key": "k.html", "markdown_key": "k.md"}, m["document"])
		require.Equal(t, "docs", m["collection"])
		require.NotContains(t, m, "markdown")
		require.NotContains(t, m, "content")
		require.NotContains(t, m, "segments")
		require.EqualValues(t, i, m["segment"].(map[string]any)["index"])
	}
	// Messages share no maps: editing one leaves its sibling alone.
	res.Emitted[0]["meta"].(map[string]any)["lang"] = "de"
	res.Emitted[0]["document"].(map[string]any)["title"] = "changed"
	require.Equal(t, "en", res.Emitted[1]["meta"].(map[string]any)["lang"])
	require.Equal(t, "A", res.Emitted[1]["document"].(map[string]any)["title"])

	only := build(t, "segment_publisher", "carry_fields: [collection]", adapters.Deps{})
	res, err = only.Process(t.Context(), &adapters.Input{Payload: in})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"collection", "segment", "segment_index", "segment_count", "document"}, keysOf(res.Emitted[0]))
}

func TestSegmentPublisherEdgeCases(t *testing.T) {
	a := build(t, "segment_publisher", "", adapters.Deps{})
	_, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"segments": []any{}}})
	require.Equal(t, adapters.ClassSkip, adapters.Classify(err))
	_, err = a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{}})
	requireCode(t, err, "SEGMENTS_MISSING", adapters.ClassPermanent)
	_, err = a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"segments": "nope"}})
	requireCode(t, err, "SEGMENTS_INVALID", adapters.ClassPermanent)
	_, err = a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"segments": []any{"x"}}})
	requireCode(t, err, "SEGMENTS_INVALID", adapters.ClassPermanent)
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDocumentChain runs the convert route of a docs pipeline end to end:
// stored HTML in, one small message per segment out, each segment also
// written to storage, with JSON round trips where a broker would sit.
func TestDocumentChain(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	deps := adapters.Deps{Storage: st}
	page := readFixture(t, "docs_page.html")
	// Make the page long enough to need several segments.
	page = strings.Replace(page, "</article>", strings.Repeat("<p>Every stage writes its artefacts under the execution's prefix so that replays can start from any stage.</p>\n", 40)+"</article>", 1)
	rawKey := "executions/e1/fetch/web_content_storage/m1.html"
	_, err := st.Put(ctx, rawKey, strings.NewReader(page), storage.Metadata{
		storage.MetaContentType: "text/html", storage.MetaSourceURL: "https://docs.acme.test/guides/ingest/",
	})
	require.NoError(t, err)

	chain := []adapters.Adapter{
		build(t, "storage_retriever", "", deps),
		build(t, "html_to_markdown", "", deps),
		build(t, "markdown_storage_writer", "", deps),
		build(t, "smart_segmenter", "{max_tokens: 128, min_tokens: 16, overlap_tokens: 8}", deps),
		build(t, "segment_publisher", "", deps),
	}
	msg := roundTrip(t, adapters.Payload{"storage_key": rawKey})
	var res *adapters.Result
	for i, a := range chain {
		meta := testMeta([]string{"retrieve", "convert", "write", "segment", "publish"}[i])
		res, err = a.Process(ctx, &adapters.Input{Payload: msg, Meta: meta})
		require.NoError(t, err, "adapter %d", i)
		msg = res.Message
	}
	require.Greater(t, len(res.Emitted), 3)

	writer := build(t, "markdown_storage_writer", "{source_field: segment.text, key_field: segment_key}", deps)
	for i, m := range res.Emitted {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		require.Less(t, len(b), 16<<10, "segment messages stay small")
		m = roundTrip(t, m)
		doc := m["document"].(map[string]any)
		require.Equal(t, "https://docs.acme.test/guides/ingest/", doc["url"])
		require.Equal(t, "Configuring the Ingest Service | Acme Docs", doc["title"])
		require.Equal(t, rawKey, doc["storage_key"])
		require.NotEmpty(t, doc["markdown_key"])
		seg := m["segment"].(map[string]any)
		require.LessOrEqual(t, seg["tokens"].(float64), 128.0)

		meta := testMeta("segment_writer")
		meta.CorrelationID = "seg-" + string(rune('a'+i))
		out, err := writer.Process(ctx, &adapters.Input{Payload: m, Meta: meta})
		require.NoError(t, err)
		rc, _, err := st.Get(ctx, out.Message["segment_key"].(string))
		require.NoError(t, err)
		rc.Close()
	}
	// The full Markdown was stored by the writer in the chain.
	mdKey := res.Emitted[0]["document"].(map[string]any)["markdown_key"].(string)
	_, err = st.Stat(ctx, mdKey)
	require.NoError(t, err)
}
