package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/store"
)

// Execution is one running pipeline. Its orchestrator goroutine subscribes
// every route, seeds the execution, waits for completion, failure,
// cancellation or shutdown, and records the outcome.
type Execution struct {
	ID         string
	ConfigID   string
	ConfigName string
	Tag        string

	m        *Manager
	pipeline *pipeline.Pipeline
	ledger   Ledger
	routes   []*routeProcessor // in pipeline order
	byKey    map[string]*routeProcessor
	handlers *semaphore.Weighted
	fanout   *semaphore.Weighted
	rootID   string
	log      *slog.Logger

	// workCtx is the parent of every handler context; its cancel cause
	// tells a cancelled or interrupted message from a failed one.
	workCtx    context.Context
	cancelWork context.CancelCauseFunc

	status    atomic.Value // store.ExecutionStatus
	startedAt time.Time
	// eventMu serialises the timeline: an event's UUIDv7 is drawn, the event
	// persisted and published under it, so ids, commits and bus order agree
	// and a stream resuming after an id misses nothing.
	eventMu   sync.Mutex
	artefacts atomic.Int64

	stopOnce  sync.Once
	stopCh    chan struct{} // closed by cancel, shutdown or failure
	stopMu    sync.Mutex
	stopCause error // errCancelled, errShutdown or an *ExecutionError

	done   chan struct{}
	result error

	// seeded is closed once the first messages were published (or
	// publishing them failed); the seed counts are final then.
	seeded                      chan struct{}
	seedPublished, seedRejected atomic.Int64
	seedFailure                 error // set before seeded closes

	// restored: resumed after a restart, its ledger rebuilt from the
	// broker; lastActivity (Unix ns) is when a delivery was last handled.
	restored     bool
	lastActivity atomic.Int64

	// stopProgress ends the progress reporter and waits for it; set by run.
	stopProgress func()
}

// SeedCounts tells how many seed messages (init or replay) were published
// and how many were rejected (too large to publish); it blocks until
// seeding is over or ctx ends.
func (ex *Execution) SeedCounts(ctx context.Context) (published, rejected int, err error) {
	select {
	case <-ex.seeded:
		return int(ex.seedPublished.Load()), int(ex.seedRejected.Load()), nil
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
}

// seedErr is why seeding failed (nil when it did not); valid once
// SeedCounts returned.
func (ex *Execution) seedErr() error { return ex.seedFailure }

// Status is the execution's current status.
func (ex *Execution) Status() store.ExecutionStatus {
	s, _ := ex.status.Load().(store.ExecutionStatus)
	return s
}

// Done is closed when the execution reached its final state for this
// process (terminal, or interrupted by shutdown).
func (ex *Execution) Done() <-chan struct{} { return ex.done }

// Err is why the execution did not complete (nil when it completed). Valid
// after Done.
func (ex *Execution) Err() error { return ex.result }

// Pipeline returns the frozen pipeline the execution runs.
func (ex *Execution) Pipeline() *pipeline.Pipeline { return ex.pipeline }

// Stats snapshots the execution's counters.
func (ex *Execution) Stats() Stats {
	st := Stats{
		ExecutionID: ex.ID,
		Status:      string(ex.Status()),
		Outstanding: ex.ledger.Outstanding(),
		Artefacts:   ex.artefacts.Load(),
		Elapsed:     time.Since(ex.startedAt),
	}
	for _, rp := range ex.routes {
		rs := rp.stats.snapshot(rp.route.ID)
		rs.Paused = rp.isPaused()
		st.Routes = append(st.Routes, rs)
	}
	return st
}

// fail ends the execution as failed (first failure wins).
func (ex *Execution) fail(err *ExecutionError) { ex.stop(err) }

func (ex *Execution) stop(cause error) {
	ex.stopOnce.Do(func() {
		ex.stopMu.Lock()
		ex.stopCause = cause
		ex.stopMu.Unlock()
		close(ex.stopCh)
	})
}

func (ex *Execution) cause() error {
	ex.stopMu.Lock()
	defer ex.stopMu.Unlock()
	return ex.stopCause
}

// publish counts msgs in the ledger, then publishes them to q. The fan-out
// semaphore bounds how many emitted messages wait on the broker at once.
func (ex *Execution) publish(ctx context.Context, q string, msgs []queue.Message) error {
	n := int64(len(msgs))
	if err := ex.fanout.Acquire(ctx, n); err != nil {
		return err
	}
	defer ex.fanout.Release(n)
	ids := make([]string, len(msgs))
	for i, msg := range msgs {
		ids[i] = msg.ID
	}
	ex.ledger.Add(ids...)
	if err := ex.m.opts.Queue.Publish(ctx, queue.Destination{Execution: ex.ID, Queue: q}, msgs...); err != nil {
		ex.ledger.Cancel(ids...)
		return fmt.Errorf("publishing %d messages to %s: %w", len(msgs), q, err)
	}
	return nil
}

// recordEvent persists a timeline event, then publishes it on the bus.
func (ex *Execution) recordEvent(ev store.ExecutionEvent) {
	ex.eventMu.Lock()
	defer ex.eventMu.Unlock()
	if ev.ID == "" {
		ev.ID = newID()
	}
	ev.ExecutionID = ex.ID
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = time.Now().UTC()
	}
	if ex.m.opts.Events != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := ex.m.opts.Events.Append(ctx, ev); err != nil {
			ex.log.Warn("cannot persist execution event", "type", ev.Type, "error", err)
		}
		cancel()
	}
	ex.m.bus.Publish(ev)
}

// setStatus persists a status transition (with its timeline event) and
// announces it on the bus. When it cannot be persisted, the transition is
// announced anyway and the error returned.
func (ex *Execution) setStatus(status store.ExecutionStatus, reason string, errInfo map[string]any) error {
	ex.eventMu.Lock()
	defer ex.eventMu.Unlock()
	ex.status.Store(status)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	change, err := ex.m.opts.Executions.SetStatus(ctx, ex.ID, status, reason, errInfo)
	if err != nil {
		ex.log.Error("cannot persist execution status", "status", status, "error", err)
		ev := store.ExecutionEvent{ID: newID(), ExecutionID: ex.ID, Type: store.EventStatus,
			Status: status, Reason: reason, CreatedAt: time.Now().UTC()}
		if errInfo != nil {
			ev.Data = map[string]any{"error": errInfo}
		}
		ex.m.bus.Publish(ev)
		return err
	}
	ex.m.bus.Publish(change.Event)
	return nil
}

// Bounds of persistFinalStatus's retries.
const (
	finalStatusRetryWindow = 2 * time.Minute
	finalStatusRetryMin    = 200 * time.Millisecond
	finalStatusRetryMax    = 5 * time.Second
)

// persistFinalStatus retries writing a final status that setStatus could
// not persist (the database was down when the execution ended). Without it
// the record would say running until the next start, although every
// message was processed and the lineage, buffered by its writer, arrives
// after the outage. Watchers already saw the status on the bus, so a late
// success is not announced again. Retries stop after
// finalStatusRetryWindow, on an error retrying cannot fix, or once the
// manager shuts down (the next start marks the execution interrupted).
func (ex *Execution) persistFinalStatus(status store.ExecutionStatus, reason string, errInfo map[string]any, err error) {
	deadline := time.Now().Add(finalStatusRetryWindow)
	backoff := finalStatusRetryMin
	for attempt := 2; ; attempt++ {
		var te *store.TransitionError
		switch {
		case errors.As(err, &te) && te.From == status:
			// An earlier attempt committed; only its answer was lost.
			ex.log.Info("execution status persisted after retrying", "status", status, "attempts", attempt-1)
			return
		case errors.As(err, &te) && te.From == store.StatusRunning && status == store.StatusCancelled:
			// The cancelling step was lost as well: write it first, as
			// the state machine wants.
			err = ex.writeStatus(store.StatusCancelling, "cancel requested", nil)
			if err == nil {
				continue
			}
		case errors.Is(err, store.ErrIllegalTransition), errors.Is(err, store.ErrNotFound),
			errors.Is(err, store.ErrInvalidArgument):
			ex.log.Error("execution status not persisted", "status", status, "error", err)
			return
		}
		ex.m.mu.Lock()
		stopping := ex.m.stopping
		ex.m.mu.Unlock()
		if stopping || time.Now().After(deadline) {
			ex.log.Error("execution status not persisted; giving up", "status", status, "attempts", attempt-1,
				"error", err, "hint", "the database was unreachable; the next start marks the execution interrupted")
			return
		}
		// No context to honour here: the wait is short and the loop
		// checks for a shutdown after it.
		time.Sleep(backoff/2 + rand.N(backoff/2))
		backoff = min(backoff*2, finalStatusRetryMax)
		if err = ex.writeStatus(status, reason, errInfo); err == nil {
			ex.log.Info("execution status persisted after retrying", "status", status, "attempts", attempt)
			return
		}
	}
}

// writeStatus persists a transition without announcing it.
func (ex *Execution) writeStatus(status store.ExecutionStatus, reason string, errInfo map[string]any) error {
	ex.eventMu.Lock()
	defer ex.eventMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := ex.m.opts.Executions.SetStatus(ctx, ex.ID, status, reason, errInfo)
	return err
}

// run drives the execution until its end. seed publishes the first
// messages (nil when the ledger was restored from the broker).
func (ex *Execution) run(seed func(ctx context.Context) error) {
	defer close(ex.done)
	defer ex.m.forget(ex)

	progressDone, progressExited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(progressExited)
		ex.reportProgress(progressDone)
	}()
	// Stopped before the final status is recorded, so no progress event
	// follows the terminal one in the timeline.
	ex.stopProgress = sync.OnceFunc(func() {
		close(progressDone)
		<-progressExited
	})
	defer ex.stopProgress()

	seededOnce := sync.OnceFunc(func() { close(ex.seeded) })
	defer seededOnce()

	// Every route listens before anything is published, so no message can
	// arrive at a queue nobody consumes yet.
	for _, rp := range ex.routes {
		if err := rp.start(ex.workCtx); err != nil {
			ex.seedFailure = fmt.Errorf("nothing was published: %w", err)
			seededOnce()
			ex.finish(store.StatusFailed, &ExecutionError{Code: "ROUTE_SUBSCRIBE_FAILED", Route: rp.route.ID,
				Reason: err.Error(), Hint: "check the queue provider's health"})
			return
		}
	}
	if seed != nil {
		if err := seed(ex.workCtx); err != nil {
			ex.seedFailure = err
			seededOnce()
			ex.finish(store.StatusFailed, &ExecutionError{Code: "SEED_FAILED",
				Reason: err.Error(), Hint: "check the queue provider's health"})
			return
		}
	}
	ex.ledger.Seed()
	seededOnce()
	if ex.restored {
		go ex.reconcile()
	}

	select {
	case <-ex.ledger.Drained():
	case <-ex.stopCh:
	}
	select {
	case <-ex.stopCh:
		// A failure, cancel or shutdown that raced with the last settle
		// wins over completion.
		switch cause := ex.cause(); {
		case errors.Is(cause, errCancelled):
			ex.finish(store.StatusCancelled, nil)
		case errors.Is(cause, errShutdown), errors.Is(cause, errTakenOver):
			ex.finish(store.StatusInterrupted, nil)
		default:
			var ee *ExecutionError
			if !errors.As(cause, &ee) {
				ee = &ExecutionError{Code: "EXECUTION_FAILED", Reason: cause.Error()}
			}
			ex.finish(store.StatusFailed, ee)
		}
	default:
		ex.finish(store.StatusCompleted, nil)
	}
}

// finish stops every route and records the final status.
func (ex *Execution) finish(status store.ExecutionStatus, failure *ExecutionError) {
	if status == store.StatusCancelled {
		ex.setStatus(store.StatusCancelling, "cancel requested", nil)
	}
	grace := ex.m.opts.DrainTimeout
	if status == store.StatusCompleted {
		grace = time.Second // nothing is in flight any more
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	// Stop intake in pipeline order so upstream routes stop feeding
	// downstream ones first; in-flight handlers finish until the deadline.
	var wg sync.WaitGroup
	for _, rp := range ex.routes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := rp.stop(ctx); err != nil {
				ex.log.Warn("stopping route", "route", rp.route.ID, "error", err)
			}
		}()
	}
	wg.Wait()
	cancel()
	cause := errCancelled
	if status == store.StatusInterrupted {
		cause = errShutdown
	}
	ex.cancelWork(cause)

	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	for _, rp := range ex.routes {
		rp.closeAdapters(cctx)
	}
	if status.Terminal() {
		// Queues of a finished execution hold nothing anyone will read.
		if err := ex.m.opts.Queue.DeleteScope(cctx, ex.ID); err != nil {
			ex.log.Warn("deleting execution queues", "error", err)
		}
	}

	// The final status is announced only once this execution's lineage is
	// readable, so whoever sees "completed" also sees consistent stats.
	if f, ok := ex.m.opts.Lineage.(lineageFlusher); ok {
		if err := f.Flush(cctx); err != nil {
			ex.log.Warn("lineage not yet written at the end of the execution; it follows from the spill", "error", err)
		}
	}

	var reason string
	var info map[string]any
	switch status {
	case store.StatusCompleted:
		reason = "all messages processed"
	case store.StatusCancelled:
		reason = "cancelled by request"
		ex.result = errCancelled
	case store.StatusInterrupted:
		reason = "process stopped before the execution finished; its messages wait on the broker"
		ex.result = errShutdown
	case store.StatusFailed:
		reason = failure.Error()
		info = failure.info()
		ex.result = failure
	}
	ex.stopProgress()
	if errors.Is(ex.cause(), errTakenOver) {
		// Its record belongs to the process that took it over.
		ex.status.Store(status)
		ex.result = errTakenOver
		ex.log.Warn("execution stopped here: another process took it over while this one had lost its lease")
		return
	}
	if info == nil {
		info = map[string]any{}
	}
	st := ex.Stats()
	info["stats"] = st.Totals()
	// Per-route counts outlive the process in the record, so stats of a
	// finished execution read the same as they did live.
	info["routes"] = st.Routes
	info["artefacts"] = st.Artefacts
	if err := ex.setStatus(status, reason, info); err != nil && status != store.StatusInterrupted {
		// Done waits for the record: whoever waits on it reads the final
		// status from the database. An interrupted status is not retried:
		// only a shutdown leads there, and the next start records it.
		ex.persistFinalStatus(status, reason, info, err)
	}
	ex.log.Info("execution finished", "status", status, "duration", time.Since(ex.startedAt).Round(time.Millisecond))
}

// reportProgress publishes a progress event at most once a second while
// counts change.
func (ex *Execution) reportProgress(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := map[string]int64{}
	lastAt := time.Now()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			st := ex.Stats()
			changed := false
			secs := now.Sub(lastAt).Seconds()
			for i := range st.Routes {
				r := &st.Routes[i]
				if secs > 0 {
					r.Rate = float64(r.Completed-last[r.Route]) / secs
				}
				if r.Completed != last[r.Route] || r.InFlight > 0 {
					changed = true
				}
				last[r.Route] = r.Completed
			}
			lastAt = now
			if !changed {
				continue
			}
			// Persisted like every timeline event, so a client resuming an
			// event stream sees the progress it missed.
			ex.recordEvent(store.ExecutionEvent{
				Type: store.EventProgress, Status: ex.Status(),
				Data:      map[string]any{"outstanding": st.Outstanding, "artefacts": st.Artefacts, "routes": st.Routes},
				CreatedAt: now.UTC(),
			})
		}
	}
}

// buildRoutes builds a route processor per route with fresh adapters.
func (ex *Execution) buildRoutes(deps adapters.Deps, paused map[string]bool) error {
	p := ex.pipeline
	ex.byKey = make(map[string]*routeProcessor, len(p.Routes))
	for _, key := range p.RouteOrder {
		r := p.Routes[key]
		rp := &routeProcessor{
			ex:       ex,
			route:    r,
			outbound: r.Outbound,
			paused:   paused[key],
			log:      ex.log.With("route", key),
		}
		rp.stats.limiter = newRouteLimiter(r, rp.log)
		for i, s := range r.Adapters {
			a, err := ex.m.opts.Registry.Build(s.Type, s.Config, deps)
			if err != nil {
				return fmt.Errorf("route %s, adapter %d (%s): %w", key, i, s.Type, err)
			}
			name := s.Name
			if name == "" {
				name = s.Type
			}
			rp.steps = append(rp.steps, step{index: i, typ: s.Type, name: name, cond: s.Condition, adapter: a})
		}
		ex.routes = append(ex.routes, rp)
		ex.byKey[key] = rp
	}
	return nil
}

// publishSeeds publishes replay seeds with a fresh message id each and the
// batch id in their headers. A seed too large to be a message is counted
// as rejected and skipped; a broker failure fails the seeding.
func (ex *Execution) publishSeeds(ctx context.Context, seeds []Seed, batch string) error {
	limit := ex.pipeline.Execution.MaxPayloadBytes
	byQueue := map[string][]queue.Message{}
	var order []string
	for _, sd := range seeds {
		body, err := EncodePayload(sd.Payload, limit)
		if err != nil {
			ex.seedRejected.Add(1)
			ex.log.Warn("replay seed rejected", "route", sd.Route, "error", err)
			continue
		}
		id := newID()
		q := ex.pipeline.Routes[sd.Route].Inbound.Queue
		if _, ok := byQueue[q]; !ok {
			order = append(order, q)
		}
		byQueue[q] = append(byQueue[q], queue.Message{ID: id, Headers: messageHeaders(id, ex.ID, "", "", batch), Body: body})
	}
	for _, q := range order {
		msgs := byQueue[q]
		// In chunks, so one publish never holds an unbounded batch.
		for start := 0; start < len(msgs); start += seedChunk {
			chunk := msgs[start:min(start+seedChunk, len(msgs))]
			if err := ex.publish(ctx, q, chunk); err != nil {
				return fmt.Errorf("publishing replay seeds: %w", err)
			}
			ex.seedPublished.Add(int64(len(chunk)))
		}
	}
	return nil
}

// seedChunk is how many seeds go to the broker in one publish.
const seedChunk = 200
