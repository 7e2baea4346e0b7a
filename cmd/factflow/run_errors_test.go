package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// TestRunRejectsBadInput: a pipeline or flag the run cannot use is a usage
// error (exit 2) with a coded, located message, and nothing is provisioned
// for it: no data dir, no broker, no database.
func TestRunRejectsBadInput(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"syntax.yaml": "version: \"1.0\"\nroutes:\n  start:\n    inbound: { queue: demo.start\n    adapters: [noop]\n",
		"adapter.yaml": `version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scrapper
init_message: { route: fetch, payload: { url: "http://127.0.0.1/" } }
`,
		"queue.yaml": `version: "1.0"
routes:
  start:
    inbound: { queue: "docs fetch!" }
    adapters: [noop]
init_message: { route: start }
`,
		"init.yaml": `version: "1.0"
routes:
  start:
    inbound: { queue: demo.start }
    adapters: [noop]
init_message: { route: begin }
`,
		"good.yaml": validPipeline,
	}
	dir := writeFiles(t, files)

	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr, as regular expressions
	}{
		{
			name: "invalid YAML",
			args: []string{"run", filepath.Join(dir, "syntax.yaml")},
			want: []string{`syntax\.yaml:\d+:\d+: error E001 `, `Error: .*syntax\.yaml has 1 validation errors`},
		},
		{
			name: "unknown adapter",
			args: []string{"run", filepath.Join(dir, "adapter.yaml")},
			want: []string{`adapter\.yaml:6:15: error E101 routes\.fetch\.adapters\[0\]\.type: .*did you mean "web_scraper"\?`},
		},
		{
			name: "bad queue name",
			args: []string{"run", filepath.Join(dir, "queue.yaml")},
			want: []string{`queue\.yaml:4:\d+: error E204 routes\.start\.inbound\.queue: .*docs fetch!`},
		},
		{
			name: "unknown init route",
			args: []string{"run", filepath.Join(dir, "init.yaml")},
			want: []string{`init\.yaml:\d+:\d+: error E201 init_message\.route`},
		},
		{
			name: "payload is not JSON",
			args: []string{"run", filepath.Join(dir, "good.yaml"), "--payload", `{"root": `},
			want: []string{`Error: --payload must be a JSON object: unexpected end of JSON input`},
		},
		{
			name: "payload is not an object",
			args: []string{"run", filepath.Join(dir, "good.yaml"), "--payload", `["a", "b"]`},
			want: []string{`Error: --payload must be a JSON object: json: cannot unmarshal array`},
		},
		{
			name: "missing pipeline file",
			args: []string{"run", filepath.Join(dir, "nope.yaml")},
			want: []string{`Error: reading pipeline: open .*nope\.yaml: no such file or directory`},
		},
		{
			name: "no pipeline file",
			args: []string{"run"},
			want: []string{`Error: accepts 1 arg\(s\), received 0`},
		},
		{
			name: "bad log level",
			args: []string{"run", filepath.Join(dir, "good.yaml"), "--log-level", "loud"},
			want: []string{`Error: --log-level "loud": use debug, info, warn or error`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "output")
			// An unreachable database proves nothing is provisioned: a
			// run that got as far as connecting would fail differently.
			args := slices.Concat(tc.args, []string{"--data-dir", dataDir, "--database-url", "postgres://nobody@127.0.0.1:1/none"})
			if tc.name == "no pipeline file" {
				args = tc.args
			}
			res := runInProcess(t, args...)
			require.Equal(t, exitUsage, res.code, res)
			for _, re := range tc.want {
				require.Regexp(t, re, res.stderr, res)
			}
			require.NotContains(t, res.stdout, "started", res)
			require.NoDirExists(t, dataDir, "nothing is provisioned for a run that cannot start")
		})
	}
}

// TestRunFailures: runs that start but go wrong end in a defined state with
// a coded reason, and every failed message is accounted for.
func TestRunFailures(t *testing.T) {
	t.Parallel()

	t.Run("missing folder fails the init route", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "does-not-exist")
		dbURL := storetest.URL(t)
		res := runInProcess(t, "run", folderIngestYAML, "--payload", fmt.Sprintf(`{"root": %q}`, missing),
			"--data-dir", t.TempDir(), "--database-url", dbURL)
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: FILE_SOURCE_NOT_FOUND: route scan: ", res)
		require.Contains(t, res.stderr, missing, res)
		id := executionID(t, res.stdout)
		require.Equal(t, "failed", totals(t, res.stdout).status)
		require.Contains(t, res.stdout, "reason: FILE_SOURCE_NOT_FOUND: route scan: ")
		require.Equal(t, routeRow{Failed: 1, Dead: 1}, summaryRows(t, res.stdout)["scan"], res.stdout)

		conn := pgConn(t, dbURL)
		ex := loadExecution(t, conn, id)
		require.Equal(t, "failed", ex.status)
		require.Equal(t, "FILE_SOURCE_NOT_FOUND", ex.errorInfo["code"], ex.errorInfo)
		require.Equal(t, "scan", ex.errorInfo["route"], ex.errorInfo)
		require.NotEmpty(t, ex.errorInfo["hint"], ex.errorInfo)
		require.Equal(t, []string{"pending", "running", "failed"}, statusTimeline(t, conn, id))
		dls := deadLetters(t, conn, id)
		require.Len(t, dls, 1)
		require.Equal(t, "scan", dls[0].route)
		require.Equal(t, "file_source", dls[0].adapter)
		require.Equal(t, "permanent", dls[0].errorClass)
		require.Equal(t, 1, dls[0].attempt)
		require.Equal(t, missing, dls[0].payload["root"], "the dead letter keeps the original payload")
	})

	t.Run("no folder given", func(t *testing.T) {
		t.Parallel()
		res := runInProcess(t, "run", folderIngestYAML, "--data-dir", t.TempDir(), "--database-url", storetest.URL(t))
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: FILE_SOURCE_NO_ROOT: route scan: ", res)
	})

	t.Run("unreachable site", func(t *testing.T) {
		t.Parallel()
		addr := closedPort(t)
		pipeline := fastRetryDocsIngest(t)
		dbURL := storetest.URL(t)
		res := runInProcess(t, "run", pipeline, "--payload", fmt.Sprintf(`{"sitemap_url": "http://%s/sitemap.xml"}`, addr),
			"--data-dir", t.TempDir(), "--database-url", dbURL)
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: WEB_NETWORK: route discover: ", res)
		require.Contains(t, res.stderr, "connection refused", res)
		id := executionID(t, res.stdout)
		require.Equal(t, routeRow{Failed: 4, Retried: 3, Dead: 1}, summaryRows(t, res.stdout)["discover"], res.stdout)

		conn := pgConn(t, dbURL)
		require.Equal(t, "failed", loadExecution(t, conn, id).status)
		require.Equal(t, map[string]int{"discover/sitemap_parser/sitemap_parser/failed": 4}, lineageCounts(t, conn, id))
		require.Equal(t, []int{1, 2, 3, 4}, failedAttempts(t, conn, id))
		dls := deadLetters(t, conn, id)
		require.Len(t, dls, 1)
		require.Equal(t, 4, dls[0].attempt, "max_retries 3: the fourth attempt is the last")
		require.Equal(t, "retryable", dls[0].errorClass)
		require.Contains(t, dls[0].reason, "WEB_NETWORK")
	})

	t.Run("sitemap not found", func(t *testing.T) {
		t.Parallel()
		empty := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(empty.Close)
		dbURL := storetest.URL(t)
		res := runInProcess(t, "run", fastRetryDocsIngest(t), "--payload", fmt.Sprintf(`{"sitemap_url": %q}`, empty.URL+"/sitemap.xml"),
			"--data-dir", t.TempDir(), "--database-url", dbURL)
		require.Equal(t, exitFailed, res.code, res)
		require.Contains(t, res.stderr, "Error: WEB_HTTP_404: route discover: ", res)
		dls := deadLetters(t, pgConn(t, dbURL), executionID(t, res.stdout))
		require.Len(t, dls, 1)
		require.Equal(t, 1, dls[0].attempt, "a missing sitemap is not retried")
	})

	t.Run("adapter that keeps failing", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "flaky.yaml")
		require.NoError(t, os.WriteFile(file, []byte(`version: "1.0"
defaults:
  error_handling: { max_retries: 2, retry_delay: 10ms, backoff: exponential, dead_letter: true }
routes:
  start:
    inbound: { queue: demo.start }
    adapters: [noop]
    outbound: [ { queue: demo.work }, { queue: demo.audit } ]
  work:
    inbound: { queue: demo.work }
    adapters:
      - type: fail
        config: { mode: always, message: "the backend is down" }
  audit:
    inbound: { queue: demo.audit }
    adapters: [noop]
init_message: { route: start, payload: { n: 1 } }
`), 0o644))
		dbURL := storetest.URL(t)
		res := runInProcess(t, "run", file, "--data-dir", t.TempDir(), "--database-url", dbURL)

		// The dead letter is reported, not hidden; the execution
		// completes because every message was settled.
		require.Equal(t, exitOK, res.code, res)
		id := executionID(t, res.stdout)
		require.Equal(t, map[string]routeRow{
			"start": {Done: 1, Emitted: 2},
			"work":  {Failed: 3, Retried: 2, Dead: 1},
			"audit": {Done: 1},
		}, summaryRows(t, res.stdout), res.stdout)
		require.Equal(t, summaryTotals{status: "completed", done: 2, dead: 1, retried: 2}, totals(t, res.stdout))

		conn := pgConn(t, dbURL)
		require.Equal(t, "completed", loadExecution(t, conn, id).status)
		require.Equal(t, []int{1, 2, 3}, failedAttempts(t, conn, id))
		dls := deadLetters(t, conn, id)
		require.Len(t, dls, 1)
		require.Equal(t, "work", dls[0].route)
		require.Equal(t, "fail", dls[0].adapter)
		require.Equal(t, "demo.work", dls[0].queue)
		require.Equal(t, 3, dls[0].attempt, "max_retries + 1 attempts")
		require.Equal(t, "retryable", dls[0].errorClass)
		require.Contains(t, dls[0].reason, "retries exhausted after 3 attempts: ")
		require.Contains(t, dls[0].reason, "FAIL_INDUCED")
		require.Contains(t, dls[0].reason, "the backend is down")
		require.EqualValues(t, 1, dls[0].payload["n"], "the original payload is kept")
		require.Equal(t, 1, countEvents(t, conn, id, "dead_letter"))
	})
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// fastRetryDocsIngest writes the shipped docs-ingest pipeline with
// retry_delay cut to 10ms, so retry paths run in milliseconds.
func fastRetryDocsIngest(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(docsIngestYAML)
	require.NoError(t, err)
	const from, to = "retry_delay: 2s,", "retry_delay: 10ms,"
	require.Contains(t, string(src), from, "docs-ingest.yaml changed; update this test")
	file := filepath.Join(t.TempDir(), "docs-ingest.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(src), from, to, 1)), 0o644))
	return file
}

// failedAttempts lists the attempt numbers of an execution's failed
// lineage rows in order.
func failedAttempts(t *testing.T, conn *pgx.Conn, id string) []int {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT (error_info->>'attempt')::int FROM lineage
		WHERE execution_id = $1 AND stage_status = 'failed' ORDER BY started_at`, id)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[int])
	require.NoError(t, err)
	return out
}

// TestRunStartupProblems: what stops a run before its execution starts is
// reported with a stable code and a hint, never leaking secrets.
func TestRunStartupProblems(t *testing.T) {
	t.Parallel()
	good := filepath.Join(writeFiles(t, map[string]string{"good.yaml": validPipeline}), "good.yaml")
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o644))

	tests := []struct {
		name  string
		flags func(t *testing.T) []string
		want  string // regular expression matched against stderr
	}{
		{
			name: "database unreachable",
			flags: func(t *testing.T) []string {
				return []string{"--database-url", "postgres://factflow:s3cret-pw@" + closedPort(t) + "/factflow"}
			},
			want: `(?s)Error: [A-Z][A-Z0-9_]+: .*\(hint: `,
		},
		{
			name: "unsupported queue URL",
			flags: func(t *testing.T) []string {
				return []string{"--database-url", storetest.URL(t), "--queue", "kafka://guest:s3cret-pw@127.0.0.1:9092/"}
			},
			want: `Error: QUEUE_PROVIDER_UNSUPPORTED: .*"kafka".*\(hint: supported: nats://, amqp://, amqps://, stomp://, pulsar://`,
		},
		{
			name: "AMQP broker refuses",
			flags: func(t *testing.T) []string {
				return []string{"--database-url", storetest.URL(t), "--queue", "amqp://nobody:s3cret-pw@" + closedPort(t) + "/"}
			},
			want: `Error: .*QUEUE_AMQP_CONNECT: .*\(hint: `,
		},
		{
			name: "data dir is a file",
			flags: func(t *testing.T) []string {
				return []string{"--database-url", storetest.URL(t), "--data-dir", notADir}
			},
			want: `Error: DATA_DIR_UNUSABLE: .*\(hint: choose a writable --data-dir\)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"run", good, "--data-dir", t.TempDir()}, tc.flags(t)...)
			res := runInProcess(t, args...)
			require.Equal(t, exitFailed, res.code, res)
			require.Regexp(t, tc.want, res.stderr, res)
			require.NotContains(t, res.stderr+res.stdout, "s3cret-pw", "credentials are not echoed")
			require.NotContains(t, res.stdout, "started", res)
		})
	}
}

// TestRunInterruptedBeforeStart: Ctrl-C that arrives while the runtime is
// still starting (provisioning can take a while) ends the run as
// interrupted (exit 5) with a clear message, not as a failure with a bare
// "context canceled".
func TestRunInterruptedBeforeStart(t *testing.T) {
	t.Parallel()
	good := filepath.Join(writeFiles(t, map[string]string{"good.yaml": validPipeline}), "good.yaml")
	dbURL := storetest.URL(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before anything ran
	var out, errOut strings.Builder
	code := runWith(ctx, []string{"run", good, "--data-dir", t.TempDir(), "--database-url", dbURL}, &out, &errOut)
	res := runResult{code: code, stdout: out.String(), stderr: errOut.String()}
	require.Equal(t, exitInterrupted, res.code, res)
	require.Contains(t, res.stderr, "interrupted", res)
	require.NotContains(t, res.stderr, "context canceled", res)

	// If an execution was created it is left interrupted, never running.
	conn := pgConn(t, dbURL)
	rows, err := conn.Query(context.Background(), `SELECT status FROM executions`)
	require.NoError(t, err)
	statuses, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	for _, s := range statuses {
		require.Equal(t, "interrupted", s)
	}
}
