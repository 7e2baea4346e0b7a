package llm

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is an httptest server speaking the OpenAI wire format (and the
// Azure deployment paths), driven by the real go-openai client.
type fakeAPI struct {
	srv *httptest.Server
	key string // expected key; a request with another key gets a 401 echoing it

	mu       sync.Mutex
	hits     map[string]int // by route: chat, stream, embeddings
	script   []reply        // answers for the next requests, consumed first
	bodies   []map[string]any
	paths    []string
	maxBatch int
	inFlight int
	maxIn    int
	// wrongDims, when set, makes every vector this long.
	wrongDims int
	// streamFailAfter aborts a stream after that many chunks (0: never).
	streamFailAfter int
	// hook runs on every request before it is answered.
	hook func(n int) *reply
	n    int
}

// reply is a scripted answer: a status with headers and body, instead of
// the normal one.
type reply struct {
	status int
	header map[string]string
	body   string
}

func newFakeAPI(t testing.TB, key string) *fakeAPI {
	f := &fakeAPI{key: key, hits: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) push(r ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, r...)
}

func (f *fakeAPI) hitCount(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[route]
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	route := ""
	p := r.URL.Path
	switch {
	case r.Method != http.MethodPost:
	case p == "/v1/chat/completions" || strings.HasPrefix(p, "/openai/deployments/") && strings.HasSuffix(p, "/chat/completions"):
		route = "chat"
		if s, _ := body["stream"].(bool); s {
			route = "stream"
		}
	case p == "/v1/embeddings" || strings.HasPrefix(p, "/openai/deployments/") && strings.HasSuffix(p, "/embeddings"):
		route = "embeddings"
	}
	if route == "" {
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(p, "/openai/") && r.URL.Query().Get("api-version") == "" {
		http.Error(w, `{"error":{"message":"missing api-version"}}`, http.StatusBadRequest)
		return
	}

	f.mu.Lock()
	f.hits[route]++
	f.n++
	n := f.n
	f.bodies = append(f.bodies, body)
	f.paths = append(f.paths, r.URL.RequestURI())
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	var scripted *reply
	if len(f.script) > 0 {
		scripted = &f.script[0]
		f.script = f.script[1:]
	}
	hook := f.hook
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if scripted == nil && hook != nil {
		scripted = hook(n)
	}

	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.HasPrefix(p, "/openai/") {
		key = r.Header.Get("api-key")
	}
	if key != f.key {
		scripted = &reply{status: 401, body: fmt.Sprintf(`{"error":{"message":"Incorrect API key provided: %s. Find your key at the dashboard.","type":"invalid_request_error","code":"invalid_api_key"}}`, key)}
	}
	if scripted != nil {
		for k, v := range scripted.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(scripted.status)
		_, _ = w.Write([]byte(scripted.body))
		return
	}

	switch route {
	case "chat":
		f.chat(w, body)
	case "stream":
		f.stream(w, body)
	case "embeddings":
		f.embeddings(w, body)
	}
}

func lastContent(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	m, _ := msgs[len(msgs)-1].(map[string]any)
	s, _ := m["content"].(string)
	return s
}

func (f *fakeAPI) chat(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": time.Now().Unix(), "model": body["model"],
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": "echo: " + lastContent(body)},
		}},
		"usage": map[string]any{"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
	})
}

// streamWords is what a stream answers: the last message's words, one
// chunk each.
func (f *fakeAPI) stream(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	f.mu.Lock()
	failAfter := f.streamFailAfter
	f.mu.Unlock()
	words := strings.Fields(lastContent(body))
	chunk := func(delta map[string]any, finish any) {
		b, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		})
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	chunk(map[string]any{"role": "assistant", "content": ""}, nil)
	for i, word := range words {
		if failAfter > 0 && i == failAfter {
			// Drop the connection mid-body, as a crashing upstream would.
			panic(http.ErrAbortHandler)
		}
		if i > 0 {
			word = " " + word
		}
		chunk(map[string]any{"content": word}, nil)
	}
	chunk(map[string]any{}, "stop")
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

// textValue is what the fake puts in a vector's first component, so tests
// can tell which text a vector belongs to.
func textValue(s string) float32 {
	var v int
	for _, r := range s {
		v = (v*31 + int(r)) % 10007
	}
	return float32(v)
}

func (f *fakeAPI) embeddings(w http.ResponseWriter, body map[string]any) {
	inputs, _ := body["input"].([]any)
	dims := 16
	if d, ok := body["dimensions"].(float64); ok && d > 0 {
		dims = int(d)
	}
	f.mu.Lock()
	f.maxBatch = max(f.maxBatch, len(inputs))
	if f.wrongDims > 0 {
		dims = f.wrongDims
	}
	f.mu.Unlock()
	data := make([]any, len(inputs))
	for i, in := range inputs {
		s, _ := in.(string)
		vec := make([]float32, dims)
		vec[0] = textValue(s)
		for j := 1; j < dims; j++ {
			vec[j] = float32(j) / 100
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": vec}
	}
	// Shuffled on purpose: clients must order by index.
	rand.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": body["model"],
		"usage": map[string]any{"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
	})
}
