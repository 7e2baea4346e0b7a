package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/store"
)

// Restart recovery. An interrupted execution (its process stopped or
// crashed) keeps its messages on the broker. Resuming it rebuilds the
// execution from its frozen pipeline, counts what the broker holds for it
// into the ledger, and subscribes its routes again: deliveries that the
// dead process had taken and not acknowledged come back, so every message
// is processed at least once. A restored ledger cannot know the ids of the
// messages it counted, so the execution completes only when the broker
// confirms that none is left (see Ledger.Reconcile).

// ErrNotResumable: the execution cannot be resumed here (its pipeline no
// longer loads, or it is not interrupted).
var ErrNotResumable = errors.New("execution cannot be resumed")

// reconcileEvery is how often a resumed execution asks the broker whether
// it still holds messages once nothing published since the restart is
// outstanding.
const reconcileEvery = 500 * time.Millisecond

// settleMargin is how long a zero count must hold, at least, before a
// resumed execution is taken as drained: management APIs (Jolokia,
// Pulsar's admin API) report counts with a short lag.
const settleMargin = 2 * time.Second

// ResumeInterrupted claims interrupted executions whose owner is gone and
// whose messages live on this process's broker (Options.QueueRef), up to
// the free execution slots, and resumes them. It returns the executions
// resumed; one that cannot be resumed is marked failed with the reason,
// and the error lists what went wrong.
func (m *Manager) ResumeInterrupted(ctx context.Context) ([]*Execution, error) {
	claimer, ok := m.opts.Executions.(interruptedClaimer)
	if !ok {
		return nil, nil
	}
	m.mu.Lock()
	free := m.opts.MaxConcurrentExecutions - len(m.running)
	stopping := m.stopping
	m.mu.Unlock()
	if stopping || free <= 0 {
		return nil, nil
	}
	recs, err := claimer.ClaimInterrupted(ctx, m.opts.InstanceID, m.opts.QueueRef, free)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var resumed []*Execution
	for _, rec := range recs {
		ex, err := m.resume(ctx, rec, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("resuming execution %s: %w", rec.ID, err))
			continue
		}
		resumed = append(resumed, ex)
	}
	return resumed, errors.Join(errs...)
}

// VerifyOwnership stops, here and without recording anything, the running
// executions whose record names another owner: another process took them
// over while this one had lost its lease (a database outage), and they go
// on there. Call it when the lease was taken back.
func (m *Manager) VerifyOwnership(ctx context.Context) error {
	reader, ok := m.opts.Executions.(executionReader)
	if !ok || m.opts.InstanceID == "" {
		return nil
	}
	var errs []error
	for _, ex := range m.Running() {
		rec, err := reader.Get(ctx, ex.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading execution %s: %w", ex.ID, err))
			continue
		}
		if rec.OwnerID != m.opts.InstanceID {
			ex.log.Error("execution taken over by another process while this one had lost its lease; stopping it here",
				"owner_id", rec.OwnerID, "status", rec.Status)
			ex.stop(errTakenOver)
		}
	}
	return errors.Join(errs...)
}

// interruptedClaimer is the part of the execution store restart recovery
// needs.
type interruptedClaimer interface {
	ClaimInterrupted(ctx context.Context, self, queueRef string, limit int) ([]*store.Execution, error)
}

// resume runs an interrupted execution again from what the broker holds
// for it; seed (requeued messages), when set, publishes more once its
// routes listen. A pipeline that no longer loads fails the execution:
// nothing could ever process its messages.
func (m *Manager) resume(ctx context.Context, rec *store.Execution, seed func(context.Context, *Execution) error) (*Execution, error) {
	p, _, err := m.frozen(rec)
	if err != nil {
		m.failRecord(rec.ID, "RESUME_FAILED", err.Error(), "the execution's frozen pipeline no longer loads; replay its artefacts into a new execution")
		return nil, fmt.Errorf("%w: %w", ErrNotResumable, err)
	}

	ex, paused, err := m.admit(rec.ID, p)
	if err != nil {
		return nil, err
	}
	ex.ConfigID, ex.ConfigName, ex.Tag = rec.ConfigID, rec.ConfigName, rec.Tag
	ex.rootID = rec.RootCorrelationID

	started := false
	defer func() {
		if !started {
			m.forget(ex)
			ex.cancelWork(errCancelled)
		}
	}()
	if err := ex.buildRoutes(m.adapterDeps(ex), paused); err != nil {
		ex.closeAllAdapters()
		m.failRecord(rec.ID, "RESUME_FAILED", err.Error(), "an adapter of the frozen pipeline cannot be built any more")
		return nil, fmt.Errorf("%w: %w", ErrNotResumable, err)
	}
	ex.carryOver(rec.ErrorInfo)
	waiting, err := ex.brokerCount(ctx)
	if err != nil {
		ex.closeAllAdapters()
		return nil, fmt.Errorf("counting the execution's messages on the broker: %w", err)
	}
	ex.ledger.Restore(waiting)
	ex.restored = true
	ex.setStatus(store.StatusRunning, fmt.Sprintf("resumed: %d messages waiting on the broker", waiting), nil)
	ex.log.Info("execution resumed", "waiting", waiting)

	var publish func(context.Context) error
	if seed != nil {
		publish = func(ctx context.Context) error { return seed(ctx, ex) }
	}
	started = true
	go ex.run(publish)
	return ex, nil
}

// configSnapshot is what an execution freezes of the pipeline it runs.
type configSnapshot struct {
	Name string `json:"name"`
	YAML string `json:"yaml"`
}

// ErrNoSnapshot: the execution has no readable frozen pipeline.
var ErrNoSnapshot = errors.New("the execution has no frozen pipeline")

// FrozenYAML returns the pipeline YAML an execution was started with.
func FrozenYAML(rec *store.Execution) (string, error) {
	var snap configSnapshot
	if err := json.Unmarshal(rec.ConfigSnapshot, &snap); err != nil || snap.YAML == "" {
		return "", ErrNoSnapshot
	}
	return snap.YAML, nil
}

// frozen loads the pipeline an execution was started with, and returns
// its YAML.
func (m *Manager) frozen(rec *store.Execution) (*pipeline.Pipeline, string, error) {
	yaml, err := FrozenYAML(rec)
	if err != nil {
		return nil, "", err
	}
	p, report := pipeline.Load([]byte(yaml), m.opts.Registry)
	if err := report.Err(); err != nil {
		return nil, "", fmt.Errorf("its frozen pipeline does not load: %w", err)
	}
	if p == nil {
		return nil, "", errors.New("its frozen pipeline does not load")
	}
	return p, yaml, nil
}

// failRecord marks an execution that never got running here as failed.
func (m *Manager) failRecord(id, code, reason, hint string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info := map[string]any{"code": code, "reason": reason, "hint": hint}
	change, err := m.opts.Executions.SetStatus(ctx, id, store.StatusFailed, reason, info)
	if err != nil {
		m.opts.Logger.Error("cannot mark an unresumable execution failed", "execution_id", id, "error", err)
		return
	}
	m.bus.Publish(change.Event)
}

// brokerCount is how many messages the broker holds for the execution,
// over every route: queued (delayed ones included where the broker counts
// them) and delivered but not yet settled.
func (ex *Execution) brokerCount(ctx context.Context) (int, error) {
	d, err := ex.brokerDepth(ctx)
	return int(d.Pending + d.InFlight), err
}

func (ex *Execution) brokerDepth(ctx context.Context) (queue.Depth, error) {
	byQueue, err := ex.queueDepths(ctx)
	if err != nil {
		return queue.Depth{}, err
	}
	var total queue.Depth
	for _, d := range byQueue {
		total.Pending += d.Pending
		total.InFlight += d.InFlight
	}
	return total, nil
}

// queueDepths reads the depth of each of the execution's inbound queues.
func (ex *Execution) queueDepths(ctx context.Context) (map[string]queue.Depth, error) {
	out := make(map[string]queue.Depth, len(ex.routes))
	for _, rp := range ex.routes {
		q := rp.route.Inbound.Queue
		if _, seen := out[q]; seen {
			continue
		}
		d, err := ex.m.opts.Queue.Depth(ctx, queue.Destination{Execution: ex.ID, Queue: q})
		if err != nil {
			return nil, fmt.Errorf("reading depth of %s: %w", q, err)
		}
		out[q] = d
	}
	return out, nil
}

// longestDelay is the longest a message of the execution may wait on the
// broker before it is delivered again: a retry's backoff (with jitter) or
// an open circuit breaker. An adapter's own RetryAfter may ask for more;
// that is not bounded here.
func (ex *Execution) longestDelay() time.Duration {
	longest := time.Duration(0)
	for _, rp := range ex.routes {
		eh := rp.route.ErrorHandling
		d := eh.RetryDelay
		if eh.MaxDelay > d && eh.Backoff == pipeline.BackoffExponential {
			d = eh.MaxDelay
		}
		d += time.Duration(float64(d) * eh.Jitter)
		if cb := rp.route.CircuitBreaker; cb.Enabled && cb.OpenFor > d {
			d = cb.OpenFor
		}
		longest = max(longest, d)
	}
	return longest + settleMargin
}

// quietPeriod is how long a resumed execution must have seen no delivery
// before a zero broker count is believed. A broker whose depth omits
// delayed messages could hide a retry that is not due yet, so there it is
// the longest delay the pipeline may ask for.
func (ex *Execution) quietPeriod() time.Duration {
	if r, ok := ex.m.opts.Queue.(queue.DelayedDepthReporter); ok && r.DepthCountsDelayed() {
		return settleMargin
	}
	return ex.longestDelay()
}

// reconcile asks the broker, while the execution runs, whether the
// messages counted at the resume are all gone; it returns when the ledger
// drained or the execution stops.
func (ex *Execution) reconcile() {
	quiet, stale := ex.quietPeriod(), ex.longestDelay()
	warnedStale := false
	t := time.NewTicker(reconcileEvery)
	defer t.Stop()
	lastReport, lastErr := time.Now(), time.Time{}
	for {
		select {
		case <-ex.stopCh:
			return
		case <-ex.ledger.Drained():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(ex.workCtx, 10*time.Second)
		_, err := ex.ledger.Reconcile(ctx, func(ctx context.Context) (int, error) {
			d, err := ex.brokerDepth(ctx)
			if err != nil {
				return 0, err
			}
			idle := time.Since(time.Unix(0, ex.lastActivity.Load()))
			if d.Pending == 0 && d.InFlight > 0 && idle >= stale && ex.handling() == 0 && !warnedStale {
				// Nothing here has handled a delivery for longer than any
				// message may wait, yet the broker says some are out for
				// delivery. A broker can keep a delivery to a client that
				// was killed as in flight (Artemis does, now and then);
				// such a message comes back only when the broker restarts.
				// Completing would lose it, so the execution waits.
				warnedStale = true
				ex.log.Warn("the broker reports messages delivered to no live consumer; the execution waits for them",
					"code", "BROKER_DELIVERIES_STUCK", "in_flight", d.InFlight, "idle", idle.Round(time.Second),
					"hint", "restart the broker to release them (they are redelivered), or cancel the execution")
			}
			if n := int(d.Pending + d.InFlight); n > 0 {
				return n, nil
			}
			if idle < quiet {
				// Not yet believed: report one, so the ledger stays open.
				return 1, nil
			}
			return 0, nil
		})
		cancel()
		if time.Since(lastReport) >= waitReportEvery && ex.workCtx.Err() == nil {
			// A resumed execution that stays open says what it waits for.
			lastReport = time.Now()
			ex.log.Info("resumed execution waits for messages", "outstanding", ex.ledger.Outstanding(),
				"idle", time.Since(time.Unix(0, ex.lastActivity.Load())).Round(time.Second), "queues", ex.depths())
		}
		if err != nil && ex.workCtx.Err() == nil && time.Since(lastErr) >= waitReportEvery {
			// Once per report period: the broker may stay away a while.
			lastErr = time.Now()
			ex.log.Warn("cannot ask the broker how many messages of a resumed execution remain; asking again", "error", err)
		}
	}
}

// waitReportEvery is how often a resumed execution that is still open
// logs what it waits for.
const waitReportEvery = 30 * time.Second

// depths describes each queue's depth for a log line.
func (ex *Execution) depths() map[string]string {
	ctx, cancel := context.WithTimeout(ex.workCtx, 10*time.Second)
	defer cancel()
	byQueue, err := ex.queueDepths(ctx)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	out := make(map[string]string, len(byQueue))
	for q, d := range byQueue {
		out[q] = fmt.Sprintf("%d pending, %d in flight", d.Pending, d.InFlight)
	}
	return out
}

// handling is how many deliveries this process is handling for the
// execution right now.
func (ex *Execution) handling() int64 {
	var n int64
	for _, rp := range ex.routes {
		n += rp.stats.inFlight.Load()
	}
	return n
}

// touch records that a delivery of the execution was handled.
func (ex *Execution) touch() { ex.lastActivity.Store(time.Now().UnixNano()) }

// carryOver starts the route counters from the ones recorded when the
// execution was interrupted (a graceful stop records them; a crash does
// not), so the stats of a resumed execution cover its whole life.
func (ex *Execution) carryOver(info map[string]any) {
	raw, ok := info["routes"]
	if !ok {
		return
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return
	}
	var prev []RouteStats
	if err := json.Unmarshal(b, &prev); err != nil {
		return
	}
	for _, r := range prev {
		rp, ok := ex.byKey[r.Route]
		if !ok {
			continue
		}
		s := &rp.stats
		for _, c := range []struct {
			dst *atomic.Int64
			v   int64
		}{
			{&s.received, r.Received}, {&s.completed, r.Completed}, {&s.failed, r.Failed},
			{&s.retried, r.Retried}, {&s.deadLettered, r.DeadLettered}, {&s.skipped, r.Skipped},
			{&s.duplicates, r.Duplicates}, {&s.emitted, r.Emitted},
		} {
			c.dst.Add(c.v)
		}
	}
	if a, ok := info["artefacts"].(float64); ok {
		ex.artefacts.Add(int64(a))
	}
}
