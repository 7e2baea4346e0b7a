package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

// Shipped pipelines, relative to this package's directory (go test runs
// tests there).
var (
	docsIngestYAML   = filepath.Join("..", "..", "config", "pipelines", "docs-ingest.yaml")
	folderIngestYAML = filepath.Join("..", "..", "config", "pipelines", "folder-ingest.yaml")
)

// runResult is what one `factflow run` printed.
type runResult struct {
	code   int
	stdout string
	stderr string
}

func (r runResult) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + r.stdout + "\n--- stderr\n" + r.stderr
}

// runInProcess runs the CLI entry point with a deadline, so a hung run
// fails the test instead of the whole package.
func runInProcess(t *testing.T, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := runWith(ctx, args, &out, &errOut)
	require.NoError(t, ctx.Err(), "the run did not finish in time:\n%s\n%s", out.String(), errOut.String())
	return runResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

var executionIDRe = regexp.MustCompile(`execution ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) of (\S+) started`)

// executionID reads the execution id from the start line of a run.
func executionID(t *testing.T, stdout string) string {
	t.Helper()
	m := executionIDRe.FindStringSubmatch(stdout)
	require.NotNil(t, m, "no start line in stdout:\n%s", stdout)
	return m[1]
}

// routeRow is one line of the summary table.
type routeRow struct {
	Done, Failed, Retried, Dead, Skipped, InFlight, Emitted int
}

// summaryRows parses the last route table printed (the summary).
func summaryRows(t *testing.T, stdout string) map[string]routeRow {
	t.Helper()
	// Terminal output moves the cursor and clears lines; drop those codes.
	clean := regexp.MustCompile(`\x1b\[[0-9]*[A-Za-z]`).ReplaceAllString(stdout, "")
	clean = strings.ReplaceAll(clean, "\r", "")
	i := strings.LastIndex(clean, "ROUTE ")
	require.GreaterOrEqual(t, i, 0, "no route table in stdout:\n%s", stdout)
	rows := map[string]routeRow{}
	for _, line := range strings.Split(clean[i:], "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 8 {
			break
		}
		n := make([]int, 7)
		for j := range n {
			v, err := strconv.Atoi(f[j+1])
			require.NoError(t, err, "summary line %q", line)
			n[j] = v
		}
		rows[f[0]] = routeRow{n[0], n[1], n[2], n[3], n[4], n[5], n[6]}
	}
	return rows
}

var totalsRe = regexp.MustCompile(`execution (\S+) (\w+) in (\S+): (\d+) messages done, (\d+) dead-lettered, (\d+) retried, (\d+) artefacts written`)

// summaryTotals is the closing line of a run.
type summaryTotals struct {
	status                         string
	done, dead, retried, artefacts int
}

func totals(t *testing.T, stdout string) summaryTotals {
	t.Helper()
	m := totalsRe.FindStringSubmatch(stdout)
	require.NotNil(t, m, "no totals line in stdout:\n%s", stdout)
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	_, err := time.ParseDuration(m[3])
	require.NoError(t, err, "duration in %q", m[0])
	return summaryTotals{status: m[2], done: atoi(m[4]), dead: atoi(m[5]), retried: atoi(m[6]), artefacts: atoi(m[7])}
}

// artefact is a stored object of an execution with its sidecar metadata.
type artefact struct {
	key  string // storage key
	path string // file on disk
	meta map[string]any
}

// artefacts lists the objects stored under executions/<id>/<route>/<stage>/.
func artefacts(t *testing.T, dataDir, executionID, route, stage string) []artefact {
	t.Helper()
	root := filepath.Join(dataDir, "storage")
	dir := filepath.Join(root, "executions", executionID, route, stage)
	var out []artefact
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, storage.MetaSuffix) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		require.NoError(t, err)
		a := artefact{key: filepath.ToSlash(rel), path: p}
		raw, err := os.ReadFile(p + storage.MetaSuffix)
		require.NoError(t, err, "artefact %s has no sidecar", a.key)
		require.NoError(t, json.Unmarshal(raw, &a.meta), "sidecar of %s", a.key)
		out = append(out, a)
		return nil
	})
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return out
}

// keys lists the storage keys of artefacts (short failure messages).
func keys(list []artefact) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.key
	}
	return out
}

// requireProvenance checks the sidecar fields every artefact carries.
func requireProvenance(t *testing.T, a artefact, executionID, route, stage string) {
	t.Helper()
	require.Equal(t, executionID, a.meta[storage.MetaExecutionID], "execution_id of %s", a.key)
	require.Equal(t, route, a.meta[storage.MetaRoute], "route of %s", a.key)
	require.Equal(t, stage, a.meta[storage.MetaStage], "stage of %s", a.key)
	require.NotEmpty(t, a.meta[storage.MetaMessageID], "message_id of %s", a.key)
	require.NotEmpty(t, a.meta["etag"], "etag of %s", a.key)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// pgConn connects to a test database; closed when the test ends.
func pgConn(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	})
	return conn
}

// lineageCounts counts lineage rows of an execution by
// "route/adapter/stage/status".
func lineageCounts(t *testing.T, conn *pgx.Conn, executionID string) map[string]int {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT route_id, adapter_name, stage_name, stage_status, count(*)
		FROM lineage WHERE execution_id = $1
		GROUP BY 1, 2, 3, 4`, executionID)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var route, adapter, stage, status string
		var n int
		require.NoError(t, rows.Scan(&route, &adapter, &stage, &status, &n))
		out[route+"/"+adapter+"/"+stage+"/"+status] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// executionRow is the part of an executions row the tests check.
type executionRow struct {
	status     string
	configName string
	errorInfo  map[string]any
	completed  bool
}

// requireEmbedded checks that an execution stored its documents and
// segments, each with one vector in the default (hashing) slot.
func requireEmbedded(t *testing.T, conn *pgx.Conn, executionID string, documents, segments int) {
	t.Helper()
	var docs, segs, vecs int
	require.NoError(t, conn.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM documents WHERE execution_id = $1),
		       (SELECT count(*) FROM segments WHERE execution_id = $1),
		       (SELECT count(*) FROM embeddings WHERE execution_id = $1 AND model_name = 'hashing' AND dims = 384)`,
		executionID).Scan(&docs, &segs, &vecs))
	require.Equal(t, []int{documents, segments, segments}, []int{docs, segs, vecs}, "documents, segments, vectors")
}

func loadExecution(t *testing.T, conn *pgx.Conn, id string) executionRow {
	t.Helper()
	var r executionRow
	var info []byte
	err := conn.QueryRow(context.Background(), `
		SELECT status, config_name, error_info, completed_at IS NOT NULL
		FROM executions WHERE id = $1`, id).Scan(&r.status, &r.configName, &info, &r.completed)
	require.NoError(t, err, "execution %s", id)
	if info != nil {
		require.NoError(t, json.Unmarshal(info, &r.errorInfo))
	}
	return r
}

// statusTimeline lists the statuses of an execution's status events in
// order.
func statusTimeline(t *testing.T, conn *pgx.Conn, id string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT status FROM execution_events
		WHERE execution_id = $1 AND type = 'status' ORDER BY id`, id)
	require.NoError(t, err)
	statuses, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return statuses
}

func countEvents(t *testing.T, conn *pgx.Conn, id, typ string) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT count(*) FROM execution_events WHERE execution_id = $1 AND type = $2`, id, typ).Scan(&n))
	return n
}

// deadLetter is the part of a dead_letters row the tests check.
type deadLetter struct {
	route, adapter, queue, reason, errorClass string
	attempt                                   int
	payload                                   map[string]any
}

func deadLetters(t *testing.T, conn *pgx.Conn, executionID string) []deadLetter {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT route, adapter, queue, reason, error_class, attempt, payload
		FROM dead_letters WHERE execution_id = $1 ORDER BY created_at, id`, executionID)
	require.NoError(t, err)
	var out []deadLetter
	for rows.Next() {
		var d deadLetter
		var payload []byte
		require.NoError(t, rows.Scan(&d.route, &d.adapter, &d.queue, &d.reason, &d.errorClass, &d.attempt, &payload))
		require.NoError(t, json.Unmarshal(payload, &d.payload), "dead letter payload %q", payload)
		out = append(out, d)
	}
	require.NoError(t, rows.Err())
	return out
}
