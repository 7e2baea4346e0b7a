package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/store"
)

// ErrOwnedElsewhere: the execution runs on another live instance, which
// must be asked instead.
var ErrOwnedElsewhere = errors.New("execution is owned by another instance")

// HeaderRequeuedFrom names the dead letter a requeued message replaces.
const HeaderRequeuedFrom = "factflow-requeued-from"

// RequeueResult is what RequeueDeadLetters put back: one item per dead
// letter and one summary per execution touched.
type RequeueResult struct {
	Items      []RequeuedItem
	Executions []RequeuedExecution
}

// RequeuedItem links a dead letter to the message that replaced it.
type RequeuedItem struct {
	DeadLetterID, MessageID, ExecutionID string
}

// RequeuedExecution summarises one execution's requeued messages.
type RequeuedExecution struct {
	ExecutionID string
	Requeued    int
	Status      store.ExecutionStatus
}

// executionReader reads an execution record; the store implements it.
type executionReader interface {
	Get(ctx context.Context, id string) (*store.Execution, error)
}

// interruptedByIDClaimer takes over one interrupted execution.
type interruptedByIDClaimer interface {
	ClaimInterruptedByID(ctx context.Context, id, self, queueRef string) (*store.Execution, error)
}

// RequeueDeadLetters puts dead letters back into their executions' routes,
// in the order given, each as a new message (attempt 1) whose parent is the
// message that died, so lineage links the two. delay holds them back on the
// broker. Where a message goes depends on its execution:
//   - running here: into the running execution;
//   - interrupted, its owner gone: the execution resumes with them;
//   - finished (completed, failed, cancelled): a new execution of the same
//     frozen pipeline, linked to it as its child, runs them — a finished
//     execution stays finished;
//   - running on another live instance: ErrOwnedElsewhere.
//
// Items lists what was published even when an error stops the rest, so
// the caller can record those dead letters as requeued.
func (m *Manager) RequeueDeadLetters(ctx context.Context, dls []*store.DeadLetter, delay time.Duration) (RequeueResult, error) {
	var res RequeueResult
	var order []string
	byExec := map[string][]*store.DeadLetter{}
	for _, dl := range dls {
		if _, ok := byExec[dl.ExecutionID]; !ok {
			order = append(order, dl.ExecutionID)
		}
		byExec[dl.ExecutionID] = append(byExec[dl.ExecutionID], dl)
	}
	for _, id := range order {
		items, ex, err := m.requeueInto(ctx, id, byExec[id], delay)
		res.Items = append(res.Items, items...)
		if err != nil {
			return res, fmt.Errorf("requeueing into execution %s: %w", id, err)
		}
		res.Executions = append(res.Executions, RequeuedExecution{ExecutionID: ex.ID, Requeued: len(items), Status: ex.Status()})
	}
	return res, nil
}

func (m *Manager) requeueInto(ctx context.Context, executionID string, dls []*store.DeadLetter, delay time.Duration) ([]RequeuedItem, *Execution, error) {
	msgs := requeueMessages(dls, delay)
	if ex, ok := m.Get(executionID); ok {
		items, err := ex.publishRequeued(ctx, dls, msgs)
		return items, ex, err
	}
	reader, ok := m.opts.Executions.(executionReader)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s is not running here", ErrNotFound, executionID)
	}
	rec, err := reader.Get(ctx, executionID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, nil, err
	}
	var items []RequeuedItem
	seed := func(ctx context.Context, ex *Execution) error {
		var err error
		items, err = ex.publishRequeued(ctx, dls, msgs)
		return err
	}
	// seeded waits until ex published the requeued messages (items).
	seeded := func(ctx context.Context, ex *Execution, err error) ([]RequeuedItem, *Execution, error) {
		if err != nil {
			return nil, nil, err
		}
		if _, _, err := ex.SeedCounts(ctx); err != nil {
			return nil, ex, err
		}
		return items, ex, ex.seedErr()
	}
	switch {
	case rec.Status.Terminal():
		ex, err := m.startRequeueExecution(ctx, rec, seed)
		return seeded(ctx, ex, err)
	case rec.Status == store.StatusInterrupted:
		claimer, ok := m.opts.Executions.(interruptedByIDClaimer)
		if !ok {
			return nil, nil, fmt.Errorf("%w: %s is interrupted and cannot be claimed", ErrNotResumable, executionID)
		}
		claimed, err := claimer.ClaimInterruptedByID(ctx, executionID, m.opts.InstanceID, m.opts.QueueRef)
		if err != nil {
			return nil, nil, err
		}
		if claimed == nil {
			return nil, nil, fmt.Errorf("%w: %s was interrupted on instance %s, which is alive, or on another broker",
				ErrOwnedElsewhere, executionID, rec.OwnerID)
		}
		ex, err := m.resume(ctx, claimed, seed)
		return seeded(ctx, ex, err)
	default:
		return nil, nil, fmt.Errorf("%w: %s is %s on instance %s", ErrOwnedElsewhere, executionID, rec.Status, rec.OwnerID)
	}
}

// requeueMessages builds one new message per dead letter: a fresh id,
// attempt 1, the dead message as parent, the replay batch it belonged to.
func requeueMessages(dls []*store.DeadLetter, delay time.Duration) []queue.Message {
	msgs := make([]queue.Message, len(dls))
	var notBefore string
	if delay > 0 {
		notBefore = queue.FormatTime(time.Now().Add(delay))
	}
	for i, dl := range dls {
		id := newID()
		h := messageHeaders(id, dl.ExecutionID, "", dl.CorrelationID, dl.Headers[queue.HeaderReplayBatchID])
		h[HeaderRequeuedFrom] = dl.ID
		if notBefore != "" {
			h[queue.HeaderNotBefore] = notBefore
		}
		msgs[i] = queue.Message{ID: id, Headers: h, Body: dl.Payload}
	}
	return msgs
}

// publishRequeued publishes msgs (built from dls, same order) into the
// routes the dead letters died in, one at a time so their order holds.
func (ex *Execution) publishRequeued(ctx context.Context, dls []*store.DeadLetter, msgs []queue.Message) ([]RequeuedItem, error) {
	items := make([]RequeuedItem, 0, len(dls))
	for i, dl := range dls {
		q := dl.Queue
		if r, ok := ex.pipeline.Routes[dl.Route]; ok {
			q = r.Inbound.Queue
		}
		if q == "" {
			return items, fmt.Errorf("dead letter %s names no route of the pipeline (route %q)", dl.ID, dl.Route)
		}
		m := msgs[i]
		m.Headers[queue.HeaderExecutionID] = ex.ID
		if err := ex.publish(ctx, q, []queue.Message{m}); err != nil {
			return items, err
		}
		items = append(items, RequeuedItem{DeadLetterID: dl.ID, MessageID: m.ID, ExecutionID: ex.ID})
	}
	ex.recordEvent(store.ExecutionEvent{Type: store.EventStatus, Status: ex.Status(),
		Reason: fmt.Sprintf("%d dead letters requeued", len(items)), Data: map[string]any{"requeued": len(items)}})
	return items, nil
}

// startRequeueExecution starts a child execution of a finished one, on its
// frozen pipeline, whose only first messages are the requeued ones.
func (m *Manager) startRequeueExecution(ctx context.Context, rec *store.Execution, seed func(context.Context, *Execution) error) (*Execution, error) {
	p, yaml, err := m.frozen(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRunnable, err)
	}
	return m.Start(ctx, StartRequest{
		Pipeline:          p,
		ConfigID:          rec.ConfigID,
		ConfigName:        rec.ConfigName,
		YAML:              yaml,
		SkipInit:          true,
		ParentExecutionID: rec.ID,
		Metadata:          map[string]any{"requeue_of": rec.ID},
		seed:              seed,
	})
}
