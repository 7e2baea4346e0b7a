package container_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	natsq "github.com/factflow/factflow/queue/nats"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/server/embedded"
	"github.com/factflow/factflow/storage/fs"
	"github.com/factflow/factflow/store"
)

// These tests stop the database of a running engine for real: each one runs
// its own private PostgreSQL cluster (the one `serve --embedded` would
// start), never the shared test database other tests use.

// outagePipeline fans the init message out to outageMessages messages that
// pass a valve the test opens step by step, so the outage falls between
// known numbers of processed messages.
const outagePipeline = `version: "1.0"
routes:
  seed:
    inbound: { queue: outage.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: outage.work } ]
  work:
    inbound: { queue: outage.work, concurrency: 4 }
    adapters: [ { type: test_valve }, { type: noop } ]
    outbound: [ { queue: outage.sink } ]
  sink:
    inbound: { queue: outage.sink, concurrency: 4 }
    adapters: [ { type: noop } ]
init_message: { route: seed, payload: {} }
`

const outageMessages = 300

// expectedLineage is one row per message per adapter: the init message
// through url_expander, every fanned-out message through the two adapters
// of work and the one of sink.
var expectedLineage = map[string]int{
	"seed/url_expander": 1,
	"work/test_valve":   outageMessages,
	"work/noop":         outageMessages,
	"sink/noop":         outageMessages,
}

// rowsPerMessage is what one fanned-out message adds to the lineage.
const rowsPerMessage = 3

const expectedLineageRows = 1 + rowsPerMessage*outageMessages

// valve holds each message of the work route until the test lets it pass.
type valve struct{ passes chan struct{} }

func newValve() *valve { return &valve{passes: make(chan struct{}, outageMessages)} }

func (v *valve) let(n int) {
	for range n {
		v.passes <- struct{}{}
	}
}

// registry is every built-in adapter plus test_valve bound to v.
func (v *valve) registry(t *testing.T) *adapters.Registry {
	t.Helper()
	reg := builtin.Registry()
	require.NoError(t, reg.Register(adapters.Define("test_valve", "test", "wait for the test to let a message pass",
		func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(func(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
				select {
				case <-v.passes:
					return adapters.Pass(in.Payload), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}), nil
		})))
	return reg
}

// privatePG is a private cluster the test stops and starts at will.
type privatePG struct {
	t    *testing.T
	opts embedded.Options
	pg   *embedded.Postgres
	url  string
	// immediate stops the server the way a crash would: no shutdown
	// checkpoint, crash recovery on the next start.
	immediate bool
}

// startPrivatePG starts a private cluster; with immediate, stop is an
// immediate shutdown.
func startPrivatePG(t *testing.T, logger *slog.Logger, immediate bool) *privatePG {
	t.Helper()
	// The cluster runs as the postgres user when the tests run as root: it
	// must be able to enter the data dir (t.TempDir's parent is 0700).
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	// An ephemeral cluster commits asynchronously: a crash-like stop could
	// lose commits already acknowledged, so it is only used with fast
	// shutdowns.
	p := &privatePG{t: t, immediate: immediate,
		opts: embedded.Options{DataDir: dir, DisableDocker: true, Ephemeral: !immediate, Logger: logger}}
	p.start()
	p.url = p.pg.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p.pg.Stop(ctx)
		if dir := p.pg.ClusterDir; strings.HasPrefix(dir, "/var/tmp/") {
			_ = os.RemoveAll(dir)
		}
	})
	return p
}

func (p *privatePG) start() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := embedded.ProvisionPostgres(ctx, p.opts)
	require.NoError(p.t, err, "local PostgreSQL server binaries are needed: run scripts/services.sh up postgres")
	require.Equal(p.t, embedded.SourceLocal, pg.Source)
	if p.url != "" {
		// The engine keeps its URL: the restarted server must answer there.
		require.Equal(p.t, p.url, pg.URL, "the cluster came back on another port")
	}
	p.pg = pg
}

// stop shuts the server down and returns once it is gone: a fast shutdown
// (sessions are terminated, open transactions rolled back), or an
// immediate one, which Stop performs when its context has already ended.
func (p *privatePG) stop() {
	p.t.Helper()
	if p.immediate {
		ended, cancel := context.WithCancel(context.Background())
		cancel()
		var ce *adapters.CodedError
		require.ErrorAs(p.t, p.pg.Stop(ended), &ce)
		require.Equal(p.t, embedded.CodePGStopFailed, ce.Code, "Stop reports the immediate shutdown")
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(p.t, p.pg.Stop(ctx))
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	conn, err := pgx.Connect(cctx, p.url)
	if err == nil {
		_ = conn.Close(cctx)
	}
	require.Error(p.t, err, "the database should be unreachable")
}

// engine is what the test drives: the orchestrator, its database and its
// lineage writer.
type engine struct {
	m       *orchestrator.Manager
	db      *store.DB
	lineage *store.LineageWriter
	reg     *adapters.Registry
}

// containerEngine assembles the engine exactly as `serve --embedded` does,
// on the given database.
func containerEngine(t *testing.T, dbURL string, reg *adapters.Registry, logger *slog.Logger) *engine {
	t.Helper()
	c, err := container.Start(context.Background(), container.Config{
		DataDir: t.TempDir(), DatabaseURL: dbURL, Registry: reg, Logger: logger, ShutdownTimeout: 20 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	require.NotNil(t, c.NATS, "embedded broker")
	require.NotNil(t, c.Lineage)
	return &engine{m: c.Manager, db: c.DB, lineage: c.Lineage, reg: c.Registry}
}

// handEngine assembles the same parts as the container (database, lease,
// lineage writer, embedded NATS, file storage, orchestrator) but with the
// given lineage writer options, which the container does not expose.
func handEngine(t *testing.T, dbURL string, reg *adapters.Registry, wo store.WriterOptions, logger *slog.Logger) *engine {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	stop := func(f func(context.Context) error) {
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			require.NoError(t, f(sctx))
		})
	}
	db, err := store.Open(ctx, dbURL, store.Options{})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	require.NoError(t, db.Migrate(ctx))
	inst, err := db.RegisterInstance(ctx)
	require.NoError(t, err)
	stop(inst.Close)
	wo.Logger = logger
	lw, err := store.NewLineageWriter(db, wo)
	require.NoError(t, err)
	stop(lw.Close)
	srv, err := natsq.StartServer(ctx, natsq.ServerOptions{StoreDir: filepath.Join(dir, "nats"), Logger: logger})
	require.NoError(t, err)
	stop(srv.Shutdown)
	q, err := natsq.New(ctx, natsq.Config{Server: srv, Logger: logger})
	require.NoError(t, err)
	stop(q.Close)
	st, err := fs.New(filepath.Join(dir, "storage"))
	require.NoError(t, err)
	m, err := orchestrator.New(orchestrator.Options{
		Registry: reg, Queue: q, Storage: st, Executions: db.Executions(), DeadLetters: db.DeadLetters(),
		Events: db.Events(), RouteStates: db.RouteStates(), StorageEvents: db.StorageEvents(), Lineage: lw,
		DataDir: dir, Logger: logger, DrainTimeout: 15 * time.Second, InstanceID: inst.ID,
	})
	require.NoError(t, err)
	require.NoError(t, m.LoadRouteStates(ctx))
	stop(m.Shutdown)
	return &engine{m: m, db: db, lineage: lw, reg: reg}
}

func (e *engine) start(t *testing.T) *orchestrator.Execution {
	t.Helper()
	p, report := pipeline.Load([]byte(outagePipeline), e.reg)
	require.True(t, report.Valid(), report.Findings)
	urls := make([]any, outageMessages)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://outage.test/%d", i)
	}
	ex, err := e.m.Start(context.Background(), orchestrator.StartRequest{
		Pipeline: p, ConfigName: t.Name(), YAML: outagePipeline, Payload: map[string]any{"urls": urls},
	})
	require.NoError(t, err)
	return ex
}

func completed(ex *orchestrator.Execution, route string) int64 {
	for _, r := range ex.Stats().Routes {
		if r.Route == route {
			return r.Completed
		}
	}
	return -1
}

// waitSink waits until the sink route completed n messages.
func waitSink(t *testing.T, ex *orchestrator.Execution, n int64, what string) {
	t.Helper()
	require.Eventually(t, func() bool { return completed(ex, "sink") >= n }, 60*time.Second, 10*time.Millisecond,
		"%s: sink completed %d of %d; stats %+v", what, completed(ex, "sink"), n, ex.Stats())
	require.Equal(t, n, completed(ex, "sink"), what)
}

func waitDone(t *testing.T, ex *orchestrator.Execution) {
	t.Helper()
	select {
	case <-ex.Done():
	case <-time.After(3 * time.Minute):
		t.Fatalf("execution %s still %s; stats %+v", ex.ID, ex.Status(), ex.Stats())
	}
}

func flush(t *testing.T, lw *store.LineageWriter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, lw.Flush(ctx))
}

// requireNothingLost checks, on a fresh connection, the lineage of ex row
// by row count and the final status the database holds.
func requireNothingLost(t *testing.T, dbURL string, e *engine, ex *orchestrator.Execution) {
	t.Helper()
	flush(t, e.lineage)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)

	rows, err := conn.Query(ctx, `SELECT route_id || '/' || adapter_name, count(*), count(DISTINCT correlation_id)
FROM lineage WHERE execution_id = $1 AND stage_status = 'completed' GROUP BY 1`, ex.ID)
	require.NoError(t, err)
	got := map[string]int{}
	for rows.Next() {
		var key string
		var n, distinct int
		require.NoError(t, rows.Scan(&key, &n, &distinct))
		require.Equal(t, n, distinct, "%s: one row per message", key)
		got[key] = n
	}
	require.NoError(t, rows.Err())
	require.Equal(t, expectedLineage, got, "lineage rows per route and adapter")
	var total int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM lineage WHERE execution_id = $1`, ex.ID).Scan(&total))
	require.Equal(t, expectedLineageRows, total, "no lineage row lost or doubled")

	var status string
	require.NoError(t, conn.QueryRow(ctx, `SELECT status FROM executions WHERE id = $1`, ex.ID).Scan(&status))
	require.Equal(t, string(store.StatusCompleted), status, "the final status reached the database")

	st := e.lineage.Stats()
	require.Zero(t, st.Dropped, "no lineage row dropped")
	require.Zero(t, st.Rejected)
	require.Zero(t, st.SpillPending, "the spill was replayed")
	require.False(t, st.Unavailable)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// outageLength is how long the database stays down once the engine has
// noticed: long enough for several failed write attempts with backoff.
const outageLength = 3 * time.Second

// The database stops while messages flow: processing goes on, lineage
// waits in the writer's buffer, and once the database is back every row
// arrives and the execution ends completed in the database.
func TestDatabaseOutageMidExecution(t *testing.T) {
	logger := testLogger(t)
	pg := startPrivatePG(t, logger, false)
	v := newValve()
	e := containerEngine(t, pg.url, v.registry(t), logger)
	ex := e.start(t)

	// Before: a third of the messages with the database up.
	v.let(outageMessages / 3)
	waitSink(t, ex, outageMessages/3, "before the outage")
	flush(t, e.lineage)
	writtenBefore := e.lineage.Stats().Written

	pg.stop()
	// During: the next third is processed with the database down.
	v.let(outageMessages / 3)
	waitSink(t, ex, 2*outageMessages/3, "during the outage")
	require.Eventually(t, func() bool { return e.lineage.Stats().Unavailable }, 30*time.Second, 10*time.Millisecond,
		"the lineage writer notices the outage")
	time.Sleep(outageLength)
	st := e.lineage.Stats()
	require.True(t, st.Unavailable, "still down")
	require.Equal(t, writtenBefore, st.Written, "nothing can be written while the database is down")
	require.Equal(t, outageMessages/3*rowsPerMessage, st.Buffered, "the outage's rows wait in memory")
	require.NotEmpty(t, st.LastError)
	require.Equal(t, store.StatusRunning, ex.Status())

	// After: the database is back and the rest flows.
	pg.start()
	v.let(outageMessages - 2*outageMessages/3)
	waitDone(t, ex)
	require.Equal(t, store.StatusCompleted, ex.Status())
	require.NoError(t, ex.Err())
	require.EqualValues(t, outageMessages, completed(ex, "work"))
	requireNothingLost(t, pg.url, e, ex)
}

// The database crashes (immediate shutdown) and the outage outlasts what
// the writer may hold in memory: rows move to the spill files and are
// replayed after it, none lost.
func TestDatabaseOutageBeyondTheLineageBuffer(t *testing.T) {
	logger := testLogger(t)
	pg := startPrivatePG(t, logger, true)
	v := newValve()
	wo := store.WriterOptions{
		BatchSize: 20, FlushInterval: 20 * time.Millisecond, BufferSize: 150, SpillAfter: 50,
		SpillDir: t.TempDir(), RetryMin: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond,
	}
	e := handEngine(t, pg.url, v.registry(t), wo, logger)
	ex := e.start(t)
	// Memory is bounded whether the database answers or not; beyond the
	// bound rows are dropped by design. Messages therefore pass in waves
	// that fit, each once the writer has emptied its memory (written or,
	// with the database down, moved to disk), so that nothing may be
	// dropped and every row must arrive.
	const wave = 10
	require.Less(t, wo.SpillAfter+wave*rowsPerMessage, wo.BufferSize)
	sent := 0
	inWaves := func(n int, phase string) {
		for end := sent + n; sent < end; sent += wave {
			require.Eventually(t, func() bool { return e.lineage.Stats().Buffered < wo.SpillAfter }, 30*time.Second,
				5*time.Millisecond, "%s: the writer empties its memory; stats %+v", phase, e.lineage.Stats())
			v.let(wave)
			waitSink(t, ex, int64(sent+wave), phase)
		}
	}

	inWaves(outageMessages/3, "before the outage")
	flush(t, e.lineage)
	require.Zero(t, e.lineage.Stats().Spilled, "no spill while the database answers")

	pg.stop()
	outageRows := outageMessages / 3 * rowsPerMessage
	require.Greater(t, outageRows, wo.BufferSize, "the outage produces more rows than memory may hold")
	inWaves(outageMessages/3, "during the outage")
	require.Eventually(t, func() bool { return e.lineage.Stats().Unavailable }, 30*time.Second, 10*time.Millisecond)
	time.Sleep(outageLength)
	require.Eventually(t, func() bool { return e.lineage.Stats().Buffered < wo.SpillAfter }, 30*time.Second, 5*time.Millisecond)
	st := e.lineage.Stats()
	require.Zero(t, st.Dropped)
	require.GreaterOrEqual(t, st.Spilled, int64(outageRows-wo.SpillAfter), "all but the last rows went to disk")
	require.Positive(t, st.SpillPending)

	pg.start()
	inWaves(outageMessages-2*outageMessages/3, "after the outage")
	waitDone(t, ex)
	require.Equal(t, store.StatusCompleted, ex.Status())
	requireNothingLost(t, pg.url, e, ex)
	left, err := filepath.Glob(filepath.Join(wo.SpillDir, "*.jsonl"))
	require.NoError(t, err)
	require.Empty(t, left, "replayed spill files are removed")
}

// The execution ends while the database is down: its final status cannot
// be written then, and must still be once the database is back.
func TestDatabaseOutageAtTheEndOfAnExecution(t *testing.T) {
	logger := testLogger(t)
	pg := startPrivatePG(t, logger, false)
	v := newValve()
	e := containerEngine(t, pg.url, v.registry(t), logger)
	ex := e.start(t)
	final, unsubscribe := e.m.Bus().Subscribe(16, false, func(ev store.ExecutionEvent) bool {
		return ev.ExecutionID == ex.ID && ev.Type == store.EventStatus && ev.Status.Terminal()
	})
	defer unsubscribe()

	const last = 10
	v.let(outageMessages - last)
	waitSink(t, ex, outageMessages-last, "before the outage")

	pg.stop()
	v.let(last)
	// The final status is announced whether or not it could be persisted:
	// here it could not, the database being down.
	select {
	case ev := <-final:
		require.Equal(t, store.StatusCompleted, ev.Status)
	case <-time.After(2 * time.Minute):
		t.Fatalf("no final status; stats %+v", ex.Stats())
	}
	require.True(t, e.lineage.Stats().Unavailable)

	pg.start()
	waitDone(t, ex)
	require.Equal(t, store.StatusCompleted, ex.Status())
	requireNothingLost(t, pg.url, e, ex)
}

// The outage outlasts memory and spill together: the writer then drops
// rows, by design, and counts every one. The pipeline still completes, and
// each row is either in the table or counted as dropped.
func TestDatabaseOutageBeyondTheSpillBound(t *testing.T) {
	logger := testLogger(t)
	pg := startPrivatePG(t, logger, false)
	v := newValve()
	wo := store.WriterOptions{
		BatchSize: 20, FlushInterval: 20 * time.Millisecond, BufferSize: 150, SpillAfter: 50,
		SpillDir: t.TempDir(), SpillMaxBytes: 16 << 10, RetryMin: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond,
	}
	e := handEngine(t, pg.url, v.registry(t), wo, logger)
	ex := e.start(t)

	v.let(outageMessages / 3)
	waitSink(t, ex, outageMessages/3, "before the outage")
	flush(t, e.lineage)
	before := e.lineage.Stats()

	pg.stop()
	v.let(outageMessages / 3)
	waitSink(t, ex, 2*outageMessages/3, "during the outage")
	require.Eventually(t, func() bool { return e.lineage.Stats().Unavailable }, 30*time.Second, 10*time.Millisecond)
	// Every row of the outage is held in memory, on disk or counted lost
	// (once the writer has settled: its counters are read one by one).
	outageRows := int64(outageMessages / 3 * rowsPerMessage)
	var st store.WriterStats
	require.Eventually(t, func() bool {
		st = e.lineage.Stats()
		return int64(st.Buffered)+st.SpillPending+st.Dropped-before.Dropped == outageRows
	}, 30*time.Second, 10*time.Millisecond, "rows of the outage accounted for; stats %+v", e.lineage.Stats())
	require.Greater(t, st.Dropped, before.Dropped, "memory and spill are full: rows are dropped")
	require.LessOrEqual(t, st.SpillBytes, wo.SpillMaxBytes, "the spill keeps its bound")
	require.LessOrEqual(t, st.Buffered, wo.BufferSize, "memory keeps its bound")
	require.Equal(t, before.Written, st.Written)

	pg.start()
	v.let(outageMessages - 2*outageMessages/3)
	waitDone(t, ex)
	require.Equal(t, store.StatusCompleted, ex.Status())
	flush(t, e.lineage)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var rows, distinct int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FROM lineage WHERE execution_id = $1`, ex.ID).
		Scan(&rows, &distinct))
	require.Equal(t, rows, distinct)
	st = e.lineage.Stats()
	require.Zero(t, st.Rejected)
	require.Zero(t, st.SpillPending)
	require.Equal(t, int64(expectedLineageRows), rows+st.Dropped, "every row is in the table or counted as dropped")
	require.Equal(t, rows, st.Written, "the writer's count agrees with the table")
	require.Greater(t, st.Written, before.Written)
	var status string
	require.NoError(t, conn.QueryRow(ctx, `SELECT status FROM executions WHERE id = $1`, ex.ID).Scan(&status))
	require.Equal(t, string(store.StatusCompleted), status)
}
