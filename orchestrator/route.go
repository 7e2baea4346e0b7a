package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/pipeline/condition"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/store"
)

// step is one built adapter of a route's chain.
type step struct {
	index   int
	typ     string
	name    string
	cond    *condition.Condition
	adapter adapters.Adapter
}

// routeProcessor consumes one route's inbound queue within one execution
// and runs the adapter chain on every delivery.
type routeProcessor struct {
	ex       *Execution
	route    *pipeline.Route
	steps    []step
	outbound []pipeline.Outbound
	stats    routeStats
	nacks    nackWindow
	log      *slog.Logger

	mu     sync.Mutex
	sub    queue.Subscription
	paused bool
}

func (rp *routeProcessor) dst() queue.Destination {
	return queue.Destination{Execution: rp.ex.ID, Queue: rp.route.Inbound.Queue}
}

// start subscribes the route unless it is paused.
func (rp *routeProcessor) start(ctx context.Context) error {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.sub != nil || rp.paused {
		return nil
	}
	opts := queue.SubscribeOptions{
		Concurrency: rp.route.Inbound.Concurrency,
		Prefetch:    rp.route.Inbound.Prefetch,
		Group:       rp.route.Inbound.Subscription,
	}
	sub, err := rp.ex.m.opts.Queue.Subscribe(ctx, rp.dst(), opts, rp.handle)
	if err != nil {
		return fmt.Errorf("subscribing route %s to %s: %w", rp.route.ID, rp.dst(), err)
	}
	rp.sub = sub
	return nil
}

// stop closes the subscription: intake stops at once, running handlers get
// until ctx is done, then their contexts are cancelled.
func (rp *routeProcessor) stop(ctx context.Context) error {
	rp.mu.Lock()
	sub := rp.sub
	rp.sub = nil
	rp.mu.Unlock()
	if sub == nil {
		return nil
	}
	if err := sub.Close(ctx); err != nil {
		return fmt.Errorf("closing route %s: %w", rp.route.ID, err)
	}
	return nil
}

// setPaused pauses (unsubscribes; messages wait on the broker) or resumes
// the route. ctx bounds only the wait for in-flight messages when pausing:
// a resumed subscription lives as long as the execution, not the request
// that resumed it.
func (rp *routeProcessor) setPaused(ctx context.Context, paused bool) error {
	rp.mu.Lock()
	rp.paused = paused
	rp.mu.Unlock()
	if paused {
		return rp.stop(ctx)
	}
	return rp.start(rp.ex.workCtx)
}

func (rp *routeProcessor) isPaused() bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.paused
}

// closeAdapters releases adapters holding resources.
func (rp *routeProcessor) closeAdapters(ctx context.Context) {
	for _, s := range rp.steps {
		if c, ok := s.adapter.(adapters.Closer); ok {
			if err := c.Close(ctx); err != nil {
				rp.log.Warn("closing adapter", "adapter", s.typ, "error", err)
			}
		}
	}
}

// chainFailure is an adapter error with where it happened.
type chainFailure struct {
	step  *step
	err   error
	class adapters.Class
}

// handle is the queue handler: it runs the chain, publishes the outputs and
// only then lets the provider ack (at-least-once).
func (rp *routeProcessor) handle(ctx context.Context, d queue.Delivery) queue.Outcome {
	ex := rp.ex
	if ex.restored {
		// Only a resumed execution asks when a delivery was last handled.
		ex.touch()
		defer ex.touch()
	}
	if !ex.ledger.Known(d.ID) {
		// Already settled: a broker redelivery of a message whose ack was
		// lost. Processing it again would double-count its emits.
		rp.stats.duplicates.Add(1)
		return queue.Ack()
	}
	// The route's adaptive limit is waited for before the execution-wide
	// permit, so a route held back by its own latency never sits on
	// permits other routes could use.
	adm, err := rp.stats.limiter.acquire(ctx)
	if err != nil {
		return queue.Defer(0)
	}
	defer adm.end(ctx)
	if err := ex.handlers.Acquire(ctx, 1); err != nil {
		return queue.Defer(0)
	}
	defer ex.handlers.Release(1)
	adm.begin()

	rp.stats.received.Add(1)
	rp.stats.inFlight.Add(1)
	defer rp.stats.inFlight.Add(-1)

	payload, err := decodePayload(d.Body)
	if err != nil {
		return rp.deadLetter(ctx, d, chainFailure{err: err, class: adapters.ClassPermanent})
	}

	chainCtx := ctx
	if rp.route.Timeout > 0 {
		var cancel context.CancelFunc
		chainCtx, cancel = context.WithTimeoutCause(ctx, rp.route.Timeout, errRouteTimeout)
		defer cancel()
	}
	outputs, failure := rp.runChain(chainCtx, d, payload)
	if failure != nil {
		return rp.fail(ctx, d, *failure)
	}
	if err := rp.publish(ctx, d, outputs); err != nil {
		if interrupted(ctx) {
			return queue.Defer(0)
		}
		if errors.Is(err, queue.ErrMessageTooLarge) {
			err = adapters.PermanentCoded("PAYLOAD_TOO_LARGE",
				"store large content with a storage adapter and pass its storage_key", err)
		}
		if adapters.Classify(err) == adapters.ClassPermanent {
			return rp.deadLetter(ctx, d, chainFailure{err: err, class: adapters.ClassPermanent})
		}
		// The broker refused the emits: try the whole message again later
		// without burning an attempt (the adapters did nothing wrong).
		rp.log.Warn("publishing emits failed; message will be redelivered", "correlation_id", d.ID, "error", err)
		return queue.Defer(time.Second)
	}
	ex.ledger.Settle(d.ID)
	rp.stats.completed.Add(1)
	rp.settled(false)
	return queue.Ack()
}

// runChain runs the adapters from the first on payload and returns what the
// route publishes. An adapter that emits several messages mid-chain fans
// out: the rest of the chain runs once per emitted message.
func (rp *routeProcessor) runChain(ctx context.Context, d queue.Delivery, payload adapters.Payload) ([]adapters.Payload, *chainFailure) {
	var outputs []adapters.Payload
	var inputHash string
	if rp.ex.m.opts.Lineage != nil {
		inputHash = hashBody(d.Body)
	}
	var run func(i int, p adapters.Payload) *chainFailure
	run = func(i int, p adapters.Payload) *chainFailure {
		for ; i < len(rp.steps); i++ {
			s := &rp.steps[i]
			if s.cond != nil && !s.cond.Match(p) {
				continue
			}
			res, err := rp.invoke(ctx, d, s, p, inputHash)
			inputHash = ""
			if err != nil {
				class := adapters.Classify(err)
				if class == adapters.ClassSkip {
					rp.stats.skipped.Add(1)
					return nil
				}
				return &chainFailure{step: s, err: err, class: class}
			}
			if res == nil || (res.Message == nil && len(res.Emitted) == 0) {
				return nil // an empty result ends the chain: nothing to publish
			}
			last := i == len(rp.steps)-1
			if len(res.Emitted) > 0 {
				if last {
					outputs = append(outputs, res.Emitted...)
					return nil
				}
				for _, e := range res.Emitted {
					if f := run(i+1, e); f != nil {
						return f
					}
				}
				return nil
			}
			p = res.Message
		}
		if p != nil {
			outputs = append(outputs, p)
		}
		return nil
	}
	if f := run(0, payload); f != nil {
		return nil, f
	}
	return outputs, nil
}

// invoke runs one adapter and records its lineage row and stage event.
func (rp *routeProcessor) invoke(ctx context.Context, d queue.Delivery, s *step, p adapters.Payload, inputHash string) (*adapters.Result, error) {
	ex := rp.ex
	in := &adapters.Input{Payload: p, Meta: adapters.Meta{
		ExecutionID:   ex.ID,
		Route:         rp.route.ID,
		CorrelationID: d.ID,
		ParentID:      d.Headers[queue.HeaderParentID],
		ReplayBatchID: d.Headers[queue.HeaderReplayBatchID],
		Attempt:       d.Attempt,
		AdapterIndex:  s.index,
		Stage:         s.name,
	}}
	wantStages := ex.m.bus.WantsStages()
	var started time.Time
	res, err := rp.guarded(ctx, s, func() (*adapters.Result, error) {
		if wantStages {
			rp.stageEvent(store.EventStage, d, s, "initiated", nil)
		}
		started = time.Now()
		return safeProcess(ctx, s.adapter, in)
	})
	var open *BreakerOpenError
	if errors.As(err, &open) {
		return nil, err // not run: no stage, no lineage
	}
	finished := time.Now()

	status := store.StageCompleted
	var errInfo map[string]any
	switch class := adapters.Classify(err); {
	case err == nil:
	case class == adapters.ClassSkip:
		status = store.StageSkipped
		errInfo = map[string]any{"reason": err.Error()}
	default:
		status = store.StageFailed
		errInfo = errorInfo(err, class)
		errInfo["attempt"] = d.Attempt
	}
	if wantStages {
		rp.stageEvent(store.EventStage, d, s, status, errInfo)
	}
	if status == store.StageFailed {
		// Failures are few enough to announce always (webhooks).
		rp.stageEvent(store.EventStepFailed, d, s, status, errInfo)
	}
	if ex.m.opts.Lineage != nil {
		ex.m.opts.Lineage.Append(store.LineageEntry{
			CorrelationID:       d.ID,
			ParentCorrelationID: d.Headers[queue.HeaderParentID],
			ReplayBatchID:       d.Headers[queue.HeaderReplayBatchID],
			ExecutionID:         ex.ID,
			RouteID:             rp.route.ID,
			AdapterName:         s.typ,
			AdapterIndex:        s.index,
			StageName:           s.name,
			StageStatus:         status,
			InputHash:           inputHash,
			StartedAt:           started,
			CompletedAt:         finished,
			DurationMS:          float64(finished.Sub(started).Microseconds()) / 1000,
			Metadata:            lineageMetadata(res, p),
			ErrorInfo:           errInfo,
		})
	}
	return res, err
}

// safeProcess turns an adapter panic into a permanent error: one bad
// adapter must not take the server down.
func safeProcess(ctx context.Context, a adapters.Adapter, in *adapters.Input) (res *adapters.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res = nil
			err = adapters.PermanentCoded("ADAPTER_PANIC",
				"this is a bug in the adapter; the message is dead-lettered with its payload",
				fmt.Errorf("adapter panicked: %v", r))
		}
	}()
	return a.Process(ctx, in)
}

// fail decides what a failed chain means for the delivery.
func (rp *routeProcessor) fail(ctx context.Context, d queue.Delivery, f chainFailure) queue.Outcome {
	if interrupted(ctx) {
		// Cancelled or shutting down: the message was not at fault.
		return queue.Defer(0)
	}
	var open *BreakerOpenError
	if errors.As(f.err, &open) {
		// The adapter did not run: the message waits, keeping its attempt.
		rp.log.Debug("circuit breaker open; message deferred", "correlation_id", d.ID,
			"adapter", open.Adapter, "delay", open.RetryIn)
		return queue.Defer(open.RetryIn)
	}
	rp.stats.failed.Add(1)
	policy := rp.route.ErrorHandling
	if f.class == adapters.ClassPermanent || d.Attempt > policy.MaxRetries {
		return rp.deadLetter(ctx, d, f)
	}
	var floor time.Duration
	var ra *adapters.RetryAfterError
	if errors.As(f.err, &ra) {
		floor = ra.After
	}
	rp.stats.retried.Add(1)
	out := queue.Retry(retryDelay(policy, d.Attempt, floor))
	out.Reason = f.err.Error()
	if d.Headers[queue.HeaderFirstFailedAt] == "" {
		out.Headers = map[string]string{queue.HeaderFirstFailedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	}
	rp.log.Debug("adapter failed; retrying", "correlation_id", d.ID, "adapter", f.step.typ,
		"attempt", d.Attempt, "delay", out.Delay, "error", f.err)
	return out
}

// deadLetter records the message as dead, then settles it. If the record
// cannot be written the message is deferred, never dropped.
func (rp *routeProcessor) deadLetter(ctx context.Context, d queue.Delivery, f chainFailure) queue.Outcome {
	ex := rp.ex
	if interrupted(ctx) {
		return queue.Defer(0)
	}
	reason := f.err.Error()
	if f.class != adapters.ClassPermanent {
		reason = fmt.Sprintf("retries exhausted after %d attempts: %s", d.Attempt, reason)
	}
	adapterType := ""
	if f.step != nil {
		adapterType = f.step.typ
	}
	firstFailed := time.Now().UTC()
	if t, err := time.Parse(time.RFC3339Nano, d.Headers[queue.HeaderFirstFailedAt]); err == nil {
		firstFailed = t
	}
	if !rp.route.ErrorHandling.DeadLetter {
		rp.log.Warn("message dropped: dead-lettering is off for this route",
			"correlation_id", d.ID, "adapter", adapterType, "reason", reason)
	} else {
		dl := &store.DeadLetter{
			ID:            newID(),
			ExecutionID:   ex.ID,
			Route:         rp.route.ID,
			Adapter:       adapterType,
			Queue:         rp.route.Inbound.Queue,
			CorrelationID: d.ID,
			Payload:       d.Body,
			Headers:       d.Headers,
			Reason:        reason,
			ErrorClass:    string(f.class),
			Attempt:       d.Attempt,
			FirstFailedAt: firstFailed,
			CreatedAt:     time.Now().UTC(),
		}
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := ex.m.opts.DeadLetters.Insert(wctx, dl)
		cancel()
		if err != nil {
			rp.log.Error("cannot record dead letter; message will be redelivered",
				"correlation_id", d.ID, "error", err)
			return queue.Defer(5 * time.Second)
		}
		ex.recordEvent(store.ExecutionEvent{
			Type:   store.EventDeadLetter,
			Route:  rp.route.ID,
			Reason: reason,
			Data: map[string]any{
				"dead_letter_id": dl.ID,
				"correlation_id": d.ID,
				"adapter":        adapterType,
				"error_class":    dl.ErrorClass,
				"attempt":        d.Attempt,
			},
		})
	}
	rp.stats.deadLettered.Add(1)
	// The failure is recorded before the settle that could drain the
	// ledger, so the execution ends failed, not completed.
	if d.ID == ex.rootID {
		ee := &ExecutionError{Code: "INIT_ROUTE_FAILED", Route: rp.route.ID, Reason: reason,
			Hint: "inspect the dead letter and the init route's adapters"}
		var ce *adapters.CodedError
		if errors.As(f.err, &ce) {
			ee.Code, ee.Hint, ee.Reason = ce.Code, ce.Hint, ce.Err.Error()
		}
		ex.fail(ee)
	}
	rp.settled(true)
	ex.ledger.Settle(d.ID)
	return queue.DeadLetter(reason)
}

// publish sends the outputs to every matching outbound queue. The ledger
// counts them before they are published, so the execution can never look
// complete while a child is on its way.
func (rp *routeProcessor) publish(ctx context.Context, d queue.Delivery, outputs []adapters.Payload) error {
	if len(outputs) == 0 || len(rp.outbound) == 0 {
		return nil
	}
	ex := rp.ex
	limit := ex.pipeline.Execution.MaxPayloadBytes
	byQueue := make(map[string][]queue.Message, len(rp.outbound))
	total := 0
	replay := d.Headers[queue.HeaderReplayBatchID]
	for _, out := range outputs {
		var body []byte
		for _, ob := range rp.outbound {
			if ob.Condition != nil && !ob.Condition.Match(out) {
				continue
			}
			if body == nil {
				b, err := EncodePayload(out, limit)
				if err != nil {
					return err
				}
				body = b
			}
			id := newID()
			byQueue[ob.Queue] = append(byQueue[ob.Queue], queue.Message{
				ID:      id,
				Headers: messageHeaders(id, ex.ID, rp.route.ID, d.ID, replay),
				Body:    body,
			})
			total++
		}
	}
	if total == 0 {
		return nil
	}
	chunk := ex.pipeline.Execution.MaxFanoutPending
	if chunk < 1 {
		chunk = pipeline.DefaultMaxFanoutPending
	}
	for _, ob := range rp.outbound {
		msgs := byQueue[ob.Queue]
		delete(byQueue, ob.Queue) // two outbound entries may name one queue
		for len(msgs) > 0 {
			n := min(len(msgs), chunk)
			if err := ex.publish(ctx, ob.Queue, msgs[:n]); err != nil {
				return err
			}
			rp.stats.emitted.Add(int64(n))
			msgs = msgs[n:]
		}
	}
	return nil
}

func (rp *routeProcessor) stageEvent(typ string, d queue.Delivery, s *step, status string, errInfo map[string]any) {
	data := map[string]any{
		"correlation_id": d.ID,
		"adapter":        s.typ,
		"adapter_index":  s.index,
		"stage":          s.name,
		"stage_status":   status,
		"attempt":        d.Attempt,
	}
	if p := d.Headers[queue.HeaderParentID]; p != "" {
		data["parent_correlation_id"] = p
	}
	if errInfo != nil {
		data["error"] = errInfo
	}
	rp.ex.m.bus.Publish(store.ExecutionEvent{
		ID:          newID(),
		ExecutionID: rp.ex.ID,
		Type:        typ,
		Route:       rp.route.ID,
		Data:        data,
		CreatedAt:   time.Now().UTC(),
	})
}

// interrupted reports whether the delivery's context ended: the execution
// was cancelled, the process is stopping or the subscription closed hard.
// Such messages are redelivered, never dead-lettered. (Route timeouts act
// on a child context and count as adapter failures.)
func interrupted(ctx context.Context) bool { return ctx.Err() != nil }

func hashBody(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// lineageFields are copied from a result into its lineage row's metadata,
// so the lineage explorer can find a message by what it was about.
var lineageFields = []string{"url", "storage_key", "markdown_key", "title", "path", "segment_index", "content_type", "status_code"}

func lineageMetadata(res *adapters.Result, in adapters.Payload) map[string]any {
	src := in
	var m map[string]any
	if res != nil {
		if res.Message != nil {
			src = res.Message
		}
		if len(res.Emitted) > 0 {
			m = map[string]any{"emitted": len(res.Emitted)}
		}
	}
	for _, k := range lineageFields {
		if v, ok := src[k]; ok {
			if m == nil {
				m = make(map[string]any, 4)
			}
			m[k] = v
		}
	}
	return m
}

func errorInfo(err error, class adapters.Class) map[string]any {
	m := map[string]any{"message": err.Error(), "class": string(class)}
	var ce *adapters.CodedError
	if errors.As(err, &ce) {
		m["code"] = ce.Code
		if ce.Hint != "" {
			m["hint"] = ce.Hint
		}
	}
	return m
}
