package orchestrator

import (
	"context"
	"time"

	"github.com/factflow/factflow/store"
)

// The engine's view of persistence: small interfaces, implemented by the
// store package's repositories.

// ExecutionRecorder persists executions and their status transitions.
type ExecutionRecorder interface {
	Create(ctx context.Context, e *store.Execution) error
	// CreateIdempotent creates e unless an execution with its idempotency
	// key was created within the window; then e becomes that one and
	// created is false. Concurrent calls with one key create once.
	CreateIdempotent(ctx context.Context, e *store.Execution, within time.Duration) (created bool, err error)
	// SetStatus persists a legal transition together with its timeline
	// event, which it returns for publishing.
	SetStatus(ctx context.Context, id string, status store.ExecutionStatus, reason string, errorInfo map[string]any) (*store.StatusChange, error)
}

// EventRecorder persists timeline events.
type EventRecorder interface {
	Append(ctx context.Context, ev store.ExecutionEvent) (store.ExecutionEvent, error)
}

// LineageSink takes lineage rows without blocking (an async batched writer).
type LineageSink interface {
	Append(e store.LineageEntry)
}

// lineageFlusher is a LineageSink that can be asked to write what it holds.
type lineageFlusher interface {
	Flush(ctx context.Context) error
}

// DeadLetterRecorder persists dead letters; a message is settled as dead
// only after this succeeded.
type DeadLetterRecorder interface {
	Insert(ctx context.Context, dl *store.DeadLetter) error
}

// StorageEventRecorder persists the storage event feed.
type StorageEventRecorder interface {
	Append(ctx context.Context, ev store.StorageEvent) (store.StorageEvent, error)
}

// RouteStateStore persists pause/resume per route key.
type RouteStateStore interface {
	Set(ctx context.Context, routeKey string, state store.RouteStateValue) (store.RouteState, error)
	List(ctx context.Context) ([]store.RouteState, error)
}
