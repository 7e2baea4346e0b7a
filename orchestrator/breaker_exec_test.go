package orchestrator_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/store"
)

// backend is a dependency a test switches between down and up. It records
// every call, so a test can tell what each message went through.
type backend struct {
	down atomic.Bool

	mu sync.Mutex
	// failed counts the failed calls of each message; final is the attempt
	// of the call that succeeded.
	failed map[string]int
	final  map[string]int
}

type backendConfig struct {
	Name string `json:"name" required:"true" doc:"backend to call"`
}

var (
	backendsMu sync.Mutex
	backends   = map[string]*backend{}
)

// newBackend registers the test_backend adapter on e's registry and
// returns a fresh backend with its name.
func newBackend(t *testing.T, e *env) (string, *backend) {
	t.Helper()
	name := fmt.Sprintf("%s-%d", t.Name(), gateSeq.Add(1))
	b := &backend{failed: map[string]int{}, final: map[string]int{}}
	backendsMu.Lock()
	backends[name] = b
	backendsMu.Unlock()
	if _, ok := e.reg.Lookup("test_backend"); !ok {
		require.NoError(t, e.reg.Register(adapters.Define("test_backend", "test", "call a switchable backend",
			func(cfg backendConfig, _ adapters.Deps) (adapters.Adapter, error) {
				backendsMu.Lock()
				b := backends[cfg.Name]
				backendsMu.Unlock()
				return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
					b.mu.Lock()
					defer b.mu.Unlock()
					if b.down.Load() {
						b.failed[in.Meta.CorrelationID]++
						return nil, errors.New("backend unavailable")
					}
					b.final[in.Meta.CorrelationID] = in.Meta.Attempt
					return adapters.Pass(in.Payload), nil
				}), nil
			})))
	}
	return name, b
}

func breakerEvents(t *testing.T, e *env, execID string) []store.ExecutionEvent {
	t.Helper()
	evs, err := e.db.Events().List(context.Background(), execID, "", 1000)
	require.NoError(t, err)
	var out []store.ExecutionEvent
	for _, ev := range evs {
		if ev.Type == store.EventBreaker {
			out = append(out, ev)
		}
	}
	return out
}

func breakerOf(t *testing.T, ex *orchestrator.Execution, route string) (orchestrator.BreakerState, bool) {
	t.Helper()
	bs := routeStats(t, ex, route).Breakers
	if len(bs) == 0 {
		return orchestrator.BreakerState{}, false
	}
	return bs[0], true
}

func TestBreakerDefersWhileOpenAndRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name, b := newBackend(t, e)
	b.down.Store(true)
	const n = 20
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.call } ]
  call:
    inbound: { queue: t.call, concurrency: 4 }
    error_handling: { max_retries: 1000, retry_delay: 20ms, backoff: fixed, jitter: 0 }
    circuit_breaker: { failure_ratio: 0.5, min_requests: 3, open_for: 200ms, half_open_probes: 1, window: 10s }
    adapters:
      - type: test_backend
        config: { name: %q }
init_message: { route: expand, payload: {} }
`, name), map[string]any{"urls": urls(n)})

	// The backend stays down until the breaker has held messages back.
	require.Eventually(t, func() bool {
		st, ok := breakerOf(t, ex, "call")
		return ok && st.Deferred >= n
	}, 30*time.Second, 10*time.Millisecond, "stats %+v", ex.Stats())
	st, _ := breakerOf(t, ex, "call")
	require.Equal(t, "test_backend", st.Adapter)
	require.Zero(t, routeStats(t, ex, "call").DeadLettered)
	b.down.Store(false)

	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.Empty(t, e.deadLetters(t, ex.ID), "deferred messages are never dead-lettered")
	rs := routeStats(t, ex, "call")
	require.EqualValues(t, n, rs.Completed)
	require.Len(t, rs.Breakers, 1)
	require.Equal(t, orchestrator.BreakerClosed, rs.Breakers[0].State)
	require.GreaterOrEqual(t, rs.Breakers[0].Deferred, int64(n))

	// Only failed calls burn attempts: each message succeeded on attempt
	// 1 + its failed calls, however often the breaker sent it back.
	b.mu.Lock()
	totalFailed := 0
	require.Len(t, b.final, n)
	for id, attempt := range b.final {
		require.Equal(t, b.failed[id]+1, attempt, "message %s", id)
		totalFailed += b.failed[id]
	}
	b.mu.Unlock()
	require.EqualValues(t, totalFailed, rs.Retried, "every failed call was retried, none dead-lettered")

	evs := breakerEvents(t, e, ex.ID)
	require.NotEmpty(t, evs)
	first, last := evs[0], evs[len(evs)-1]
	require.Equal(t, "call", first.Route)
	require.Equal(t, "closed", first.Data["from"])
	require.Equal(t, "open", first.Data["to"])
	require.Equal(t, "test_backend", first.Data["adapter"])
	require.Contains(t, first.Reason, "opened")
	require.Equal(t, "half-open", last.Data["from"])
	require.Equal(t, "closed", last.Data["to"])
}

func TestBreakerExcludesCancelledCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *orchestrator.Options) { o.DrainTimeout = 100 * time.Millisecond })
	name, g := newTestGate(t)
	const n = 6
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.hold } ]
  hold:
    inbound: { queue: t.hold, concurrency: %d }
    circuit_breaker: { failure_ratio: 0.1, min_requests: 1, open_for: 1m }
    adapters:
      - type: test_gate
        config: { name: %q }
init_message: { route: expand, payload: {} }
`, n, name), map[string]any{"urls": urls(n)})
	for range n {
		<-g.entered
	}
	// Every call ends with its context's error when the cancel cuts the
	// handlers short; none of them says anything about the dependency.
	require.NoError(t, e.m.Cancel(ex.ID))
	require.Equal(t, store.StatusCancelled, wait(t, ex))
	require.Eventually(t, func() bool {
		st, ok := breakerOf(t, ex, "hold")
		return ok && st.Excluded == n
	}, 30*time.Second, 10*time.Millisecond, "every cut-short call is left out: %+v", ex.Stats())
	st, _ := breakerOf(t, ex, "hold")
	require.Equal(t, orchestrator.BreakerClosed, st.State)
	require.Zero(t, st.Failures)
	require.Empty(t, breakerEvents(t, e, ex.ID))
}

func TestBreakerCountsRouteTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *orchestrator.Options) { o.DrainTimeout = 100 * time.Millisecond })
	name, _ := newTestGate(t)
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.slow } ]
  slow:
    inbound: { queue: t.slow, concurrency: 2 }
    timeout: 30ms
    error_handling: { max_retries: 1000, retry_delay: 10ms, backoff: fixed }
    circuit_breaker: { failure_ratio: 0.5, min_requests: 2, open_for: 1m }
    adapters:
      - type: test_gate
        config: { name: %q }
init_message: { route: expand, payload: {} }
`, name), map[string]any{"urls": urls(2)})
	require.Eventually(t, func() bool {
		st, ok := breakerOf(t, ex, "slow")
		return ok && st.State == orchestrator.BreakerOpen
	}, 30*time.Second, 10*time.Millisecond, "a route timeout is a failure of the step")
	require.Eventually(t, func() bool { return len(breakerEvents(t, e, ex.ID)) > 0 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, e.m.Cancel(ex.ID))
	require.Equal(t, store.StatusCancelled, wait(t, ex))
	evs := breakerEvents(t, e, ex.ID)
	require.Equal(t, "open", evs[0].Data["to"])
	require.Empty(t, e.deadLetters(t, ex.ID))
}

const nackYAML = `
version: "1.0"
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.check } ]
  check:
    inbound: { queue: t.check }
    error_handling: { nack_window: 5, nack_threshold: 3 }
    adapters:
      - type: fail
        config: { mode: field, field: poison, permanent: true, message: "poisoned input" }
init_message: { route: expand, payload: {} }
`

func poisoned(n int, poison func(i int) bool) []any {
	out := urls(n)
	for i := range out {
		out[i].(map[string]any)["poison"] = poison(i)
	}
	return out
}

func TestNackWindowExceededFailsTheExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, nackYAML, map[string]any{"urls": poisoned(10, func(int) bool { return true })})
	require.Equal(t, store.StatusFailed, wait(t, ex))
	var ee *orchestrator.ExecutionError
	require.ErrorAs(t, ex.Err(), &ee)
	require.Equal(t, "NACK_WINDOW_EXCEEDED", ee.Code)
	require.Equal(t, "check", ee.Route)
	require.Equal(t, "4 of the last 4 messages were dead-lettered", ee.Reason)
	require.NotEmpty(t, ee.Hint)

	rec, err := e.db.Executions().Get(context.Background(), ex.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusFailed, rec.Status)
	require.Equal(t, "NACK_WINDOW_EXCEEDED", rec.ErrorInfo["code"])
	require.GreaterOrEqual(t, len(e.deadLetters(t, ex.ID)), 4)
}

func TestNackWindowUnderThresholdCompletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Three poisoned of ten: never more than nack_threshold in any window.
	ex := e.start(t, nackYAML, map[string]any{"urls": poisoned(10, func(i int) bool { return i%4 == 0 })})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.Len(t, e.deadLetters(t, ex.ID), 3)
	require.EqualValues(t, 7, routeStats(t, ex, "check").Completed)
}
