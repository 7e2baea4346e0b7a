package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/api/apitest"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
)

// cliEnv is a real server for the client commands: the engine over an
// isolated database, an in-process NATS and filesystem storage, behind
// the HTTP API on a loopback httptest server.
type cliEnv struct {
	t   *testing.T
	c   *container.Container
	url string
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	s := apitest.Start(t, container.Config{}, api.Options{})
	return &cliEnv{t: t, c: s.Container, url: s.URL}
}

// cli runs the CLI against the env's server.
func (e *cliEnv) cli(args ...string) runResult {
	e.t.Helper()
	return cliAt(e.t, context.Background(), e.url, args...)
}

// cliAt runs the CLI against server, bounded so a hang fails the test.
func cliAt(t *testing.T, ctx context.Context, server string, args ...string) runResult {
	t.Helper()
	res, hung := cliBounded(ctx, append(args, "--server", server)...)
	require.False(t, hung, "the command did not finish in time:\n%s", res)
	return res
}

// cliBounded runs the CLI with a deadline; it makes no assertion, so
// other goroutines than the test's may use it.
func cliBounded(ctx context.Context, args ...string) (res runResult, hung bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := runWith(ctx, args, &out, &errOut)
	return runResult{code: code, stdout: out.String(), stderr: errOut.String()}, errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// decoded parses the JSON a command printed.
func decoded[T any](t *testing.T, res runResult) T {
	t.Helper()
	require.Equal(t, exitOK, res.code, res)
	var v T
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &v), res.stdout)
	return v
}

// pausedYAML is a two-route pipeline whose second route, "later", can be
// paused to hold an execution open.
const pausedYAML = `version: "1.0"
routes:
  seed:
    inbound: { queue: r.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: r.later } ]
  later:
    inbound: { queue: r.later }
    adapters: [ { type: noop } ]
init_message: { route: seed, payload: {} }
`

const sixURLs = `{"urls": [{"url": "https://x.test/1"}, {"url": "https://x.test/2"}, {"url": "https://x.test/3"},
  {"url": "https://x.test/4"}, {"url": "https://x.test/5"}, {"url": "https://x.test/6"}]}`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// TestClientLifecycle drives a config from create to delete through the
// CLI: run the shipped folder-ingest pipeline, wait, inspect the
// execution and read its artefacts.
func TestClientLifecycle(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	root := t.TempDir()
	writeTree(t, root, folderTree())

	res := e.cli("system", "health")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `: healthy \(version test, up `, res.stdout)
	for _, comp := range []string{"database", "storage", "orchestrator", "queue"} {
		require.Regexp(t, `(?m)^`+comp+`\s+healthy`, res.stdout)
	}
	h := decoded[api.Health](t, e.cli("system", "health", "--output", "json"))
	require.Equal(t, "healthy", h.Status)

	// create: the name is the file's stem.
	res = e.cli("config", "create", "-f", folderIngestYAML, "--description", "local folders")
	require.Equal(t, exitOK, res.code, res)
	m := regexp.MustCompile(`^config folder-ingest created \(id (\S+), version 1\)\n$`).FindStringSubmatch(res.stdout)
	require.NotNil(t, m, res.stdout)
	id := m[1]

	res = e.cli("config", "list")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^ID\s+NAME\s+VERSION\s+RUNNABLE\s+ACTIVE\s+SOURCE\s+UPDATED\s*$`, res.stdout)
	require.Regexp(t, `(?m)^`+id+`\s+folder-ingest\s+1\s+yes\s+yes\s+cli\s`, res.stdout)
	require.Contains(t, res.stdout, "1–1 of 1\n")

	// yaml output has the API's field names.
	res = e.cli("config", "list", "--output", "yaml")
	require.Equal(t, exitOK, res.code, res)
	var page struct {
		Total int `yaml:"total"`
		Items []struct {
			ID         string `yaml:"id"`
			Name       string `yaml:"name"`
			ConfigYAML string `yaml:"config_yaml"`
		} `yaml:"items"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(res.stdout), &page), res.stdout)
	require.Equal(t, 1, page.Total)
	require.Equal(t, id, page.Items[0].ID)
	shipped, err := os.ReadFile(folderIngestYAML)
	require.NoError(t, err)
	require.Equal(t, string(shipped), page.Items[0].ConfigYAML, "multi-line YAML survives the YAML output")

	res = e.cli("config", "get", "folder-ingest")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^ID:\s+`+id+`$`, res.stdout)
	require.Regexp(t, `(?m)^Description:\s+local folders$`, res.stdout)
	require.Regexp(t, `(?m)^Runnable:\s+yes$`, res.stdout)
	res = e.cli("config", "get", id, "--yaml")
	require.Equal(t, exitOK, res.code, res)
	require.Equal(t, string(shipped), res.stdout)

	// edit: version 2, name and description kept.
	edited := strings.Replace(string(shipped), "max_files: 10000", "max_files: 5000", 1)
	require.NotEqual(t, string(shipped), edited)
	res = e.cli("config", "edit", id, "-f", writeFile(t, "edited.yaml", edited))
	require.Equal(t, exitOK, res.code, res)
	require.Equal(t, "config folder-ingest updated to version 2\n", res.stdout)
	cfg := decoded[api.Config](t, e.cli("config", "get", "folder-ingest", "--output", "json"))
	require.Equal(t, 2, cfg.Version)
	require.Equal(t, edited, cfg.YAML)
	require.Equal(t, "local folders", cfg.Description)

	// run, then wait by tag.
	res = e.cli("config", "run", "folder-ingest", "--set", "root="+root, "--tag", "ingest-1", "--output", "json")
	ex := decoded[api.Execution](t, res)
	require.Equal(t, "ingest-1", ex.Tag)
	require.Equal(t, id, ex.ConfigID)
	res = e.cli("execution", "wait", "ingest-1")
	require.Equal(t, exitOK, res.code, res)
	require.Empty(t, res.stderr)
	require.Regexp(t, `(?m)^ROUTE\s+DONE\s+FAILED\s+RETRIED\s+DEAD\s+SKIPPED\s+IN FLIGHT\s+EMITTED\s*$`, res.stdout)
	require.Regexp(t, `(?m)^scan\s+1\s+0\s+0\s+0\s+0\s+0\s+\d+\s*$`, res.stdout)
	require.Regexp(t, `(?m)^execution `+ex.ID+` completed in \S+: \d+ messages done, 0 dead-lettered, 0 retried`, res.stdout)
	require.NotContains(t, res.stdout, "\x1b[", "no terminal codes when stdout is not a terminal")

	// wait on an execution that has ended answers at once, the same way.
	res = e.cli("execution", "wait", ex.ID, "--output", "json")
	final := decoded[api.Execution](t, res)
	require.Equal(t, store.StatusCompleted, final.Status)

	res = e.cli("execution", "get", "ingest-1")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^Status:\s+completed$`, res.stdout)
	require.Regexp(t, `(?m)^Tag:\s+ingest-1$`, res.stdout)

	res = e.cli("execution", "list", "--config", id, "--status", "completed")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^`+ex.ID+`\s+ingest-1\s+folder-ingest\s+completed\s`, res.stdout)
	list := decoded[api.Page[api.Execution]](t, e.cli("execution", "list", "--status", "failed", "--output", "json"))
	require.Zero(t, list.Total)

	stats := decoded[api.ExecutionStats](t, e.cli("execution", "stats", ex.ID, "--output", "json"))
	require.Equal(t, "completed", stats.Status)
	require.EqualValues(t, 1, routeDone(stats.Routes, "scan"))
	require.Positive(t, routeDone(stats.Routes, "segments"))
	res = e.cli("execution", "stats", "ingest-1")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^Status:\s+completed$`, res.stdout)
	require.Regexp(t, `(?m)^TOTAL\s`, res.stdout)
	require.Regexp(t, `(?m)^scan\s+0\s+file_source\s+1\s+0\s`, res.stdout)

	res = e.cli("execution", "dag", ex.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "init: scan (queue folder.scan)\n")
	require.Regexp(t, `(?m)^convert\s+folder.convert\s+storage_retriever → html_to_markdown → markdown_storage_writer → smart_segmenter → segment_publisher\s*$`, res.stdout)
	require.Regexp(t, `(?m)^scan\s+convert\s+folder.convert\s*$`, res.stdout)
	dag := decoded[api.DAG](t, e.cli("execution", "dag", ex.ID, "--output", "json"))
	require.Len(t, dag.Nodes, 4)

	res = e.cli("execution", "routes", ex.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^segments\s+folder.segments\s+\d+\s+\d+\s+0\s`, res.stdout)

	res = e.cli("execution", "timeline", ex.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)\sstatus\s+running\s`, res.stdout)
	require.Regexp(t, `(?m)\sstatus\s+completed\s`, res.stdout)
	tl := decoded[api.Timeline](t, e.cli("execution", "timeline", ex.ID, "--output", "json"))
	require.NotEmpty(t, tl.Events)

	// watch of an ended execution replays its events as JSON lines.
	res = e.cli("execution", "watch", "ingest-1", "--output", "json")
	require.Equal(t, exitOK, res.code, res)
	require.Equal(t, eventIDs(tl.Events), eventIDs(jsonEvents(t, res.stdout)))
	res = e.cli("execution", "watch", "ingest-1")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^\d\d:\d\d:\d\d\.\d{3} status\s+completed: `, res.stdout)
	require.Len(t, strings.Split(strings.TrimSpace(res.stdout), "\n"), len(tl.Events))

	// storage: list the execution's artefacts, read one, its metadata.
	prefix := "executions/" + ex.ID + "/"
	res = e.cli("storage", "list", "--prefix", prefix, "--delimiter", "/")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(prefix)+`scan/\s+-\s+folder`, res.stdout)
	objs := decoded[api.StorageList](t, e.cli("storage", "list", "--prefix", prefix, "--limit", "1000", "--output", "json"))
	require.False(t, objs.HasMore)
	var key string
	for _, o := range objs.Items {
		if strings.HasSuffix(o.Key, "/guide/intro.md") && strings.Contains(o.Key, "/scan/") {
			key = o.Key
		}
	}
	require.NotEmpty(t, key, "no copy of guide/intro.md among %d objects", len(objs.Items))
	intro := folderTree()["guide/intro.md"]
	res = e.cli("storage", "get", key)
	require.Equal(t, exitOK, res.code, res)
	require.Equal(t, intro, res.stdout)
	out := filepath.Join(t.TempDir(), "intro.md")
	res = e.cli("storage", "get", key, "-o", out)
	require.Equal(t, exitOK, res.code, res)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, intro, string(got))
	res = e.cli("storage", "metadata", key)
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^  execution_id:\s+`+ex.ID+`$`, res.stdout)
	md := decoded[api.ObjectMetadata](t, e.cli("storage", "metadata", key, "--output", "json"))
	require.Equal(t, int64(len(intro)), md.Size)
	res = e.cli("storage", "get", prefix+"nothing-here.md")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "Error: OBJECT_NOT_FOUND: ")

	// delete deactivates: gone from the list, still listed with --all,
	// and it cannot run.
	res = e.cli("config", "delete", id)
	require.Equal(t, exitOK, res.code, res)
	all := decoded[api.Page[api.Config]](t, e.cli("config", "list", "--output", "json"))
	require.Zero(t, all.Total)
	all = decoded[api.Page[api.Config]](t, e.cli("config", "list", "--all", "--output", "json"))
	require.Equal(t, 1, all.Total)
	res = e.cli("config", "run", id)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "Error: CONFIG_INACTIVE: ")
	require.Contains(t, res.stderr, "(hint: ")
}

func routeDone(routes []api.RouteStats, id string) int64 {
	for _, r := range routes {
		if r.RouteID == id {
			return r.Completed
		}
	}
	return -1
}

func jsonEvents(t *testing.T, out string) []api.Event {
	t.Helper()
	var evs []api.Event
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev api.Event
		require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
		evs = append(evs, ev)
	}
	return evs
}

func eventIDs(evs []api.Event) []string {
	ids := make([]string, 0, len(evs))
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

// TestClientRunWaitFailures: executions that fail or are cancelled, waits
// that time out or are interrupted, and configs that cannot run.
func TestClientRunWaitFailures(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	res := e.cli("config", "create", "-f", folderIngestYAML)
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("config", "create", "-f", writeFile(t, "held.yaml", pausedYAML))
	require.Equal(t, exitOK, res.code, res)

	t.Run("failed execution", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "does-not-exist")
		res := e.cli("config", "run", "folder-ingest", "--payload", fmt.Sprintf(`{"root": %q}`, missing), "--wait")
		require.Equal(t, exitFailed, res.code, res)
		id := regexp.MustCompile(`^execution (\S+) of folder-ingest started\n`).FindStringSubmatch(res.stdout)
		require.NotNil(t, id, res.stdout)
		require.Contains(t, res.stderr, "Error: execution "+id[1]+" failed: FILE_SOURCE_NOT_FOUND: route scan: ")
		require.Contains(t, res.stderr, "(hint: ")
		require.Regexp(t, `(?m)^scan\s+0\s+1\s+0\s+1\s+0\s+0\s+0\s*$`, res.stdout)
		require.Contains(t, res.stdout, "reason: FILE_SOURCE_NOT_FOUND: route scan: ")
		res = e.cli("execution", "wait", id[1])
		require.Equal(t, exitFailed, res.code, res)
		res = e.cli("execution", "cancel", id[1])
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: EXECUTION_NOT_RUNNING: ")
	})

	t.Run("invalid config", func(t *testing.T) {
		t.Parallel()
		bad := writeFile(t, "broken.yaml", "version: \"1.0\"\nroutes:\n  a:\n    inbound: { queue: q.a }\n    adapters: [ { type: no_such_adapter } ]\n")
		res := e.cli("config", "create", "-f", bad)
		require.Equal(t, exitOK, res.code, res)
		require.Contains(t, res.stdout, "config broken created")
		require.Contains(t, res.stdout, "no_such_adapter")
		require.Contains(t, res.stdout, "not runnable: ")
		res = e.cli("config", "run", "broken", "--wait")
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: CONFIG_INVALID: invalid pipeline: ")
		require.Contains(t, res.stderr, "(hint: ")
		require.Contains(t, res.stderr, "no_such_adapter")
		require.Empty(t, res.stdout)

		res = e.cli("config", "validate", "--remote", bad)
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stdout, bad+":")
		require.Contains(t, res.stdout, "no_such_adapter")
		local := runInProcess(t, "config", "validate", bad)
		require.Equal(t, local.stdout, res.stdout, "the server reports what local validation does")
		res = e.cli("config", "validate", "--remote", filepath.Join("..", "..", "config", "pipelines"), "-o", "json")
		require.Equal(t, exitOK, res.code, res)
		require.Contains(t, res.stdout, `"valid": true`)
	})

	t.Run("timeout, cancel, interrupt", func(t *testing.T) {
		t.Parallel()
		// This env's own "later" route is paused: the execution stays open.
		res := e.cli("pipeline", "pause", "later")
		require.Equal(t, exitOK, res.code, res)
		require.Equal(t, "route later paused\n", res.stdout)
		ex := decoded[api.Execution](t, e.cli("config", "run", "held", "--payload", sixURLs, "--tag", "held-1", "--output", "json"))

		res = e.cli("execution", "wait", "held-1", "--timeout", "1s")
		require.Equal(t, exitTimeout, res.code, res)
		require.Contains(t, res.stderr, "Error: timed out after 1s waiting for execution "+ex.ID)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan runResult, 1)
		go func() {
			res, _ := cliBounded(ctx, "execution", "wait", ex.ID, "--server", e.url)
			done <- res
		}()
		cancel()
		res = <-done
		require.Equal(t, exitInterrupted, res.code, res)

		res = e.cli("execution", "cancel", "held-1")
		require.Equal(t, exitOK, res.code, res)
		require.Contains(t, res.stdout, "execution "+ex.ID+" cancelling")
		res = e.cli("execution", "wait", "held-1")
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: execution "+ex.ID+" cancelled")
	})

	t.Run("unknown ids", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"execution", "get", "no-such-tag"},
			{"execution", "wait", "no-such-tag"},
			{"execution", "watch", "no-such-tag"},
			{"execution", "stats", "no-such-tag"},
		} {
			res := e.cli(args...)
			require.Equal(t, exitFailed, res.code, res)
			require.Contains(t, res.stderr, "Error: EXECUTION_NOT_FOUND: ", res)
		}
		res := e.cli("config", "get", "no-such-config")
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: CONFIG_NOT_FOUND: ", res)

		// A request the server refuses names what is wrong, and where.
		res = e.cli("storage", "list", "--limit", "5000")
		require.Equal(t, exitFailed, res.code, res)
		require.Regexp(t, `^Error: VALIDATION_FAILED: .*; query\.limit: `, res.stderr)
	})
}

// TestClientUnreachable: nothing listens at the server URL.
func TestClientUnreachable(t *testing.T) {
	t.Parallel()
	url := "http://" + closedPort(t)
	for _, args := range [][]string{
		{"system", "health"},
		{"config", "list"},
		{"execution", "wait", "some-tag"},
		{"execution", "watch", "some-tag"},
		{"config", "validate", "--remote", folderIngestYAML},
	} {
		res := cliAt(t, context.Background(), url, args...)
		require.Equal(t, exitUnreachable, res.code, res)
		require.Contains(t, res.stderr, "Error: cannot reach the Factflow server at "+url+": ", res)
		require.Contains(t, res.stderr, "factflow serve", res)
		require.Contains(t, res.stderr, "FACTFLOW_URL", res)
	}
}

func TestClientUsageErrors(t *testing.T) {
	t.Parallel()
	url := "http://" + closedPort(t) // never reached: usage is checked first
	for _, args := range [][]string{
		{"config", "list", "--output", "xml"},
		{"config", "create"},
		{"config", "create", "-f", "-"},
		{"config", "create", "-f", filepath.Join(t.TempDir(), "missing.yaml")},
		{"config", "run", "x", "--set", "novalue"},
		{"config", "run", "x", "--payload", "[1]"},
		{"config", "run", "x", "--progress", "loud"},
		{"execution", "watch", "x", "--detail", "everything"},
		{"execution", "get"},
		{"system", "health", "--timeout", "soon"},
		{"system", "health", "--server", "ftp://example.test"},
	} {
		if !slices.Contains(args, "--server") {
			args = append(args, "--server", url)
		}
		res, hung := cliBounded(context.Background(), args...)
		require.False(t, hung)
		require.Equal(t, exitUsage, res.code, "%v: %s", args, res)
		require.NotContains(t, res.stderr, "cannot reach", res)
	}
}

func TestClientRunPayload(t *testing.T) {
	t.Parallel()
	c := newConfigRunCmd()
	got, err := runPayload(c, `{"a": {"b": 1}, "keep": true}`, []string{"a.c=x y", "n=5", "a.b=[1,2]", "s=\"7\""})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"a": map[string]any{"b": []any{1.0, 2.0}, "c": "x y"}, "keep": true, "n": 5.0, "s": "7"}, got)
	_, err = runPayload(c, `{"a": 1}`, []string{"a.b=2"})
	require.ErrorContains(t, err, "a is not an object")
	got, err = runPayload(c, "@"+writeFile(t, "p.json", `{"root": "/srv"}`), nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"root": "/srv"}, got)
	got, err = runPayload(c, "", nil)
	require.NoError(t, err)
	require.Nil(t, got)
}

// cuttingProxy forwards to backend and drops the first event stream in
// the middle of its cutAt-th event. It records the Last-Event-ID of every
// stream request.
type cuttingProxy struct {
	backend string
	cutAt   int
	mu      sync.Mutex
	streams int
	resumes []string
	agents  []string
	cut     chan struct{} // closed when the first stream was cut
	again   chan struct{} // closed when a second stream started
}

func newCuttingProxy(t *testing.T, backend string, cutAt int) (*cuttingProxy, string) {
	p := &cuttingProxy{backend: backend, cutAt: cutAt, cut: make(chan struct{}), again: make(chan struct{})}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return p, srv.URL
}

func (p *cuttingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.backend+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	stream := strings.HasSuffix(r.URL.Path, "/events")
	first := false
	p.mu.Lock()
	p.agents = append(p.agents, r.UserAgent())
	p.mu.Unlock()
	if stream {
		p.mu.Lock()
		p.streams++
		first = p.streams == 1
		p.resumes = append(p.resumes, r.Header.Get("Last-Event-ID"))
		if p.streams == 2 {
			close(p.again)
		}
		p.mu.Unlock()
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	var seen []byte
	buf := make([]byte, 512)
	for {
		n, err := resp.Body.Read(buf)
		chunk := buf[:n]
		if first {
			sent := len(seen)
			seen = append(seen, chunk...)
			if i := nthIndex(seen, "\nid: ", p.cutAt); i >= 0 && len(seen) >= i+12 {
				_, _ = w.Write(seen[sent : i+12])
				_ = rc.Flush()
				close(p.cut)
				panic(http.ErrAbortHandler) // the client sees the connection drop
			}
		}
		if n > 0 {
			if _, werr := w.Write(chunk); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func nthIndex(b []byte, sep string, n int) int {
	off := 0
	for k := 1; ; k++ {
		i := bytes.Index(b[off:], []byte(sep))
		if i < 0 {
			return -1
		}
		if k == n {
			return off + i
		}
		off += i + len(sep)
	}
}

// TestClientWaitResumesDroppedStream: a wait whose event stream drops in
// the middle of an event resumes after the last whole event, prints every
// progress event exactly once and exits 0; pause and resume steer the
// execution meanwhile.
func TestClientWaitResumesDroppedStream(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	// The third event is the first progress event (after pending and
	// running): it comes while the route is paused.
	proxy, proxyURL := newCuttingProxy(t, e.url, 3)

	res := e.cli("config", "create", "-f", writeFile(t, "held.yaml", pausedYAML))
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("pipeline", "pause", "later")
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("pipeline", "list")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^later\s+paused\s`, res.stdout)
	ex := decoded[api.Execution](t, e.cli("config", "run", "held", "--payload", sixURLs, "--output", "json"))

	done := make(chan runResult, 1)
	go func() {
		res, _ := cliBounded(context.Background(), "execution", "wait", ex.ID, "--progress", "lines", "--server", proxyURL)
		done <- res
	}()
	for _, ch := range []chan struct{}{proxy.cut, proxy.again} {
		select {
		case <-ch:
		case res := <-done:
			t.Fatalf("the wait ended before the stream was cut and resumed: %s", res)
		}
	}
	res = e.cli("pipeline", "resume", "later")
	require.Equal(t, exitOK, res.code, res)
	require.Equal(t, "route later resumed\n", res.stdout)

	res = <-done
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^later\s+6\s+0\s+0\s+0\s+0\s+0\s+0\s*$`, res.stdout)

	tl := decoded[api.Timeline](t, e.cli("execution", "timeline", ex.ID, "--output", "json"))
	var want []string
	for _, ev := range tl.Events {
		if ev.Type == store.EventProgress {
			want = append(want, eventLine(ev))
		}
	}
	require.NotEmpty(t, want)
	var printed []string
	for _, line := range strings.Split(res.stdout, "\n") {
		if regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} progress `).MatchString(line) {
			printed = append(printed, line)
		}
	}
	require.Equal(t, want, printed, "every progress event exactly once, in order")

	proxy.mu.Lock()
	resumes := slices.Clone(proxy.resumes)
	proxy.mu.Unlock()
	require.GreaterOrEqual(t, len(resumes), 2)
	require.Empty(t, resumes[0])
	require.Equal(t, store.EventProgress, tl.Events[2].Type)
	require.Equal(t, tl.Events[1].ID, resumes[1], "the second stream resumes after the last whole event")
}

// TestClientWatchResumesDroppedStream: watch over a dropped stream prints
// each event of an ended execution exactly once.
func TestClientWatchResumesDroppedStream(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	res := e.cli("config", "create", "-f", writeFile(t, "held.yaml", pausedYAML))
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("config", "run", "held", "--payload", sixURLs, "--wait", "--progress", "none")
	require.Equal(t, exitOK, res.code, res)
	id := regexp.MustCompile(`^execution (\S+) of held started\n`).FindStringSubmatch(res.stdout)
	require.NotNil(t, id, res.stdout)

	proxy, proxyURL := newCuttingProxy(t, e.url, 2)
	res = cliAt(t, context.Background(), proxyURL, "execution", "watch", id[1], "--output", "json")
	require.Equal(t, exitOK, res.code, res)
	tl := decoded[api.Timeline](t, e.cli("execution", "timeline", id[1], "--output", "json"))
	require.Equal(t, eventIDs(tl.Events), eventIDs(jsonEvents(t, res.stdout)))
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	require.Len(t, proxy.resumes, 2)
	require.Equal(t, tl.Events[0].ID, proxy.resumes[1])
	for _, ua := range proxy.agents {
		require.True(t, strings.HasPrefix(ua, "factflow-cli/"), ua)
	}
}

// watch --detail stages prints the per-message stage events among the
// stored ones, without letting them disturb deduplication or resumption.
func TestClientWatchStages(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	res := e.cli("config", "create", "-f", writeFile(t, "held.yaml", pausedYAML))
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("pipeline", "pause", "later")
	require.Equal(t, exitOK, res.code, res)
	ex := decoded[api.Execution](t, e.cli("config", "run", "held", "--payload", sixURLs, "--output", "json"))

	done := make(chan runResult, 1)
	go func() {
		r, _ := cliBounded(context.Background(), "execution", "watch", ex.ID, "--detail", "stages",
			"--output", "json", "--server", e.url)
		done <- r
	}()
	waitFor(t, 30*time.Second, "the watcher to subscribe to stages", e.c.Manager.Bus().WantsStages)
	res = e.cli("pipeline", "resume", "later")
	require.Equal(t, exitOK, res.code, res)

	var watched runResult
	select {
	case watched = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("watch did not end")
	}
	require.Equal(t, exitOK, watched.code, watched)
	evs := jsonEvents(t, watched.stdout)
	var stored []api.Event
	stages := 0
	for _, ev := range evs {
		if ev.Type == store.EventStage {
			stages++
			require.Equal(t, ex.ID, ev.ExecutionID)
			continue
		}
		stored = append(stored, ev)
	}
	require.GreaterOrEqual(t, stages, 6, "a stage event per message of the resumed route at least:\n%s", watched.stdout)
	tl := decoded[api.Timeline](t, e.cli("execution", "timeline", ex.ID, "--output", "json"))
	require.Equal(t, eventIDs(tl.Events), eventIDs(stored), "every stored event once, in order")
}
