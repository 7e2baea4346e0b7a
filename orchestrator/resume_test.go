package orchestrator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// process is one manager with its own instance lease, as one server
// process would have.
func process(t *testing.T, db *store.DB, queueRef string, opts ...envOption) (*env, *store.Instance) {
	t.Helper()
	inst, err := db.RegisterInstance(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = inst.Close(context.Background()) })
	opts = append([]envOption{func(o *orchestrator.Options) {
		o.InstanceID = inst.ID
		o.QueueRef = queueRef
		o.DrainTimeout = 200 * time.Millisecond
	}}, opts...)
	return newEnvOn(t, db, opts...), inst
}

// TestResumeAfterShutdown stops a process with messages held mid-route;
// the next process on the same database and broker resumes the execution,
// and it completes with every message processed.
func TestResumeAfterShutdown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.NewDB(t)
	ref := "test:" + t.Name()
	name, g := newTestGate(t)
	yaml := fmt.Sprintf(gatedYAML, name)

	first, inst := process(t, db, ref)
	ex := first.start(t, yaml, map[string]any{"urls": urls(5)})
	<-g.entered
	<-g.entered
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, first.m.Shutdown(sctx))
	require.Equal(t, store.StatusInterrupted, wait(t, ex))
	require.NoError(t, inst.Close(ctx))
	g.open()

	// A process on another broker leaves it alone.
	elsewhere, _ := process(t, db, "test:another-broker")
	none, err := elsewhere.m.ResumeInterrupted(ctx)
	require.NoError(t, err)
	require.Empty(t, none)

	second, _ := process(t, db, ref)
	resumed, err := second.m.ResumeInterrupted(ctx)
	require.NoError(t, err)
	require.Len(t, resumed, 1)
	again := resumed[0]
	require.Equal(t, ex.ID, again.ID)
	require.Equal(t, store.StatusCompleted, wait(t, again))
	require.EqualValues(t, 5, routeStats(t, again, "held").Completed, "every held message was processed after the resume")
	require.EqualValues(t, 1, routeStats(t, again, "seed").Completed, "counts before the interruption carry over")
	require.Equal(t, []store.ExecutionStatus{store.StatusPending, store.StatusRunning, store.StatusInterrupted,
		store.StatusRunning, store.StatusCompleted}, second.statusTimeline(t, ex.ID))
	rec, err := db.Executions().Get(ctx, ex.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusCompleted, rec.Status)
	require.Equal(t, ref, rec.QueueRef)

	// Nothing is left to claim.
	third, _ := process(t, db, ref)
	none, err = third.m.ResumeInterrupted(ctx)
	require.NoError(t, err)
	require.Empty(t, none)
}

// TestResumeLeavesLiveOwnersAlone: an interrupted execution whose owner
// still holds its lease is not taken over.
func TestResumeLeavesLiveOwnersAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.NewDB(t)
	ref := "test:" + t.Name()
	name, g := newTestGate(t)
	defer g.open()

	first, _ := process(t, db, ref)
	ex := first.start(t, fmt.Sprintf(gatedYAML, name), map[string]any{"urls": urls(2)})
	<-g.entered
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, first.m.Shutdown(sctx))
	require.Equal(t, store.StatusInterrupted, wait(t, ex))

	// first's lease is still held (its process lives on).
	other, _ := process(t, db, ref)
	none, err := other.m.ResumeInterrupted(ctx)
	require.NoError(t, err)
	require.Empty(t, none)
}

const switchedYAML = `
version: "1.0"
routes:
  expand:
    inbound: { queue: t.expand }
    adapters: [ { type: url_expander } ]
    # Every url also goes straight to the sink, whose gate can hold the
    # execution open while work dead-letters.
    outbound: [ { queue: t.work }, { queue: t.sink } ]
  work:
    inbound: { queue: t.work, concurrency: 4 }
    adapters: [ { type: test_switch, config: { name: %q } } ]
    outbound: [ { queue: t.sink } ]
  sink:
    inbound: { queue: t.sink }
    adapters: [ { type: test_gate, config: { name: %q } } ]
init_message: { route: expand, payload: {} }
`

// TestRequeueIntoAFinishedExecution: dead letters of a finished execution
// run again in a child execution of the same pipeline, linked to the
// messages that died.
func TestRequeueIntoAFinishedExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sw := switchFor(t.Name())
	sw.Store(true)
	gateName, g := newTestGate(t)
	g.open()
	ex := e.start(t, fmt.Sprintf(switchedYAML, t.Name(), gateName), map[string]any{"urls": urls(4)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	dead := e.deadLetters(t, ex.ID)
	require.Len(t, dead, 4)

	sw.Store(false) // fixed
	dls := make([]*store.DeadLetter, len(dead))
	for i := range dead {
		dls[i] = &dead[i]
	}
	res, err := e.m.RequeueDeadLetters(ctx, dls, 0)
	require.NoError(t, err)
	require.Len(t, res.Items, 4)
	require.Len(t, res.Executions, 1)
	childID := res.Executions[0].ExecutionID
	require.NotEqual(t, ex.ID, childID, "a finished execution stays finished")
	child, ok := e.m.Get(childID)
	if ok {
		require.Equal(t, store.StatusCompleted, wait(t, child))
	}
	rec, err := e.db.Executions().Get(ctx, childID)
	require.NoError(t, err)
	require.Equal(t, store.StatusCompleted, rec.Status)
	require.Equal(t, ex.ID, rec.ParentExecutionID)

	// Lineage links each new message to the one that died.
	require.NoError(t, e.lineage.Flush(ctx))
	parents := map[string]string{}
	for _, it := range res.Items {
		var parent string
		require.NoError(t, e.db.Pool().QueryRow(ctx, `SELECT parent_correlation_id FROM lineage
			WHERE execution_id = $1 AND correlation_id = $2 AND route_id = 'work'`, childID, it.MessageID).Scan(&parent))
		parents[it.DeadLetterID] = parent
	}
	for _, d := range dead {
		require.Equal(t, d.CorrelationID, parents[d.ID])
	}
	require.Equal(t, map[string]int{"work/test_switch/completed": 4, "sink/test_gate/completed": 4},
		e.lineageCounts(t, childID))
}

// TestRequeueIntoARunningExecution: the requeued messages join the
// execution that is still running, which then completes with them.
func TestRequeueIntoARunningExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sw := switchFor(t.Name())
	gateName, g := newTestGate(t)
	defer g.open()
	sw.Store(true)
	ex := e.start(t, fmt.Sprintf(switchedYAML, t.Name(), gateName), map[string]any{"urls": urls(3)})
	require.Eventually(t, func() bool { return routeStats(t, ex, "work").DeadLettered == 3 }, 30*time.Second, 20*time.Millisecond)
	sw.Store(false)
	dead := e.deadLetters(t, ex.ID)
	require.Len(t, dead, 3)
	dls := []*store.DeadLetter{&dead[0], &dead[1], &dead[2]}

	// Held by a delay, then through the fixed route.
	res, err := e.m.RequeueDeadLetters(ctx, dls, 300*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, res.Items, 3)
	for _, it := range res.Items {
		require.Equal(t, ex.ID, it.ExecutionID)
	}
	require.Equal(t, store.StatusRunning, res.Executions[0].Status)
	g.open()
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.EqualValues(t, 3, routeStats(t, ex, "work").Completed)
	require.EqualValues(t, 6, routeStats(t, ex, "sink").Completed, "3 straight from expand, 3 through the fixed route")
}

// TestRequeueUnknownExecution: dead letters whose execution is gone.
func TestRequeueUnknownExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.m.RequeueDeadLetters(context.Background(), []*store.DeadLetter{{ID: "x", ExecutionID: "01a23000-0000-7000-8000-000000000000"}}, 0)
	require.ErrorIs(t, err, orchestrator.ErrNotFound)
}

// TestTakenOverExecutionStopsHere: while this process had lost its lease,
// another took its execution over; once the lease is back, the execution
// stops here without touching the record or the queues the other process
// now works on.
func TestTakenOverExecutionStopsHere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.NewDB(t)
	name, g := newTestGate(t)
	defer g.open()
	e, _ := process(t, db, "test:"+t.Name())
	ex := e.start(t, fmt.Sprintf(gatedYAML, name), map[string]any{"urls": urls(3)})
	<-g.entered

	require.NoError(t, e.m.VerifyOwnership(ctx))
	require.Equal(t, store.StatusRunning, ex.Status(), "still its own")

	_, err := db.Pool().Exec(ctx, `UPDATE executions SET owner_id = 'another-process' WHERE id = $1`, ex.ID)
	require.NoError(t, err)
	require.NoError(t, e.m.VerifyOwnership(ctx))
	wait(t, ex)
	rec, err := db.Executions().Get(ctx, ex.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusRunning, rec.Status, "the record is the other process's")
	require.Equal(t, "another-process", rec.OwnerID)
	require.Empty(t, e.deadLetters(t, ex.ID))
	require.Eventually(t, func() bool {
		d, err := e.queue.Depth(ctx, queue.Destination{Execution: ex.ID, Queue: "t.held"})
		return err == nil && d.Pending+d.InFlight == 3
	}, 10*time.Second, 50*time.Millisecond, "its messages wait on the broker for the new owner")
}
