package orchestrator_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/store"
)

type repeatConfig struct {
	N int `json:"n" default:"1" doc:"copies to emit"`
}

type contendedConfig struct {
	Name   string `json:"name" required:"true" doc:"dependency whose calls are counted"`
	UnitMS int    `json:"unit_ms" default:"10" doc:"latency added per concurrent call"`
}

// contended is a dependency that slows down with load: a call takes
// unit × the number of calls in progress when it started.
type contended struct {
	mu      sync.Mutex
	inside  int
	history []int // concurrency seen by each call, in call order
}

var (
	contendedMu sync.Mutex
	contendeds  = map[string]*contended{}
)

func contendedFor(name string) *contended {
	contendedMu.Lock()
	defer contendedMu.Unlock()
	c, ok := contendeds[name]
	if !ok {
		c = &contended{}
		contendeds[name] = c
	}
	return c
}

func (c *contended) calls() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.history...)
}

func registerBackpressureAdapters(t *testing.T, e *env) {
	t.Helper()
	require.NoError(t, e.reg.Register(adapters.Define("test_repeat", "test", "emit n copies of the payload",
		func(cfg repeatConfig, _ adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
				out := make([]adapters.Payload, cfg.N)
				for i := range out {
					out[i] = adapters.Payload{"i": i}
				}
				return adapters.Emit(out...), nil
			}), nil
		})))
	require.NoError(t, e.reg.Register(adapters.Define("test_contended", "test", "a dependency slowing down with concurrent calls",
		func(cfg contendedConfig, _ adapters.Deps) (adapters.Adapter, error) {
			c := contendedFor(cfg.Name)
			return adapters.Func(func(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
				c.mu.Lock()
				c.inside++
				n := c.inside
				c.history = append(c.history, n)
				c.mu.Unlock()
				defer func() {
					c.mu.Lock()
					c.inside--
					c.mu.Unlock()
				}()
				timer := time.NewTimer(time.Duration(n*cfg.UnitMS) * time.Millisecond)
				defer timer.Stop()
				select {
				case <-timer.C:
					return adapters.Pass(in.Payload), nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}), nil
		})))
}

// TestBackpressureConvergesWithSlowAdapter drives a route whose dependency
// answers in 30ms × its concurrent calls against a target of 150ms: the
// latency meets the target up to 5 calls at once, so the controller,
// starting at 16, must bring the route down to about 5 and keep it there.
func TestBackpressureConvergesWithSlowAdapter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	registerBackpressureAdapters(t, e)
	name := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	const n = 240
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
routes:
  feed:
    inbound: { queue: t.feed }
    adapters: [ { type: test_repeat, config: { n: %d } } ]
    outbound: [ { queue: t.work } ]
  work:
    inbound: { queue: t.work, concurrency: 16 }
    backpressure: { target_latency: 150ms, max_concurrency: 16 }
    adapters: [ { type: test_contended, config: { name: %q, unit_ms: 30 } } ]
init_message: { route: feed, payload: {} }
`, n, name), nil)

	// The limit is sampled while the execution runs; the samples of the
	// second half of the messages show where the controller settled.
	var settled []int
	deadline := time.After(60 * time.Second)
sample:
	for {
		select {
		case <-ex.Done():
			break sample
		case <-deadline:
			break sample // wait reports the stuck execution
		case <-time.After(10 * time.Millisecond):
		}
		if st := routeStats(t, ex, "work"); st.Completed >= n/2 && st.Completed < n {
			settled = append(settled, st.ConcurrencyLimit)
		}
	}
	require.Equal(t, store.StatusCompleted, wait(t, ex))

	work := routeStats(t, ex, "work")
	require.EqualValues(t, n, work.Completed, "nothing lost")
	require.Zero(t, work.DeadLettered)
	require.Zero(t, ex.Stats().Outstanding)
	require.Zero(t, routeStats(t, ex, "feed").ConcurrencyLimit, "routes without backpressure report no limit")

	// The final value is one point of the oscillation around the target;
	// the median below is the settled band.
	require.GreaterOrEqual(t, work.ConcurrencyLimit, 1, "stats %+v", work)
	require.LessOrEqual(t, work.ConcurrencyLimit, 8, "stats %+v", work)
	require.Positive(t, work.LatencyMS)
	require.NotEmpty(t, settled)
	slices.Sort(settled)
	median := settled[len(settled)/2]
	require.GreaterOrEqual(t, median, 2, "limits after the warm-up: %v", settled)
	require.LessOrEqual(t, median, 8, "limits after the warm-up: %v", settled)

	calls := contendedFor(name).calls()
	require.Len(t, calls, n)
	peakEarly, peakLate := 0, 0
	for i, c := range calls {
		if i < n/2 {
			peakEarly = max(peakEarly, c)
		} else {
			peakLate = max(peakLate, c)
		}
	}
	t.Logf("final limit %d (median %d after the warm-up), latency %.1fms, peak concurrency %d during warm-up, %d after",
		work.ConcurrencyLimit, median, work.LatencyMS, peakEarly, peakLate)
	require.Equal(t, 16, peakEarly, "the route starts at its full concurrency")
	require.Less(t, peakLate, 16, "after the warm-up the controller holds the route below its concurrency")
	require.LessOrEqual(t, peakLate, 10, "and near the point where latency meets the target")
}

// holdingProvider passes everything to the broker but can hold publishes
// to one queue, counting the messages inside Publish at once.
type holdingProvider struct {
	queue.Provider
	queueName string

	hold     chan struct{} // closed: publishes go through
	holdOnce sync.Once
	mu       sync.Mutex
	inside   int
	max      int
	blocked  atomic.Int64 // publish calls waiting at the hold
}

func (h *holdingProvider) Publish(ctx context.Context, dst queue.Destination, msgs ...queue.Message) error {
	if dst.Queue != h.queueName {
		return h.Provider.Publish(ctx, dst, msgs...)
	}
	h.mu.Lock()
	h.inside += len(msgs)
	h.max = max(h.max, h.inside)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inside -= len(msgs)
		h.mu.Unlock()
	}()
	h.blocked.Add(1)
	select {
	case <-h.hold:
	case <-ctx.Done():
		h.blocked.Add(-1)
		return ctx.Err()
	}
	h.blocked.Add(-1)
	return h.Provider.Publish(ctx, dst, msgs...)
}

func (h *holdingProvider) release() { h.holdOnce.Do(func() { close(h.hold) }) }

func (h *holdingProvider) counts() (inside, most int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inside, h.max
}

// TestFanoutHighWaterMarkPausesIntake shows max_fanout_pending at work: a
// route fans every message out into 20 while the broker does not take the
// emitted messages. At most max_fanout_pending (5) of them are ever being
// published at once, the route's handlers wait for the fan-out buffer
// instead of taking new messages (intake stays at inbound.concurrency),
// and once the broker takes messages again everything completes.
func TestFanoutHighWaterMarkPausesIntake(t *testing.T) {
	t.Parallel()
	hp := &holdingProvider{queueName: "t.sink", hold: make(chan struct{})}
	e := newEnv(t, func(o *orchestrator.Options) {
		hp.Provider = o.Queue
		o.Queue = hp
	})
	registerBackpressureAdapters(t, e)
	t.Cleanup(hp.release) // runs before the manager shuts down

	const inputs, fan, split = 30, 20, 3
	ex := e.start(t, fmt.Sprintf(`
version: "1.0"
execution: { max_fanout_pending: 5 }
routes:
  feed:
    inbound: { queue: t.feed }
    adapters: [ { type: test_repeat, config: { n: %d } } ]
    outbound: [ { queue: t.split } ]
  split:
    inbound: { queue: t.split, concurrency: %d }
    adapters: [ { type: test_repeat, config: { n: %d } } ]
    outbound: [ { queue: t.sink } ]
  sink:
    inbound: { queue: t.sink, concurrency: 4 }
    adapters: [ { type: noop } ]
init_message: { route: feed, payload: {} }
`, inputs, split, fan), nil)

	// Every split handler is busy: one inside a held publish with the whole
	// buffer, the others waiting for the buffer.
	var last string
	ok := assert.Eventually(t, func() bool {
		inside, _ := hp.counts()
		st := routeStats(t, ex, "split")
		last = fmt.Sprintf("inside %d, blocked %d, stats %+v", inside, hp.blocked.Load(), ex.Stats())
		return inside == 5 && st.InFlight == split
	}, 60*time.Second, 5*time.Millisecond)
	require.True(t, ok, last)

	// While the buffer stays full the route takes nothing more: its input
	// waits on the broker. The buffer is the execution's, so the feed
	// route's own fan-out waits as well. (The pause is what is asserted;
	// the sleep only gives a broken bound the chance to show.)
	fed := routeStats(t, ex, "feed").Emitted
	for range 20 {
		time.Sleep(10 * time.Millisecond)
		st := routeStats(t, ex, "split")
		require.EqualValues(t, split, st.Received, "intake is paused while the fan-out buffer is full")
		require.Zero(t, st.Completed)
		require.Equal(t, fed, routeStats(t, ex, "feed").Emitted, "no publishing while the buffer is full")
		require.EqualValues(t, 1, hp.blocked.Load(), "one publish holds the whole buffer")
		inside, most := hp.counts()
		require.Equal(t, 5, inside)
		require.LessOrEqual(t, most, 5)
	}
	require.Less(t, fed, int64(inputs))

	hp.release()
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	_, most := hp.counts()
	require.Equal(t, 5, most, "the fan-out buffer bound is reached and never exceeded")
	require.EqualValues(t, inputs, routeStats(t, ex, "split").Completed)
	require.EqualValues(t, inputs*fan, routeStats(t, ex, "split").Emitted)
	require.EqualValues(t, inputs*fan, routeStats(t, ex, "sink").Completed)
	require.Zero(t, ex.Stats().Outstanding)
}
