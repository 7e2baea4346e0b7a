package orchestrator

import (
	"container/list"
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/factflow/factflow/pipeline"
)

// Tuning of the adaptive concurrency controller.
const (
	// limiterMinWindow is the fewest latency samples a decision rests on:
	// with fewer, one slow message would halve the route's concurrency.
	limiterMinWindow = 10
	// limiterDecrease is the multiplicative decrease applied when the
	// window's latency is over the target. 0.7 backs off fast enough to
	// relieve an overloaded dependency in a few windows without collapsing
	// to 1 on a single bad window.
	limiterDecrease = 0.7
	// limiterPercentile is the latency percentile compared with the target.
	limiterPercentile = 0.9
)

// aimdLimiter is a route's adaptive concurrency limit: a semaphore whose
// size L moves within [1, ceiling] by additive increase / multiplicative
// decrease on the observed latency of handled messages.
//
// Samples are grouped by epoch: every change of L starts a new epoch and
// only messages admitted within the current epoch count towards the next
// decision. Messages admitted under the old limit would otherwise report
// the latency of a concurrency that no longer exists and push L too far.
//
// A window decides once it holds max(L, limiterMinWindow) samples, that is
// about one round of L concurrent messages. Its 90th percentile is compared
// with the target: a percentile ignores the odd outlier (GC pause, one huge
// page) that an average would chase, yet follows the tail that callers
// wait on; and unlike an EWMA it carries nothing over from a previous
// limit.
type aimdLimiter struct {
	target  time.Duration
	ceiling int
	log     *slog.Logger

	mu      sync.Mutex
	limit   int
	inUse   int
	waiters list.List // of chan struct{}, first come first served
	epoch   uint64
	peak    int // most slots in use at once during the epoch
	samples []time.Duration
	latency time.Duration // the last window's percentile
}

// newRouteLimiter returns the limiter of route r, or nil when adaptive
// concurrency is off (no target latency).
func newRouteLimiter(r *pipeline.Route, log *slog.Logger) *aimdLimiter {
	bp := r.Backpressure
	if bp.TargetLatency <= 0 {
		return nil
	}
	ceiling := max(r.Inbound.Concurrency, 1)
	if bp.MaxConcurrency > 0 {
		// The provider never runs more than inbound.concurrency handlers,
		// so a limit above it could grow without ever being used.
		ceiling = min(ceiling, bp.MaxConcurrency)
	}
	// Starting at the ceiling keeps a healthy route exactly as fast as it
	// was without backpressure; the controller only narrows it once the
	// latency shows the route (or what it calls) is overloaded.
	return newAIMDLimiter(ceiling, ceiling, bp.TargetLatency, log)
}

func newAIMDLimiter(initial, ceiling int, target time.Duration, log *slog.Logger) *aimdLimiter {
	ceiling = max(ceiling, 1)
	if log == nil {
		log = slog.Default()
	}
	return &aimdLimiter{
		target:  target,
		ceiling: ceiling,
		log:     log,
		limit:   min(max(initial, 1), ceiling),
	}
}

// admission is one message's slot of a limiter. A nil admission (limiter
// off) does nothing.
type admission struct {
	l     *aimdLimiter
	epoch uint64
	start time.Time
}

// acquire waits for a slot. It returns ctx's error if ctx ends first, in
// which case no slot is held. A nil limiter admits at once.
func (l *aimdLimiter) acquire(ctx context.Context) (*admission, error) {
	if l == nil {
		return nil, nil
	}
	l.mu.Lock()
	if l.inUse < l.limit && l.waiters.Len() == 0 {
		a := l.grantLocked()
		l.mu.Unlock()
		return a, nil
	}
	if err := ctx.Err(); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	ready := make(chan *admission, 1)
	elem := l.waiters.PushBack(ready)
	l.mu.Unlock()

	select {
	case a := <-ready:
		return a, nil
	case <-ctx.Done():
		l.mu.Lock()
		select {
		case <-ready:
			// Granted while ctx ended: hand the slot on rather than leak it.
			l.releaseLocked()
		default:
			l.waiters.Remove(elem)
			// A waiter at the head may have been all that held others back.
			l.notifyLocked()
		}
		l.mu.Unlock()
		return nil, ctx.Err()
	}
}

// grantLocked takes a slot for the current epoch.
func (l *aimdLimiter) grantLocked() *admission {
	l.inUse++
	l.peak = max(l.peak, l.inUse)
	return &admission{l: l, epoch: l.epoch}
}

func (l *aimdLimiter) releaseLocked() {
	l.inUse--
	l.notifyLocked()
}

// notifyLocked grants slots to waiters, in order, while the limit allows.
// After a decrease inUse may exceed the limit; then nobody is admitted
// until enough running messages finished.
func (l *aimdLimiter) notifyLocked() {
	for l.inUse < l.limit {
		front := l.waiters.Front()
		if front == nil {
			return
		}
		l.waiters.Remove(front)
		front.Value.(chan *admission) <- l.grantLocked()
	}
}

// begin marks the start of the measured work: the time spent waiting for
// this slot and for the execution's handler permit is not the route's
// latency.
func (a *admission) begin() {
	if a != nil {
		a.start = time.Now()
	}
}

// end observes the message's latency (unless the work never began or was
// interrupted, which says nothing about the route's speed) and frees the
// slot.
func (a *admission) end(ctx context.Context) {
	if a == nil {
		return
	}
	var d time.Duration
	if !a.start.IsZero() && ctx.Err() == nil {
		d = max(time.Since(a.start), 1)
	}
	a.l.finish(a.epoch, d)
}

// finish records a sample (d > 0) of the given epoch and releases a slot.
func (l *aimdLimiter) finish(epoch uint64, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d > 0 && epoch == l.epoch {
		l.samples = append(l.samples, d)
		if len(l.samples) >= max(l.limit, limiterMinWindow) {
			l.decideLocked()
		}
	}
	l.releaseLocked()
}

// decideLocked closes the window: additive increase when the latency met
// the target and the limit was actually reached (a route fed slower than
// its limit learns nothing about a higher one), multiplicative decrease
// when it did not.
func (l *aimdLimiter) decideLocked() {
	slices.Sort(l.samples)
	idx := int(math.Ceil(limiterPercentile*float64(len(l.samples)))) - 1
	p := l.samples[min(max(idx, 0), len(l.samples)-1)]
	l.latency = p
	old := l.limit
	next := old
	switch {
	case p > l.target:
		next = max(int(float64(old)*limiterDecrease), 1)
	case l.peak >= old:
		next = min(old+1, l.ceiling)
	}
	l.samples = l.samples[:0]
	l.peak = l.inUse
	if next == old {
		// Same limit, fresh window: in-flight messages keep counting.
		return
	}
	l.limit = next
	l.epoch++
	l.log.Debug("route concurrency limit changed", "from", old, "to", next,
		"latency_p90", p.Round(time.Microsecond), "target_latency", l.target)
	// notifyLocked runs in the caller's release.
}

// state returns the current limit and the last window's latency.
func (l *aimdLimiter) state() (limit int, latency time.Duration) {
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.latency
}
