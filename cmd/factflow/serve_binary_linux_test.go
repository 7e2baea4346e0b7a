//go:build linux

package main

import (
	"bufio"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store/storetest"
)

// startDocsIngest runs the shipped docs-ingest pipeline over site through
// the API and waits until the server fetches pages.
func startDocsIngest(t *testing.T, p *serveProc, site *docsSite) api.Execution {
	t.Helper()
	var ex api.Execution
	status := p.call(http.MethodPost, "/api/v1/configs/docs-ingest/run",
		map[string]any{"sitemap_url": site.URL + "/sitemap.xml"}, &ex)
	require.Equal(t, http.StatusCreated, status, p.output())
	require.NotEmpty(t, ex.ID)
	waitFor(t, time.Minute, "a page fetch", func() bool {
		p.requireRunning()
		for _, path := range site.pagePaths() {
			if site.hit(path) > 0 {
				return true
			}
		}
		return false
	})
	return ex
}

func executionStatus(t *testing.T, p *serveProc, id string) string {
	t.Helper()
	var ex api.Execution
	require.Equal(t, http.StatusOK, p.call(http.MethodGet, "/api/v1/executions/"+id, nil, &ex), p.output())
	return string(ex.Status)
}

// sseStream reads an event stream until the server ends it.
type sseStream struct {
	mu     sync.Mutex
	events []string
	ended  chan struct{}
}

func openEvents(t *testing.T, p *serveProc, id string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/executions/"+id+"/events", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/event-stream")
	s := &sseStream{ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				s.mu.Lock()
				s.events = append(s.events, ev)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *sseStream) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// TestServeSharedDatabase serves on a given database with everything else
// embedded, runs a pipeline through the API with a client following its
// event stream, and stops on SIGTERM in layers: the stream is ended rather
// than waited for, the running execution is interrupted (not failed), and
// the process exits 0.
func TestServeSharedDatabase(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()
	gate := make(chan struct{})
	site := newDocsSite(t, docsSiteOptions{guides: 20, references: 20, gate: gate, delay: 150 * time.Millisecond})
	var once sync.Once
	openGate := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(openGate) // before the site closes: held requests must end

	p := startServe(t, bin, childEnv("DATABASE_URL="+dbURL),
		"--embedded", "--port", "0", "--data-dir", dataDir)
	require.Contains(t, p.stdout.String(), "  data dir: "+dataDir+"\n")

	status, overall, comps := healthOf(t, p.url)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "healthy", overall, comps)

	conn := pgConn(t, dbURL)
	rows, err := conn.Query(context.Background(),
		`SELECT name || ' ' || source_type || ' ' || source_path || ' v' || version FROM pipeline_configs ORDER BY name`)
	require.NoError(t, err)
	var configs []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		configs = append(configs, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		"docs-ingest shipped shipped:docs-ingest.yaml v1",
		"folder-ingest shipped shipped:folder-ingest.yaml v1",
	}, configs)

	ex := startDocsIngest(t, p, site)
	require.Equal(t, "running", executionStatus(t, p, ex.ID))
	stream := openEvents(t, p, ex.ID)
	waitFor(t, 30*time.Second, "a first event on the stream", func() bool { return len(stream.seen()) > 0 })

	// The held page requests are released once the stop has begun: the
	// execution cannot finish first, and its in-flight fetches end.
	p.signal(syscall.SIGTERM)
	openGate()
	res := p.wait()
	require.Equal(t, exitOK, res.code, res)
	select {
	case <-stream.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream stayed open after the server exited")
	}
	require.NotContains(t, res.stderr, "did not close in time", "open event streams are ended, not waited for")
	require.Contains(t, res.stderr, `msg="shutting down"`, res)
	require.Contains(t, res.stderr, "msg=stopped", res)
	require.Equal(t, "interrupted", loadExecution(t, conn, ex.ID).status, "a graceful stop interrupts, never fails")
	require.Empty(t, deadLetters(t, conn, ex.ID), "a graceful stop dead-letters nothing")
}

// TestServeCrashMarksInterrupted kills a server mid-execution (kill -9: no
// shutdown at all) and starts another on the same database and data dir:
// the orphaned execution is marked interrupted, then resumed (see
// TestServeCrashResumes for the rest of its life).
func TestServeCrashMarksInterrupted(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()
	gate := make(chan struct{})
	site := newDocsSite(t, docsSiteOptions{guides: 5, references: 5, gate: gate})
	t.Cleanup(func() { close(gate) })
	env := childEnv("DATABASE_URL=" + dbURL)
	args := []string{"--embedded", "--port", "0", "--data-dir", dataDir}

	first := startServe(t, bin, env, args...)
	ex := startDocsIngest(t, first, site)
	require.Equal(t, "running", executionStatus(t, first, ex.ID))
	first.kill()

	second := startServe(t, bin, env, args...)
	require.Contains(t, second.stderr.String(), "marked interrupted")
	require.Contains(t, second.stderr.String(), ex.ID)
	require.Contains(t, second.stderr.String(), "interrupted executions resumed")
	require.Equal(t, "running", executionStatus(t, second, ex.ID), "held at the gate")
	conn := pgConn(t, dbURL)
	require.Equal(t, []string{"pending", "running", "interrupted", "running"}, statusTimeline(t, conn, ex.ID))
	res := second.stop(syscall.SIGTERM)
	require.Equal(t, exitOK, res.code, res)
}

var privateClusterRe = regexp.MustCompile(`(?m)^  database: private PostgreSQL \S* in (\S+) \(port \d+, stopped on exit\)$`)

// TestServeProvisionsPostgres serves with nothing given at all: a private
// PostgreSQL cluster is provisioned for the data dir, the API answers, and
// SIGTERM stops the cluster with the server.
func TestServeProvisionsPostgres(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	dataDir := t.TempDir()
	// A Docker endpoint that does not answer, so that the local binaries
	// are used whatever this machine has.
	env := childEnv("DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock"))
	p := startServe(t, bin, env, "--embedded", "--port", "0", "--data-dir", dataDir)
	m := privateClusterRe.FindStringSubmatch(p.stdout.String())
	require.NotNil(t, m, "the server says where its PostgreSQL lives\n%s", p.output())
	clusterDir := m[1]
	t.Cleanup(func() { removeCluster(t, dataDir, clusterDir) })
	require.NotEmpty(t, processesUsing(t, filepath.Join(clusterDir, "data")), "the cluster runs while serving")

	status, overall, comps := healthOf(t, p.url)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "healthy", overall, comps)
	var page api.Page[api.Config]
	require.Equal(t, http.StatusOK, p.call(http.MethodGet, "/api/v1/configs", nil, &page))
	require.Equal(t, 2, page.Total, "the shipped pipelines are registered: %+v", page.Items)

	res := p.stop(syscall.SIGTERM)
	require.Equal(t, exitOK, res.code, res)
	requireClusterStopped(t, clusterDir)
}
