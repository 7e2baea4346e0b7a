package embeddings_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/adapters/embeddings"
	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// vectorDB is a fresh migrated database with the vector schema.
func vectorDB(t *testing.T) *store.DB {
	t.Helper()
	db := storetest.NewDB(t)
	ok, err := db.EnsureVectorSchema(testCtx(t))
	require.NoError(t, err)
	require.True(t, ok, "the test database server needs pgvector")
	return db
}

// profiles wraps a real registry and counts the Embed calls of the
// embedders it hands out. gate, when set, holds every Embed call until it
// is closed (or the call's context ends) and reports entry on entered.
type profiles struct {
	reg     *llm.Registry
	calls   atomic.Int64
	texts   atomic.Int64
	gate    chan struct{}
	entered chan struct{}
}

func newProfiles(t *testing.T, extra ...llm.Profile) *profiles {
	t.Helper()
	reg, err := llm.NewRegistry(extra, llm.Options{})
	require.NoError(t, err)
	return &profiles{reg: reg}
}

func (p *profiles) Embedder(name string) (llm.Embedder, error) {
	e, err := p.reg.Embedder(name)
	if err != nil {
		return nil, err
	}
	return &countingEmbedder{Embedder: e, p: p}, nil
}

func (p *profiles) Completer(name string) (llm.Completer, error) { return p.reg.Completer(name) }

type countingEmbedder struct {
	llm.Embedder
	p *profiles
}

func (e *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.p.calls.Add(1)
	e.p.texts.Add(int64(len(texts)))
	if e.p.gate != nil {
		if e.p.entered != nil {
			select {
			case e.p.entered <- struct{}{}:
			default:
			}
		}
		select {
		case <-e.p.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return e.Embedder.Embed(ctx, texts)
}

// build decodes a YAML config the way the pipeline loader does and builds
// embedding_generator; the adapter is closed at cleanup.
func build(t *testing.T, cfg string, deps adapters.Deps) adapters.Adapter {
	t.Helper()
	a, err := tryBuild(t, cfg, deps)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.(adapters.Closer).Close(context.Background()) })
	return a
}

func tryBuild(t *testing.T, cfg string, deps adapters.Deps) (adapters.Adapter, error) {
	t.Helper()
	r := adapters.NewRegistry()
	r.MustRegister(embeddings.Specs()...)
	spec, ok := r.Lookup("embedding_generator")
	require.True(t, ok)
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(cfg), &node))
	var n *yaml.Node
	if len(node.Content) > 0 {
		n = node.Content[0]
	}
	v, fs := configspec.Decode(n, spec.Config, "config")
	require.False(t, configspec.HasErrors(fs), "findings: %v", fs)
	return r.Build("embedding_generator", v, deps)
}

const execID = "0197a1b2-0000-7000-8000-000000000001"

func meta() adapters.Meta {
	return adapters.Meta{ExecutionID: execID, Route: "embed", Attempt: 1, Stage: "embedding_generator"}
}

// segmentMessage is a message as segment_publisher emits it, after a trip
// through the broker.
func segmentMessage(t *testing.T, doc, i, count int) adapters.Payload {
	t.Helper()
	p := adapters.Payload{
		"segment": map[string]any{
			"index":        i,
			"text":         fmt.Sprintf("Document %d segment %d explains how pipelines route messages between queues.", doc, i),
			"tokens":       12,
			"heading":      fmt.Sprintf("Part %d", i),
			"heading_path": []any{fmt.Sprintf("Guide %d", doc), fmt.Sprintf("Part %d", i)},
		},
		"segment_index": i,
		"segment_count": count,
		"document": map[string]any{
			"url":          fmt.Sprintf("https://docs.example.org/guide-%d", doc),
			"title":        fmt.Sprintf("Guide %d", doc),
			"storage_key":  fmt.Sprintf("executions/x/fetch/web_content_storage/doc-%d.html", doc),
			"markdown_key": fmt.Sprintf("executions/x/convert/markdown/doc-%d.md", doc),
		},
		"lang": "en",
		"meta": map[string]any{"team": "docs", "rank": 3},
	}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var out adapters.Payload
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func requireCode(t *testing.T, err error, code string, class adapters.Class) *adapters.CodedError {
	t.Helper()
	require.Error(t, err)
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce, "error %v carries no code", err)
	require.Equal(t, code, ce.Code, "error: %v", err)
	require.NotEmpty(t, ce.Hint, "error: %v", err)
	require.Equal(t, class, adapters.Classify(err), "error: %v", err)
	return ce
}

// failingProvider is an OpenAI-compatible server that answers every
// request of a model with a fixed failure: model "limited" gets 429 with a
// long Retry-After, "broken" 500, "denied" 401. It counts requests.
type failingProvider struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests map[string]int
}

func newFailingProvider(t *testing.T) *failingProvider {
	t.Helper()
	f := &failingProvider{requests: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.requests[body.Model]++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch body.Model {
		case "limited":
			// Longer than the client waits by itself: it returns at once.
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"rate limit reached","type":"rate_limit"}}`)
		case "broken":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"upstream exploded","type":"server_error"}}`)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"invalid api key","type":"invalid_request_error"}}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *failingProvider) profile(name, model string) llm.Profile {
	return llm.Profile{Name: name, ProviderType: llm.ProviderOpenAICompatible, Model: model,
		BaseURL: f.srv.URL + "/v1", Dims: 8, MaxRetries: 1}
}

func (f *failingProvider) count(model string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[model]
}

// countRows counts the rows of a table.
func countRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Pool().QueryRow(testCtx(t), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

func anyStrings(ss ...string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
