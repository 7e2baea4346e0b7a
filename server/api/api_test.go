package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/api/apitest"
	"github.com/factflow/factflow/server/container"
)

// env is a real server: the engine, PostgreSQL, NATS and filesystem
// storage behind the API on a loopback httptest server.
type env struct {
	t   *testing.T
	c   *container.Container
	url string
}

func newEnv(t *testing.T, mutate ...func(*container.Config)) *env {
	t.Helper()
	return newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond}, mutate...)
}

// newEnvWith is newEnv with API options (the services are filled in).
func newEnvWith(t *testing.T, opts api.Options, mutate ...func(*container.Config)) *env {
	t.Helper()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	cfg := container.Config{QueueURL: natsURL}
	for _, m := range mutate {
		m(&cfg)
	}
	s := apitest.Start(t, cfg, opts)
	return &env{t: t, c: s.Container, url: s.URL}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// call expects status and decodes the body into out (when non-nil).
func (e *env) call(method, path string, body any, status int, out any) response {
	e.t.Helper()
	r := e.do(method, path, body)
	require.Equal(e.t, status, r.status, "%s %s: %s", method, path, r.body)
	if out != nil {
		require.NoError(e.t, json.Unmarshal(r.body, out), string(r.body))
	}
	return r
}

// problem expects an error response and checks its shape.
func (e *env) problem(r response, status int, code string) api.Problem {
	e.t.Helper()
	require.Equal(e.t, status, r.status, string(r.body))
	require.Equal(e.t, "application/problem+json", r.header.Get("Content-Type"), string(r.body))
	var p api.Problem
	require.NoError(e.t, json.Unmarshal(r.body, &p), string(r.body))
	require.Equal(e.t, code, p.ErrorCode, string(r.body))
	require.Equal(e.t, status, p.Status)
	require.NotEmpty(e.t, p.Detail)
	require.NotEmpty(e.t, p.CorrelationID)
	require.Equal(e.t, r.header.Get(api.RequestIDHeader), p.CorrelationID, "the correlation id is the request id")
	require.False(e.t, p.Timestamp.IsZero())
	return p
}

func (e *env) createConfig(name, yaml string) api.Config {
	e.t.Helper()
	var c api.Config
	e.call(http.MethodPost, "/api/v1/configs", api.ConfigCreate{Name: name, ConfigYAML: yaml}, http.StatusCreated, &c)
	return c
}

func (e *env) waitStatus(id string, terminal bool) api.Execution {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var ex api.Execution
		e.call(http.MethodGet, "/api/v1/executions/"+id, nil, http.StatusOK, &ex)
		if !terminal || ex.Status.Terminal() {
			return ex
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("execution %s still %s", id, ex.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	ID, Type string
	Event    api.Event
}

// readEvents reads a stream until it ends or stop says so.
func readEvents(t *testing.T, body io.Reader, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	var data string
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data == "" {
				continue
			}
			require.NoError(t, json.Unmarshal([]byte(data), &cur.Event), data)
			out = append(out, cur)
			if stop != nil && stop(cur) {
				return out
			}
			cur, data = sseEvent{}, ""
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
	return out
}

const quickPipeline = `version: "1.0"
routes:
  expand:
    inbound: { queue: q.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: q.work } ]
  work:
    inbound: { queue: q.work, concurrency: 2 }
    adapters:
      - type: fail
        condition: { field: url, operator: contains, value: "bad" }
        config: { permanent: true }
      - type: noop
init_message:
  route: expand
  payload:
    urls: [ { url: "https://x.test/1" }, { url: "https://x.test/bad" }, { url: "https://x.test/3" } ]
`

func writeFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// ingestPipeline copies the files of a folder (payload root) into storage
// and writes a Markdown of each: two artefacts per file.
const ingestPipeline = `version: "1.0"
routes:
  scan:
    inbound: { queue: f.scan }
    adapters:
      - type: file_source
        config: { include: ["**/*.md", "**/*.html", "**/*.txt"] }
    outbound: [ { queue: f.convert } ]
  convert:
    inbound: { queue: f.convert, concurrency: 2 }
    adapters:
      - type: storage_retriever
      - type: html_to_markdown
      - type: markdown_storage_writer
init_message: { route: scan, payload: { root: "/nonexistent" } }
`

// threeFiles is a folder for ingestPipeline.
func threeFiles(t *testing.T) string {
	return writeFolder(t, map[string]string{
		"a.md":       "# Alpha\n\nFirst document about alpha things.\n",
		"sub/b.html": "<html><body><h1>Beta</h1><p>Second document.</p></body></html>",
		"c.txt":      "plain text gamma",
	})
}
