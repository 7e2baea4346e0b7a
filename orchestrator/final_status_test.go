package orchestrator_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/store"
)

// errInjectedOutage stands for the database being unreachable.
var errInjectedOutage = errors.New("dial tcp: connection refused (injected)")

// faultyStatuses passes status writes to the real store but fails some of
// them the way an outage does: before the write (nothing committed) or
// after it (committed, the answer lost). The shared test database cannot be
// stopped, so this is how these tests bring an outage to a status write.
type faultyStatuses struct {
	orchestrator.ExecutionRecorder

	mu            sync.Mutex
	before, after map[store.ExecutionStatus]int // failures left
	calls         map[store.ExecutionStatus]int
}

func withFaultyStatuses(f *faultyStatuses) envOption {
	return func(o *orchestrator.Options) {
		f.ExecutionRecorder = o.Executions
		o.Executions = f
	}
}

func (f *faultyStatuses) SetStatus(ctx context.Context, id string, status store.ExecutionStatus, reason string,
	errInfo map[string]any) (*store.StatusChange, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[store.ExecutionStatus]int{}
	}
	f.calls[status]++
	failBefore := f.before[status] > 0
	failAfter := !failBefore && f.after[status] > 0
	if failBefore {
		f.before[status]--
	} else if failAfter {
		f.after[status]--
	}
	f.mu.Unlock()
	if failBefore {
		return nil, errInjectedOutage
	}
	change, err := f.ExecutionRecorder.SetStatus(ctx, id, status, reason, errInfo)
	if err == nil && failAfter {
		return nil, errInjectedOutage
	}
	return change, err
}

func (f *faultyStatuses) callsOf(status store.ExecutionStatus) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[status]
}

func (e *env) persistedStatus(t *testing.T, id string) store.ExecutionStatus {
	t.Helper()
	rec, err := e.db.Executions().Get(context.Background(), id)
	require.NoError(t, err)
	return rec.Status
}

// A final status the database did not take is written again until it
// lands; Done waits for it.
func TestFinalStatusIsRetriedUntilPersisted(t *testing.T) {
	t.Parallel()
	f := &faultyStatuses{before: map[store.ExecutionStatus]int{store.StatusCompleted: 2}}
	e := newEnv(t, withFaultyStatuses(f))
	ex := e.start(t, fanOutYAML, map[string]any{"urls": urls(5)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.Equal(t, store.StatusCompleted, e.persistedStatus(t, ex.ID))
	require.Equal(t, 3, f.callsOf(store.StatusCompleted))
	require.Equal(t, []store.ExecutionStatus{store.StatusPending, store.StatusRunning, store.StatusCompleted},
		e.statusTimeline(t, ex.ID))
}

// A final status committed whose answer was lost is not written twice.
func TestFinalStatusCommittedButUnansweredIsNotRepeated(t *testing.T) {
	t.Parallel()
	f := &faultyStatuses{after: map[store.ExecutionStatus]int{store.StatusCompleted: 1}}
	e := newEnv(t, withFaultyStatuses(f))
	ex := e.start(t, fanOutYAML, map[string]any{"urls": urls(5)})
	require.Equal(t, store.StatusCompleted, wait(t, ex))
	require.Equal(t, store.StatusCompleted, e.persistedStatus(t, ex.ID))
	require.Equal(t, 2, f.callsOf(store.StatusCompleted), "the retry finds it already written")
	require.Equal(t, []store.ExecutionStatus{store.StatusPending, store.StatusRunning, store.StatusCompleted},
		e.statusTimeline(t, ex.ID))
}

// A cancel whose cancelling step was lost still ends cancelled in the
// record, through the transitions the state machine allows.
func TestCancelledStatusWhoseCancellingStepWasLost(t *testing.T) {
	t.Parallel()
	f := &faultyStatuses{before: map[store.ExecutionStatus]int{store.StatusCancelling: 1}}
	e := newEnv(t, withFaultyStatuses(f), func(o *orchestrator.Options) { o.DrainTimeout = 200 * time.Millisecond })
	name, g := newTestGate(t)
	ex := e.start(t, fmt.Sprintf(gatedYAML, name), map[string]any{"urls": urls(5)})
	<-g.entered
	require.NoError(t, e.m.Cancel(ex.ID))
	require.Equal(t, store.StatusCancelled, wait(t, ex))
	require.Equal(t, store.StatusCancelled, e.persistedStatus(t, ex.ID))
	require.Equal(t, []store.ExecutionStatus{store.StatusPending, store.StatusRunning, store.StatusCancelling, store.StatusCancelled},
		e.statusTimeline(t, ex.ID))
}
