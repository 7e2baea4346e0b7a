package llmadapters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/adapters"
	llmadapters "github.com/factflow/factflow/adapters/llm"
	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/llm"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// chatRequest is what the provider received, in the OpenAI wire format.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	MaxTokens   int      `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
}

// provider is an OpenAI-compatible chat server. Model "limited" gets 429
// with a long Retry-After, "broken" 500, "denied" 401; any other model is
// answered with the next queued answer (or "ok").
type provider struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []chatRequest
	answers  []string
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req chatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.requests = append(p.requests, req)
		answer := "ok"
		if len(p.answers) > 0 {
			answer, p.answers = p.answers[0], p.answers[1:]
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch req.Model {
		case "limited":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"rate limit reached","type":"rate_limit"}}`)
			return
		case "broken":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"upstream exploded","type":"server_error"}}`)
			return
		case "denied":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"invalid api key","type":"invalid_request_error"}}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": req.Model,
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer},
			}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
		})
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) answer(s ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answers = append(p.answers, s...)
}

func (p *provider) last(t *testing.T) chatRequest {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.requests, "the provider got no request")
	return p.requests[len(p.requests)-1]
}

func (p *provider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

// registry holds the offline profiles and "remote" (plus one profile per
// failing model) on the provider.
func (p *provider) registry(t *testing.T) *llm.Registry {
	t.Helper()
	var profiles []llm.Profile
	for _, m := range []string{"remote", "limited", "broken", "denied"} {
		model := m
		if m == "remote" {
			model = "chat-model"
		}
		profiles = append(profiles, llm.Profile{Name: m, ProviderType: llm.ProviderOpenAICompatible,
			Model: model, BaseURL: p.srv.URL + "/v1", MaxRetries: 1})
	}
	reg, err := llm.NewRegistry(profiles, llm.Options{})
	require.NoError(t, err)
	return reg
}

// build decodes a YAML config as the pipeline loader does and builds typ.
func build(t *testing.T, typ, cfg string, deps adapters.Deps) adapters.Adapter {
	t.Helper()
	a, err := tryBuild(t, typ, cfg, deps)
	require.NoError(t, err)
	return a
}

func tryBuild(t *testing.T, typ, cfg string, deps adapters.Deps) (adapters.Adapter, error) {
	t.Helper()
	r := adapters.NewRegistry()
	r.MustRegister(llmadapters.Specs()...)
	spec, ok := r.Lookup(typ)
	require.True(t, ok, "adapter %s not registered", typ)
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(cfg), &node))
	var n *yaml.Node
	if len(node.Content) > 0 {
		n = node.Content[0]
	}
	v, fs := configspec.Decode(n, spec.Config, "config")
	require.False(t, configspec.HasErrors(fs), "findings: %v", fs)
	return r.Build(typ, v, deps)
}

func process(t *testing.T, a adapters.Adapter, p adapters.Payload, attempt int) (adapters.Payload, error) {
	t.Helper()
	res, err := a.Process(testCtx(t), &adapters.Input{Payload: p, Meta: adapters.Meta{
		ExecutionID: "0197a1b2-0000-7000-8000-000000000001", Route: "enrich", Attempt: attempt}})
	if err != nil {
		return nil, err
	}
	require.NotNil(t, res)
	return res.Message, nil
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
