package main

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue/queuetest"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store/storetest"
)

// TestServeCrashResumes kills a server (kill -9) in the middle of a
// docs-ingest execution and starts another on the same database, broker
// and data dir: the execution resumes from the messages the broker kept
// and completes, and every page reaches the sink at least once. It runs on
// the embedded broker and on every external one.
func TestServeCrashResumes(t *testing.T) {
	t.Parallel()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		crashAndResume(t, "", nil)
	})
	for _, b := range queuetest.Brokers {
		t.Run(b.Service, func(t *testing.T) {
			t.Parallel()
			// Artemis may need a restart (see crashAndResume): held
			// exclusively, so no other package's test sees it go.
			stuck := b.Service == "artemis"
			u := b.URL(t, stuck).String()
			var restart func()
			if stuck {
				restart = func() { restartService(t, b.Service) }
			}
			crashAndResume(t, u, restart)
		})
	}
}

// restartService stops and starts a broker with the services script; the
// caller holds the broker's lock exclusively.
func restartService(t *testing.T, name string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "services.sh"))
	require.NoError(t, err)
	for _, verb := range []string{"down", "up"} {
		out, err := exec.Command(script, verb, name).CombinedOutput()
		require.NoError(t, err, "%s %s %s: %s", script, verb, name, out)
	}
}

// crashAndResume runs the crash and the resume on one broker. Artemis now
// and then keeps a delivery to the killed client in flight for good (no
// connection, no consumer, and the message cannot be consumed) until it
// restarts; the resumed execution must then wait rather than complete
// without it, and say so. restart, when set, restarts the broker once the
// server reports it, and the message must come back.
func crashAndResume(t *testing.T, queueURL string, restart func()) {
	bin := factflowBinary(t)
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()
	gate := make(chan struct{})
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gate) }) }
	t.Cleanup(release)
	site := newDocsSite(t, docsSiteOptions{guides: 6, references: 6, troublemakers: true, gate: gate, ungated: 4})
	env := childEnv("DATABASE_URL=" + dbURL)
	args := []string{"--embedded", "--port", "0", "--data-dir", dataDir}
	if queueURL != "" {
		args = append(args, "--queue", queueURL)
	}

	first := startServe(t, bin, env, args...)
	ex := startDocsIngest(t, first, site)
	// The first pages go through; the others are held at the site. So the
	// crash finds pages already stored, pages in conversion, fetches in
	// flight and pages still queued.
	waitFor(t, 2*time.Minute, "the first pages at the sink", func() bool {
		first.requireRunning()
		return len(artefacts(t, dataDir, ex.ID, "convert", "markdown_storage_writer")) >= 2
	})
	first.kill()
	release()

	second := startServe(t, bin, env, args...)
	t.Cleanup(func() {
		if t.Failed() {
			var stats map[string]any
			second.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/stats", nil, &stats)
			t.Logf("stats of the resumed execution: %v\nfirst server:\n%s\nsecond server:\n%s", stats, first.output(), second.output())
		}
	})
	var final api.Execution
	restarted := false
	waitFor(t, 5*time.Minute, "the resumed execution to finish", func() bool {
		second.requireRunning()
		if restart != nil && !restarted && strings.Contains(second.stderr.String(), "BROKER_DELIVERIES_STUCK") {
			restarted = true
			t.Log("the broker kept a delivery to the killed server; restarting it")
			restart()
		}
		require.Equal(t, http.StatusOK, second.call(http.MethodGet, "/api/v1/executions/"+ex.ID, nil, &final), second.output())
		return final.Status.Terminal()
	})
	require.Equal(t, "completed", string(final.Status), second.output())
	require.Contains(t, second.stderr.String(), "interrupted executions resumed")

	conn := pgConn(t, dbURL)
	timeline := strings.Join(statusTimeline(t, conn, ex.ID), " ")
	require.Contains(t, timeline, "running interrupted running completed", "the timeline tells the crash and the resume")

	// At least once: every page was converted and stored; some may have
	// been twice (taken by the dead process, redelivered to the new one).
	// A page stored twice is two objects (keys are message ids).
	want := map[string]bool{}
	for _, p := range site.pagePaths() {
		want[site.URL+p] = true
	}
	got := map[string]bool{}
	stored := artefacts(t, dataDir, ex.ID, "convert", "markdown_storage_writer")
	for _, a := range stored {
		url, _ := a.meta["source_url"].(string)
		got[url] = true
	}
	require.Equal(t, want, got, "every page reaches the sink")
	// (Lineage rows still buffered in the killed process are lost with
	// it, so lineage may show fewer sink writes than there are objects.)
	t.Logf("%d pages, %d stored by the sink, %d duplicates after the crash", len(want), len(stored), len(stored)-len(want))

	// The two pages that can never be fetched were dead-lettered, none of
	// the others.
	reasons := map[string]bool{}
	for _, dl := range deadLetters(t, conn, ex.ID) {
		url, _ := dl.payload["url"].(string)
		reasons[url[strings.LastIndex(url, "/"):]] = true
	}
	require.Equal(t, map[string]bool{"/missing": true, "/secret": true}, reasons)

	res := second.stop(syscall.SIGTERM)
	require.Equal(t, exitOK, res.code, res)
	var leftover int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT count(*) FROM executions WHERE id = $1 AND status <> 'completed'`, ex.ID).Scan(&leftover))
	require.Zero(t, leftover)
}
