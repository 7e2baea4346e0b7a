package orchestrator_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	natsq "github.com/factflow/factflow/queue/nats"
	"github.com/factflow/factflow/storage/fs"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// One embedded NATS server serves the whole package; executions are
// isolated by their own streams.
var natsServer *natsq.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orchestrator-nats-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	natsServer, err = natsq.StartServer(context.Background(), natsq.ServerOptions{StoreDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = natsServer.Shutdown(ctx)
	cancel()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent(),
			// The lineage writers and pools of parallel tests are closed in
			// their cleanups; what remains here belongs to the runtime.
			goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// env is a manager wired to real infrastructure.
type env struct {
	m       *orchestrator.Manager
	db      *store.DB
	lineage *store.LineageWriter
	reg     *adapters.Registry
	queue   *natsq.Provider
	dir     string
}

type envOption func(*orchestrator.Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvOn(t, storetest.NewDB(t), opts...)
}

// newEnvOn is newEnv on a given database, so that two managers (two
// processes, one after the other) can share it.
func newEnvOn(t *testing.T, db *store.DB, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	q, err := natsq.New(ctx, natsq.Config{Server: natsServer})
	require.NoError(t, err)
	dir := t.TempDir()
	st, err := fs.New(dir, fs.WithSync(false))
	require.NoError(t, err)
	lw, err := store.NewLineageWriter(db, store.WriterOptions{FlushInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	reg := builtin.Registry()
	registerTestAdapters(t, reg)
	o := orchestrator.Options{
		Registry:     reg,
		Queue:        q,
		Storage:      st,
		Executions:   db.Executions(),
		DeadLetters:  db.DeadLetters(),
		Events:       db.Events(),
		Lineage:      lw,
		RouteStates:  db.RouteStates(),
		DrainTimeout: 2 * time.Second,
		DataDir:      dir,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, f := range opts {
		f(&o)
	}
	m, err := orchestrator.New(o)
	require.NoError(t, err)
	require.NoError(t, m.LoadRouteStates(ctx))
	e := &env{m: m, db: db, lineage: lw, reg: reg, queue: q, dir: dir}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, m.Shutdown(ctx))
		require.NoError(t, lw.Close(ctx))
		require.NoError(t, q.Close(ctx))
	})
	return e
}

func load(t *testing.T, reg *adapters.Registry, yaml string) *pipeline.Pipeline {
	t.Helper()
	p, report := pipeline.Load([]byte(yaml), reg)
	require.True(t, report.Valid(), "pipeline invalid: %v", report.Findings)
	return p
}

func (e *env) start(t *testing.T, yaml string, payload map[string]any) *orchestrator.Execution {
	t.Helper()
	ex, err := e.m.Start(context.Background(), orchestrator.StartRequest{
		Pipeline: load(t, e.reg, yaml), ConfigName: t.Name(), YAML: yaml, Payload: payload,
	})
	require.NoError(t, err)
	return ex
}

// wait blocks until ex is done and returns its final status.
func wait(t *testing.T, ex *orchestrator.Execution) store.ExecutionStatus {
	t.Helper()
	select {
	case <-ex.Done():
		return ex.Status()
	case <-time.After(60 * time.Second):
		t.Fatalf("execution %s still %s after 60s; stats %+v", ex.ID, ex.Status(), ex.Stats())
		return ""
	}
}

func routeStats(t *testing.T, ex *orchestrator.Execution, route string) orchestrator.RouteStats {
	t.Helper()
	for _, r := range ex.Stats().Routes {
		if r.Route == route {
			return r
		}
	}
	t.Fatalf("no route %s in stats", route)
	return orchestrator.RouteStats{}
}

// lineageCounts flushes the writer and counts rows per (route, adapter,
// stage status).
func (e *env) lineageCounts(t *testing.T, execID string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.lineage.Flush(ctx))
	rows, err := e.db.Pool().Query(ctx,
		`SELECT route_id, adapter_name, stage_status, count(*) FROM lineage WHERE execution_id = $1 GROUP BY 1, 2, 3`, execID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var route, adapter, status string
		var n int
		require.NoError(t, rows.Scan(&route, &adapter, &status, &n))
		out[route+"/"+adapter+"/"+status] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func (e *env) deadLetters(t *testing.T, execID string) []store.DeadLetter {
	t.Helper()
	page, err := e.db.DeadLetters().List(context.Background(), store.DeadLetterFilter{ExecutionID: execID,
		State: store.DeadLetterAll, Limit: 1000})
	require.NoError(t, err)
	return page.Items
}

func (e *env) statusTimeline(t *testing.T, execID string) []store.ExecutionStatus {
	t.Helper()
	evs, err := e.db.Events().List(context.Background(), execID, "", 1000)
	require.NoError(t, err)
	var out []store.ExecutionStatus
	for _, ev := range evs {
		if ev.Type == store.EventStatus && ev.Route == "" {
			out = append(out, ev.Status)
		}
	}
	return out
}

// Test adapters: our own code driving the engine into the states under test.

// gate lets each test hold messages inside an adapter and observe how many
// run at once.
type gate struct {
	mu       sync.Mutex
	inside   int
	max      int
	entered  chan struct{}
	release  chan struct{}
	released atomic.Bool
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 10000), release: make(chan struct{})}
}

func (g *gate) open() {
	if g.released.CompareAndSwap(false, true) {
		close(g.release)
	}
}

func (g *gate) maxInside() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

var (
	gatesMu sync.Mutex
	gates   = map[string]*gate{}
)

// newTestGate returns a fresh gate and its name (unique even when a test
// runs several times).
func newTestGate(t *testing.T) (string, *gate) {
	name := fmt.Sprintf("%s-%d", t.Name(), gateSeq.Add(1))
	return name, gateFor(name)
}

var gateSeq atomic.Int64

// gateFor returns the gate named by a test (gate adapter config `name`).
func gateFor(name string) *gate {
	gatesMu.Lock()
	defer gatesMu.Unlock()
	g, ok := gates[name]
	if !ok {
		g = newGate()
		gates[name] = g
	}
	return g
}

type gateConfig struct {
	Name string `json:"name" required:"true" doc:"gate to wait at"`
	// Until, when > 0, releases everyone once that many are inside at once
	// (a barrier proving parallelism without timing).
	Until int `json:"until" default:"0"`
}

type panicConfig struct{}

type switchConfig struct {
	Name string `json:"name" required:"true" doc:"switch to read"`
}

var switches sync.Map // name → *atomic.Bool

// switchFor returns the switch named by a test (test_switch config `name`).
func switchFor(name string) *atomic.Bool {
	v, _ := switches.LoadOrStore(name, new(atomic.Bool))
	return v.(*atomic.Bool)
}

func registerTestAdapters(t *testing.T, reg *adapters.Registry) {
	t.Helper()
	require.NoError(t, reg.Register(adapters.Define("test_gate", "test", "hold messages at a named gate",
		func(cfg gateConfig, _ adapters.Deps) (adapters.Adapter, error) {
			g := gateFor(cfg.Name)
			return adapters.Func(func(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
				g.mu.Lock()
				g.inside++
				if g.inside > g.max {
					g.max = g.inside
				}
				if cfg.Until > 0 && g.inside >= cfg.Until {
					g.open()
				}
				g.mu.Unlock()
				defer func() {
					g.mu.Lock()
					g.inside--
					g.mu.Unlock()
				}()
				g.entered <- struct{}{}
				select {
				case <-g.release:
					return adapters.Pass(in.Payload), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}), nil
		})))
	require.NoError(t, reg.Register(adapters.Define("test_switch", "test", "fail permanently while a named switch is on",
		func(cfg switchConfig, _ adapters.Deps) (adapters.Adapter, error) {
			sw := switchFor(cfg.Name)
			return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
				if sw.Load() {
					return nil, adapters.PermanentCoded("TEST_SWITCH_ON", "turn the switch off", fmt.Errorf("switch %s is on", cfg.Name))
				}
				return adapters.Pass(in.Payload), nil
			}), nil
		})))
	require.NoError(t, reg.Register(adapters.Define("test_panic", "test", "panic",
		func(panicConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(func(context.Context, *adapters.Input) (*adapters.Result, error) {
				panic("adapter bug")
			}), nil
		})))
}
