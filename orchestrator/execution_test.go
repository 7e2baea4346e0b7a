package orchestrator_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/store"
)

func urls(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"url": fmt.Sprintf("https://example.org/p/%d", i)}
	}
	return out
}

const fanOutYAML = `
version: "1.0"
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.work } ]
  work:
    inbound: { queue: t.work, concurrency: 8, prefetch: 16 }
    adapters: [ { type: noop } ]
    outbound: [ { queue: t.sink } ]
  sink:
    inbound: { queue: t.sink, concurrency: 4 }
    adapters: [ { type: noop } ]
init_message: { route: expand, payload: {} }
`

func TestFanOutCompletesExactly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 300
	ex := e.start(t, fanOutYAML, map[string]any{"urls": urls(n)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))

	require.EqualValues(t, 1, routeStats(t, ex, "expand").Completed)
	require.EqualValues(t, n, routeStats(t, ex, "expand").Emitted)
	require.EqualValues(t, n, routeStats(t, ex, "work").Completed)
	require.EqualValues(t, n, routeStats(t, ex, "sink").Completed)
	require.Zero(t, ex.Stats().Outstanding)

	counts := e.lineageCounts(t, ex.ID)
	require.Equal(t, map[string]int{
		"expand/url_expander/completed": 1,
		"work/noop/completed":           n,
		"sink/noop/completed":           n,
	}, counts)

	require.Equal(t, []store.ExecutionStatus{store.StatusPending, store.StatusRunning, store.StatusCompleted},
		e.statusTimeline(t, ex.ID))
	rec, err := e.db.Executions().Get(context.Background(), ex.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusCompleted, rec.Status)
	require.NotNil(t, rec.CompletedAt)
	require.Equal(t, ex.Stats().Routes[0].Route, "expand")

	// The execution's queues are gone once it is terminal.
	d, err := e.queue.Depth(context.Background(), queue.Destination{Execution: ex.ID, Queue: "t.work"})
	if err == nil {
		require.Zero(t, d.Pending+d.InFlight)
	}
}

func TestLineageLinksParentsAndChildren(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, fanOutYAML, map[string]any{"urls": urls(3)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	e.lineageCounts(t, ex.ID) // flush

	rec, err := e.db.Executions().Get(context.Background(), ex.ID)
	require.NoError(t, err)
	root, err := e.db.Lineage().ByCorrelation(context.Background(), rec.RootCorrelationID)
	require.NoError(t, err)
	require.Len(t, root, 1)
	require.Equal(t, "expand", root[0].RouteID)
	require.EqualValues(t, 3, root[0].Metadata["emitted"])

	page, err := e.db.Lineage().ByExecution(context.Background(), ex.ID, 100, 0)
	require.NoError(t, err)
	children := 0
	for _, row := range page.Items {
		if row.RouteID == "work" {
			require.Equal(t, rec.RootCorrelationID, row.ParentCorrelationID, "work messages descend from the init message")
			require.NotEmpty(t, row.Metadata["url"])
			children++
		}
	}
	require.Equal(t, 3, children)
}

func TestRetryThenSucceed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
routes:
  flaky:
    inbound: { queue: t.flaky }
    error_handling: { max_retries: 3, retry_delay: 10ms, backoff: fixed }
    adapters:
      - type: fail
        config: { mode: first_n, times: 2 }
init_message: { route: flaky, payload: {} }
`, nil)
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	st := routeStats(t, ex, "flaky")
	require.EqualValues(t, 2, st.Retried)
	require.EqualValues(t, 2, st.Failed)
	require.EqualValues(t, 1, st.Completed)
	require.Equal(t, map[string]int{"flaky/fail/failed": 2, "flaky/fail/completed": 1}, e.lineageCounts(t, ex.ID))
	require.Empty(t, e.deadLetters(t, ex.ID))
}

func TestExhaustedRetriesAreDeadLettered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
routes:
  seed:
    inbound: { queue: t.seed }
    adapters: [ { type: noop } ]
    outbound: [ { queue: t.broken } ]
  broken:
    inbound: { queue: t.broken }
    error_handling: { max_retries: 2, retry_delay: 5ms, backoff: exponential, max_delay: 20ms }
    adapters:
      - type: fail
        config: { mode: always, message: "backend down" }
init_message: { route: seed, payload: { doc: 1 } }
`, nil)
	// Dead letters are reported, not hidden: the execution still completes.
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	st := routeStats(t, ex, "broken")
	require.EqualValues(t, 1, st.DeadLettered)
	require.EqualValues(t, 2, st.Retried)

	dls := e.deadLetters(t, ex.ID)
	require.Len(t, dls, 1)
	dl := dls[0]
	require.Equal(t, "broken", dl.Route)
	require.Equal(t, "fail", dl.Adapter)
	require.Equal(t, 3, dl.Attempt, "1 attempt + 2 retries")
	require.Equal(t, "retryable", dl.ErrorClass)
	require.Contains(t, dl.Reason, "retries exhausted")
	require.Contains(t, dl.Reason, "backend down")
	require.JSONEq(t, `{"doc": 1}`, string(dl.Payload), "the original payload is kept")
	require.False(t, dl.FirstFailedAt.IsZero())
	require.True(t, !dl.FirstFailedAt.After(dl.CreatedAt))

	evs, err := e.db.Events().List(context.Background(), ex.ID, "", 100)
	require.NoError(t, err)
	var dlEvents int
	for _, ev := range evs {
		if ev.Type == store.EventDeadLetter {
			dlEvents++
			require.Equal(t, dl.ID, ev.Data["dead_letter_id"])
		}
	}
	require.Equal(t, 1, dlEvents)
}

func TestPermanentErrorSkipsRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
routes:
  seed:
    inbound: { queue: t.seed }
    adapters: [ { type: noop } ]
    outbound: [ { queue: t.bad } ]
  bad:
    inbound: { queue: t.bad }
    error_handling: { max_retries: 5, retry_delay: 10ms }
    adapters:
      - type: fail
        config: { mode: always, permanent: true }
init_message: { route: seed, payload: {} }
`, nil)
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	dls := e.deadLetters(t, ex.ID)
	require.Len(t, dls, 1)
	require.Equal(t, 1, dls[0].Attempt)
	require.Equal(t, "permanent", dls[0].ErrorClass)
	require.Zero(t, routeStats(t, ex, "bad").Retried)
}

func TestInitRouteFailureFailsExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
routes:
  seed:
    inbound: { queue: t.seed }
    adapters:
      - type: fail
        config: { mode: always, permanent: true, message: "no such folder" }
init_message: { route: seed, payload: {} }
`, nil)
	require.Equal(t, store.StatusFailed, wait(t, ex))
	var ee *orchestrator.ExecutionError
	require.ErrorAs(t, ex.Err(), &ee)
	require.Equal(t, "FAIL_INDUCED", ee.Code)
	require.Equal(t, "seed", ee.Route)

	rec, err := e.db.Executions().Get(context.Background(), ex.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusFailed, rec.Status)
	require.Equal(t, "FAIL_INDUCED", rec.ErrorInfo["code"])
	require.Len(t, e.deadLetters(t, ex.ID), 1, "the failing init message is kept as a dead letter")
}

func TestConditionsSkipAdaptersAndRouteOutputs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
routes:
  split:
    inbound: { queue: t.split }
    adapters:
      - type: url_expander
      - type: transform
        condition: { field: url, operator: matches, value: "/p/[0-4]$" }
        config: { set: { small: "true" } }
    outbound:
      - queue: t.small
        condition: { field: small, operator: exists }
      - queue: t.large
        condition: { any: [ { field: small, operator: not_exists }, { field: url, operator: equals, value: "https://example.org/p/0" } ] }
  small:
    inbound: { queue: t.small }
    adapters: [ { type: noop } ]
  large:
    inbound: { queue: t.large }
    adapters:
      - type: filter
        config: { condition: { field: url, operator: not_matches, value: "/p/9$" } }
init_message: { route: split, payload: {} }
`, map[string]any{"urls": urls(10)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.EqualValues(t, 5, routeStats(t, ex, "small").Completed)
	// p/5..p/9 plus p/0, which matches both outbound conditions.
	require.EqualValues(t, 6, routeStats(t, ex, "large").Completed)
	require.EqualValues(t, 11, routeStats(t, ex, "split").Emitted)
}

func TestMidChainFanOutRunsTheRestOfTheChainPerMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
routes:
  one:
    inbound: { queue: t.one }
    adapters:
      - type: url_expander
      - type: transform
        config: { set: { seen: "url + '#x'" } }
    outbound: [ { queue: t.two } ]
  two:
    inbound: { queue: t.two }
    adapters:
      - type: filter
        config: { condition: { field: seen, operator: matches, value: "#x$" } }
    outbound: [ { queue: t.three } ]
  three:
    inbound: { queue: t.three }
    adapters: [ { type: noop } ]
init_message: { route: one, payload: {} }
`, map[string]any{"urls": urls(4)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.EqualValues(t, 4, routeStats(t, ex, "two").Completed)
	require.EqualValues(t, 4, routeStats(t, ex, "three").Completed, "every expanded message went through transform")
	require.Equal(t, 4, e.lineageCounts(t, ex.ID)["one/transform/completed"])
}

func TestPayloadOverLimitIsDeadLetteredWithCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
execution: { max_payload_bytes: 1024 }
routes:
  grow:
    inbound: { queue: t.grow }
    adapters:
      - type: transform
        config: { set: { big: "repeat('x', 5000)" } }
    outbound: [ { queue: t.next } ]
  next:
    inbound: { queue: t.next }
    adapters: [ { type: noop } ]
init_message: { route: grow, payload: {} }
`, nil)
	require.Equal(t, store.StatusFailed, wait(t, ex), "the init route could not publish its output")
	var ee *orchestrator.ExecutionError
	require.ErrorAs(t, ex.Err(), &ee)
	require.Equal(t, "PAYLOAD_TOO_LARGE", ee.Code)
	dls := e.deadLetters(t, ex.ID)
	require.Len(t, dls, 1)
	require.Contains(t, dls[0].Reason, "limit is 1024")
}

func TestAdapterPanicIsDeadLetteredNotFatal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
routes:
  seed:
    inbound: { queue: t.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.boom } ]
  boom:
    inbound: { queue: t.boom }
    adapters: [ { type: test_panic } ]
init_message: { route: seed, payload: {} }
`, map[string]any{"urls": urls(2)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	dls := e.deadLetters(t, ex.ID)
	require.Len(t, dls, 2)
	require.Contains(t, dls[0].Reason, "ADAPTER_PANIC")
}

func TestRouteTimeoutCountsAsFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name, _ := newTestGate(t)
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
routes:
  seed:
    inbound: { queue: t.seed }
    adapters: [ { type: noop } ]
    outbound: [ { queue: t.slow } ]
  slow:
    inbound: { queue: t.slow }
    timeout: 50ms
    error_handling: { max_retries: 1, retry_delay: 5ms }
    adapters:
      - type: test_gate
        config: { name: %q }
init_message: { route: seed, payload: {} }
`, name), nil)
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	dls := e.deadLetters(t, ex.ID)
	require.Len(t, dls, 1)
	require.Equal(t, 2, dls[0].Attempt)
	require.Contains(t, dls[0].Reason, "deadline exceeded")
}

func TestRouteConcurrencyIsHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name, g := newTestGate(t)
	// The barrier opens only once 4 messages are inside at the same time:
	// the route must run 4 in parallel, and never more.
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.work } ]
  work:
    inbound: { queue: t.work, concurrency: 4, prefetch: 8 }
    adapters:
      - type: test_gate
        config: { name: %q, until: 4 }
init_message: { route: expand, payload: {} }
`, name), map[string]any{"urls": urls(40)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.Equal(t, 4, g.maxInside())
	require.EqualValues(t, 40, routeStats(t, ex, "work").Completed)
}

func TestMaxHandlersCapsTheExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name, g := newTestGate(t)
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
execution: { max_handlers: 3 }
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.a }, { queue: t.b } ]
  a:
    inbound: { queue: t.a, concurrency: 8 }
    adapters: [ { type: test_gate, config: { name: %[1]q } } ]
  b:
    inbound: { queue: t.b, concurrency: 8 }
    adapters: [ { type: test_gate, config: { name: %[1]q } } ]
init_message: { route: expand, payload: {} }
`, name), map[string]any{"urls": urls(10)})
	// The init handler is done once messages reach the gate; wait until
	// three are held, give the others every chance to enter, then release.
	for range 3 {
		<-g.entered
	}
	require.Never(t, func() bool { return g.maxInside() > 3 }, 300*time.Millisecond, 10*time.Millisecond)
	g.open()
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.Equal(t, 3, g.maxInside())
}

func TestFanOutLargerThanTheBufferIsPublishedInChunks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.start(t, `
version: "1.0"
execution: { max_fanout_pending: 7 }
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.sink } ]
  sink:
    inbound: { queue: t.sink, concurrency: 4 }
    adapters: [ { type: noop } ]
init_message: { route: expand, payload: {} }
`, map[string]any{"urls": urls(95)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.EqualValues(t, 95, routeStats(t, ex, "sink").Completed)
}

const gatedYAML = `
version: "1.0"
routes:
  seed:
    inbound: { queue: t.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.held } ]
  held:
    inbound: { queue: t.held, concurrency: 2 }
    adapters: [ { type: test_gate, config: { name: %q } } ]
init_message: { route: seed, payload: {} }
`

func TestCancelIsGracefulAndTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *orchestrator.Options) { o.DrainTimeout = 200 * time.Millisecond })
	name, g := newTestGate(t)
	ex := e.start(t, fmt.Sprintf(gatedYAML, name), map[string]any{"urls": urls(5)})
	<-g.entered
	require.NoError(t, e.m.Cancel(ex.ID))
	require.Equal(t, store.StatusCancelled, wait(t, ex))
	require.ErrorIs(t, e.m.Cancel(ex.ID), orchestrator.ErrNotFound, "a finished execution is no longer running")
	require.Equal(t, []store.ExecutionStatus{store.StatusPending, store.StatusRunning, store.StatusCancelling, store.StatusCancelled},
		e.statusTimeline(t, ex.ID))
	require.Empty(t, e.deadLetters(t, ex.ID), "cancelled work is never dead-lettered")
}

func TestShutdownInterruptsWithoutLosingMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *orchestrator.Options) { o.DrainTimeout = 200 * time.Millisecond })
	name, g := newTestGate(t)
	ex := e.start(t, fmt.Sprintf(gatedYAML, name), map[string]any{"urls": urls(5)})
	<-g.entered
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.m.Shutdown(ctx))
	require.Equal(t, store.StatusInterrupted, wait(t, ex))
	require.Empty(t, e.deadLetters(t, ex.ID), "interrupted work is never dead-lettered")

	// All five messages are still on the broker for the next start.
	require.Eventually(t, func() bool {
		d, err := e.queue.Depth(ctx, queue.Destination{Execution: ex.ID, Queue: "t.held"})
		return err == nil && d.Pending+d.InFlight == 5
	}, 10*time.Second, 50*time.Millisecond)

	_, err := e.m.Start(ctx, orchestrator.StartRequest{Pipeline: load(t, e.reg, fmt.Sprintf(gatedYAML, name))})
	require.ErrorIs(t, err, orchestrator.ErrShuttingDown)
}

func TestPauseAndResumeARouteKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	yaml := `
version: "1.0"
routes:
  seed:
    inbound: { queue: t.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: t.later } ]
  ` + "pause_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_") + `:
    inbound: { queue: t.later }
    adapters: [ { type: noop } ]
init_message: { route: seed, payload: {} }
`
	key := "pause_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_")
	require.NoError(t, e.m.SetRoutePaused(ctx, key, true))
	ex := e.start(t, yaml, map[string]any{"urls": urls(6)})

	// The seed route runs; the paused route holds its messages.
	require.Eventually(t, func() bool { return routeStats(t, ex, "seed").Completed == 1 }, 10*time.Second, 20*time.Millisecond)
	require.Never(t, func() bool { return routeStats(t, ex, key).Received > 0 }, 300*time.Millisecond, 20*time.Millisecond)
	require.True(t, routeStats(t, ex, key).Paused)
	require.Equal(t, 6, ex.Stats().Outstanding)
	require.Equal(t, store.StatusRunning, ex.Status())

	// The state is persisted: a manager started later sees it.
	state, err := e.db.RouteStates().Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, store.RoutePaused, state.State)

	// Resume with a request-scoped context that ends at once: the
	// subscription must outlive it.
	rctx, cancel := context.WithCancel(ctx)
	require.NoError(t, e.m.SetRoutePaused(rctx, key, false))
	cancel()
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.EqualValues(t, 6, routeStats(t, ex, key).Completed)
}

func TestMaxConcurrentExecutions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *orchestrator.Options) { o.MaxConcurrentExecutions = 1 })
	name, g := newTestGate(t)
	ex := e.start(t, fmt.Sprintf(gatedYAML, name), map[string]any{"urls": urls(1)})
	<-g.entered
	_, err := e.m.Start(context.Background(), orchestrator.StartRequest{Pipeline: load(t, e.reg, fanOutYAML)})
	require.ErrorIs(t, err, orchestrator.ErrTooManyExecutions)
	g.open()
	require.Equal(t, store.StatusCompleted, wait(t, ex))
}

func TestNotRunnableRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.m.Start(context.Background(), orchestrator.StartRequest{})
	require.ErrorIs(t, err, orchestrator.ErrNotRunnable)
	p := load(t, e.reg, `
version: "1.0"
routes:
  only:
    inbound: { queue: t.only }
    adapters: [ { type: noop } ]
`)
	_, err = e.m.Start(context.Background(), orchestrator.StartRequest{Pipeline: p})
	require.ErrorIs(t, err, orchestrator.ErrNotRunnable, "no init message")
}

func TestEventsOnTheBus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events, stop := e.m.Bus().Subscribe(10000, true, nil)
	defer stop()
	ex := e.start(t, fanOutYAML, map[string]any{"urls": urls(5)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))

	var stages int
	timeout := time.After(5 * time.Second)
	for done := false; !done; {
		select {
		case ev := <-events:
			if ev.ExecutionID != ex.ID {
				continue
			}
			switch ev.Type {
			case store.EventStage:
				stages++
				require.NotEmpty(t, ev.Data["correlation_id"])
			case store.EventStatus:
				done = ev.Status == store.StatusCompleted
			}
		case <-timeout:
			t.Fatal("no completed status event on the bus")
		}
	}
	// initiated + completed for 1 expand + 5 work + 5 sink invocations.
	require.Equal(t, 22, stages)
}
