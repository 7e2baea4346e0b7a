package markdown

import (
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
)

func TestStorageRetriever(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	page := readFixture(t, "docs_page.html")
	_, err := st.Put(ctx, "executions/e1/fetch/web_content_storage/m1.html", strings.NewReader("\uFEFF"+page), storage.Metadata{
		storage.MetaContentType: "text/html; charset=utf-8",
		storage.MetaSourceURL:   "https://docs.acme.test/guides/ingest/",
	})
	require.NoError(t, err)

	a := build(t, "storage_retriever", "", adapters.Deps{Storage: st})
	res, err := a.Process(ctx, &adapters.Input{Payload: adapters.Payload{
		"storage_key": "executions/e1/fetch/web_content_storage/m1.html",
	}})
	require.NoError(t, err)
	require.Equal(t, page, res.Message["content"], "the byte-order mark is stripped")
	require.Equal(t, "text/html; charset=utf-8", res.Message["content_type"])
	require.Equal(t, "https://docs.acme.test/guides/ingest/", res.Message["url"])

	// An existing url is kept; custom fields work with dotted paths.
	b := build(t, "storage_retriever", "{key_field: doc.key, target_field: doc.body}", adapters.Deps{Storage: st})
	res, err = b.Process(ctx, &adapters.Input{Payload: adapters.Payload{
		"url": "https://kept.test/", "doc": map[string]any{"key": "executions/e1/fetch/web_content_storage/m1.html"},
	}})
	require.NoError(t, err)
	require.Equal(t, page, res.Message["doc"].(map[string]any)["body"])
	require.Equal(t, "https://kept.test/", res.Message["url"])
}

func TestStorageRetrieverErrors(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	_, err := st.Put(ctx, "big.txt", strings.NewReader(strings.Repeat("x", 2048)), nil)
	require.NoError(t, err)
	_, err = st.Put(ctx, "latin1.txt", strings.NewReader("caf\xe9"), storage.Metadata{storage.MetaContentType: "text/plain"})
	require.NoError(t, err)
	a := build(t, "storage_retriever", "max_bytes: 1024", adapters.Deps{Storage: st})

	tests := []struct {
		name    string
		payload adapters.Payload
		code    string
	}{
		{"missing key field", adapters.Payload{}, "STORAGE_KEY_MISSING"},
		{"key of wrong type", adapters.Payload{"storage_key": 7}, "STORAGE_KEY_MISSING"},
		{"escaping key", adapters.Payload{"storage_key": "../etc/passwd"}, "STORAGE_KEY_INVALID"},
		{"missing object", adapters.Payload{"storage_key": "executions/e1/none.html"}, "STORAGE_NOT_FOUND"},
		{"too large", adapters.Payload{"storage_key": "big.txt"}, "STORAGE_OBJECT_TOO_LARGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Process(ctx, &adapters.Input{Payload: tt.payload})
			requireCode(t, err, tt.code, adapters.ClassPermanent)
		})
	}
	res, err := a.Process(ctx, &adapters.Input{Payload: adapters.Payload{"storage_key": "latin1.txt"}})
	require.NoError(t, err)
	require.Equal(t, "caf\uFFFD", res.Message["content"], "invalid UTF-8 is replaced")

	_, err = storageRetrieverSpec().New(StorageRetrieverConfig{KeyField: "k", TargetField: "c", MaxBytes: 1}, adapters.Deps{})
	require.ErrorContains(t, err, "storage provider")
}

func TestMarkdownStorageWriter(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	a := build(t, "markdown_storage_writer", "", adapters.Deps{Storage: st})
	meta := testMeta("markdown_storage_writer")
	res, err := a.Process(ctx, &adapters.Input{Meta: meta, Payload: adapters.Payload{
		"markdown": "# Title\n\nBody", "title": "Title", "url": "https://docs.acme.test/a",
	}})
	require.NoError(t, err)
	key := res.Message["markdown_key"].(string)
	require.Equal(t, storage.ExecutionKey(meta.ExecutionID, meta.Route, meta.Stage, meta.CorrelationID, ".md"), key)
	require.Equal(t, "# Title\n\nBody", res.Message["markdown"], "drop_source is off by default")

	rc, info, err := st.Get(ctx, key)
	require.NoError(t, err)
	body, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, "# Title\n\nBody", string(body))
	require.Equal(t, "text/markdown; charset=utf-8", info.ContentType)
	require.Equal(t, "Title", info.Metadata["title"])
	require.Equal(t, "https://docs.acme.test/a", info.Metadata[storage.MetaSourceURL])
	require.Equal(t, meta.ExecutionID, info.Metadata[storage.MetaExecutionID])
	require.Equal(t, meta.CorrelationID, info.Metadata[storage.MetaMessageID])

	// A retry of the same message rewrites the same object.
	res2, err := a.Process(ctx, &adapters.Input{Meta: meta, Payload: adapters.Payload{"markdown": "# Title\n\nBody v2"}})
	require.NoError(t, err)
	require.Equal(t, key, res2.Message["markdown_key"])
	n := 0
	for _, err := range st.List(ctx, "executions/", storage.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 1, n)
}

func TestMarkdownStorageWriterSegmentField(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	a := build(t, "markdown_storage_writer", "{source_field: segment.text, key_field: segment.key, drop_source: true}", adapters.Deps{Storage: st})
	var wg sync.WaitGroup
	keys := make([]string, 5)
	for i := range keys {
		wg.Go(func() {
			meta := testMeta("segment_writer")
			meta.CorrelationID = "msg-" + string(rune('a'+i))
			res, err := a.Process(ctx, &adapters.Input{Meta: meta, Payload: adapters.Payload{
				"segment":       map[string]any{"text": "segment body " + meta.CorrelationID, "index": i},
				"segment_index": float64(i), "segment_count": 5,
			}})
			if err != nil {
				t.Error(err)
				return
			}
			seg := res.Message["segment"].(map[string]any)
			if _, ok := seg["text"]; ok {
				t.Error("drop_source must remove segment.text")
			}
			keys[i] = seg["key"].(string)
		})
	}
	wg.Wait()
	for i, key := range keys {
		obj, err := st.Stat(ctx, key)
		require.NoError(t, err)
		require.EqualValues(t, i, obj.Metadata["segment_index"])
		require.EqualValues(t, 5, obj.Metadata["segment_count"])
	}

	_, err := a.Process(ctx, &adapters.Input{Payload: adapters.Payload{"segment": map[string]any{}}})
	requireCode(t, err, "MARKDOWN_MISSING", adapters.ClassPermanent)
}
