package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/store"
)

// Breaker states as shown in stats, events and metrics.
const (
	BreakerClosed   = "closed"
	BreakerHalfOpen = "half-open"
	BreakerOpen     = "open"
)

// BreakerState is a snapshot of the circuit breaker of one adapter step of
// a route. The counts cover the current rolling window while closed and
// the trial requests while half-open; the breaker clears them whenever its
// state changes.
type BreakerState struct {
	Adapter   string `json:"adapter"`
	Stage     string `json:"stage"`
	Index     int    `json:"index"`
	State     string `json:"state" enum:"closed,half-open,open"`
	Requests  uint32 `json:"requests"`
	Successes uint32 `json:"successes"`
	Failures  uint32 `json:"failures"`
	Excluded  uint32 `json:"excluded" doc:"Calls cut short by the end of the execution, counted neither way"`
	// Deferred counts the messages the breaker sent back to the queue
	// since the execution started, over every open period.
	Deferred int64 `json:"deferred"`
}

// BreakerOpenError is what a step whose breaker is open (or half-open with
// every probe slot taken) returns instead of running its adapter.
type BreakerOpenError struct {
	Route   string
	Adapter string
	Index   int
	State   string
	// RetryIn is how long the message waits before it comes back.
	RetryIn time.Duration
}

func (e *BreakerOpenError) Error() string {
	return fmt.Sprintf("circuit breaker of route %s adapter %s (#%d) is %s; message deferred by %s",
		e.Route, e.Adapter, e.Index, e.State, e.RetryIn.Round(time.Millisecond))
}

// errRouteTimeout is the cause of a chain context ended by the route's
// timeout. It tells a slow dependency (a breaker failure) from a handler
// whose own context ended (the execution stopping: excluded).
var errRouteTimeout = errors.New("route timeout")

// minBreakerDelay keeps a breaker about to probe from spinning its
// deferred messages through the broker.
const minBreakerDelay = 100 * time.Millisecond

// breakerSet holds the breakers of one route processor, one per adapter
// step, built on first use. It lives with the route's counters so a stats
// snapshot can show their states.
type breakerSet struct {
	once  sync.Once
	steps []*stepBreaker // by step index; nil when the route has none; set under mu

	// pending transitions, noted under a breaker's lock and turned into
	// events outside it, one drainer at a time so they keep their order.
	mu       sync.Mutex
	pending  []breakerTransition
	draining bool
}

type breakerTransition struct {
	b        *stepBreaker
	from, to gobreaker.State
	counts   gobreaker.Counts
	at       time.Time
}

// stepBreaker is the breaker of one adapter step.
type stepBreaker struct {
	cb      *gobreaker.CircuitBreaker[*adapters.Result]
	step    *step
	openFor time.Duration

	openUntil atomic.Int64 // unix nanos; when the current open period ends
	deferred  atomic.Int64
	// tripCounts are the window counts that tripped the breaker, kept for
	// the open event (the breaker clears its counts as it opens). Written
	// and read under the breaker's own lock, in its callbacks.
	tripCounts gobreaker.Counts
}

// breakers returns the route's breakers, building them on first use.
func (rp *routeProcessor) breakers() []*stepBreaker {
	set := &rp.stats.breakers
	set.once.Do(func() {
		cfg := rp.route.CircuitBreaker
		if !cfg.Enabled {
			return
		}
		steps := make([]*stepBreaker, len(rp.steps))
		for i := range rp.steps {
			steps[i] = newStepBreaker(set, &rp.steps[i], cfg)
		}
		set.mu.Lock()
		set.steps = steps
		set.mu.Unlock()
	})
	return set.steps
}

func newStepBreaker(set *breakerSet, s *step, cfg pipeline.CircuitBreaker) *stepBreaker {
	b := &stepBreaker{step: s, openFor: cfg.OpenFor}
	window := cfg.Window
	if window <= 0 {
		window = time.Minute
	}
	minRequests := uint32(max(cfg.MinRequests, 1))
	ratio := cfg.FailureRatio
	b.cb = gobreaker.NewCircuitBreaker[*adapters.Result](gobreaker.Settings{
		Name:        s.name,
		MaxRequests: uint32(max(cfg.HalfOpenProbes, 1)),
		Interval:    window,
		// Ten buckets: failures leave the window a tenth of it at a time
		// instead of all at once at the end of a fixed interval.
		BucketPeriod: max(window/10, time.Millisecond),
		Timeout:      cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			// Finished, counted calls only: Requests also holds calls
			// still running and excluded ones.
			n := c.TotalSuccesses + c.TotalFailures
			if n < minRequests || float64(c.TotalFailures)/float64(n) < ratio {
				return false
			}
			b.tripCounts = c
			return true
		},
		// A permanent error or a skip is the message's fault, not the
		// dependency's: the adapter ran and answered. They count as
		// successes (rather than being excluded) so that a dependency
		// that answers with rejections keeps the failure ratio honest
		// and a half-open probe that meets a bad message still closes.
		IsSuccessful: func(err error) bool {
			switch adapters.Classify(err) {
			case adapters.ClassNone, adapters.ClassPermanent, adapters.ClassSkip:
				return true
			}
			return false
		},
		IsExcluded: func(err error) bool {
			var ie *interruptedCall
			return errors.As(err, &ie)
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			now := time.Now()
			if to == gobreaker.StateOpen {
				b.openUntil.Store(now.Add(b.openFor).UnixNano())
			}
			// Called under the breaker's lock: only note it here.
			set.mu.Lock()
			set.pending = append(set.pending, breakerTransition{b: b, from: from, to: to, counts: b.tripCounts, at: now})
			set.mu.Unlock()
			b.tripCounts = gobreaker.Counts{}
		},
	})
	return b
}

// interruptedCall marks an adapter error returned while the handler's own
// context had ended: the execution stopping says nothing about the
// dependency, so the breaker leaves such calls out of its counts.
type interruptedCall struct{ err error }

func (e *interruptedCall) Error() string { return e.err.Error() }
func (e *interruptedCall) Unwrap() error { return e.err }

// handlerDone reports whether the handler's context ended, given the chain
// context derived from it: a chain context ended by the route timeout is a
// failure of the step, not an interruption.
func handlerDone(chainCtx context.Context) bool {
	return chainCtx.Err() != nil && !errors.Is(context.Cause(chainCtx), errRouteTimeout)
}

// guarded runs one adapter call through its step's breaker. A rejected call
// returns a *BreakerOpenError without running.
func (rp *routeProcessor) guarded(ctx context.Context, s *step, call func() (*adapters.Result, error)) (*adapters.Result, error) {
	bs := rp.breakers()
	if bs == nil {
		return call()
	}
	b := bs[s.index]
	res, err := b.cb.Execute(func() (*adapters.Result, error) {
		res, err := call()
		if err != nil && handlerDone(ctx) {
			return res, &interruptedCall{err: err}
		}
		return res, err
	})
	rp.flushBreakerEvents()
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		b.deferred.Add(1)
		state := BreakerOpen
		if errors.Is(err, gobreaker.ErrTooManyRequests) {
			state = BreakerHalfOpen
		}
		return nil, &BreakerOpenError{Route: rp.route.ID, Adapter: s.typ, Index: s.index,
			State: state, RetryIn: b.retryIn(state, time.Now())}
	}
	if ie, ok := err.(*interruptedCall); ok {
		err = ie.err
	}
	return res, err
}

// retryIn is how long a rejected message waits: the rest of the open
// period, or while half-open (the probes are running) a quarter of
// open_for, between 100ms and 2s. Up to a fifth more is added at random so
// that the messages held back do not all return in the same instant.
func (b *stepBreaker) retryIn(state string, now time.Time) time.Duration {
	var d time.Duration
	if state == BreakerOpen {
		d = time.Duration(b.openUntil.Load() - now.UnixNano())
	} else {
		d = min(b.openFor/4, 2*time.Second)
	}
	d = max(min(d, b.openFor), minBreakerDelay)
	return d + rand.N(d/5+1)
}

// flushBreakerEvents turns noted transitions into timeline events and
// logs. Only one caller drains at a time; the others leave their
// transitions to it, so events keep the order in which they happened.
func (rp *routeProcessor) flushBreakerEvents() {
	set := &rp.stats.breakers
	set.mu.Lock()
	if set.draining || len(set.pending) == 0 {
		set.mu.Unlock()
		return
	}
	set.draining = true
	for len(set.pending) > 0 {
		batch := set.pending
		set.pending = nil
		set.mu.Unlock()
		for _, t := range batch {
			rp.breakerEvent(t)
		}
		set.mu.Lock()
	}
	set.draining = false
	set.mu.Unlock()
}

func (rp *routeProcessor) breakerEvent(t breakerTransition) {
	s := t.b.step
	from, to := t.from.String(), t.to.String()
	data := map[string]any{
		"adapter":       s.typ,
		"adapter_index": s.index,
		"stage":         s.name,
		"from":          from,
		"to":            to,
	}
	reason := fmt.Sprintf("circuit breaker of adapter %s (#%d) went from %s to %s", s.typ, s.index, from, to)
	if t.to == gobreaker.StateOpen {
		data["open_for_ms"] = t.b.openFor.Milliseconds()
		if t.from == gobreaker.StateClosed {
			data["requests"] = t.counts.TotalSuccesses + t.counts.TotalFailures
			data["failures"] = t.counts.TotalFailures
			reason = fmt.Sprintf("circuit breaker of adapter %s (#%d) opened: %d of %d calls failed in the window; messages wait %s",
				s.typ, s.index, t.counts.TotalFailures, t.counts.TotalSuccesses+t.counts.TotalFailures, t.b.openFor)
		} else {
			reason = fmt.Sprintf("circuit breaker of adapter %s (#%d) opened again: a probe failed; messages wait %s",
				s.typ, s.index, t.b.openFor)
		}
		rp.log.Warn("circuit breaker opened", "adapter", s.typ, "adapter_index", s.index,
			"from", from, "open_for", t.b.openFor)
	} else {
		rp.log.Info("circuit breaker state changed", "adapter", s.typ, "adapter_index", s.index,
			"from", from, "to", to)
	}
	rp.ex.recordEvent(store.ExecutionEvent{
		Type:      store.EventBreaker,
		Route:     rp.route.ID,
		Reason:    reason,
		Data:      data,
		CreatedAt: t.at.UTC(),
	})
}

// states snapshots the breakers (none when the route has none or no
// message reached it yet).
func (set *breakerSet) states() []BreakerState {
	// A snapshot does not build the breakers (that is the first message's
	// job), so it cannot rely on the once: it reads steps under set.mu.
	set.mu.Lock()
	steps := set.steps
	set.mu.Unlock()
	if steps == nil {
		return nil
	}
	out := make([]BreakerState, 0, len(steps))
	for _, b := range steps {
		c := b.cb.Counts()
		out = append(out, BreakerState{
			Adapter:   b.step.typ,
			Stage:     b.step.name,
			Index:     b.step.index,
			State:     b.cb.State().String(),
			Requests:  c.TotalSuccesses + c.TotalFailures + c.TotalExclusions,
			Successes: c.TotalSuccesses,
			Failures:  c.TotalFailures,
			Excluded:  c.TotalExclusions,
			Deferred:  b.deferred.Load(),
		})
	}
	return out
}
