package orchestrator

import (
	"errors"
	"fmt"

	"github.com/factflow/factflow/store"
)

var (
	// ErrTooManyExecutions: the manager's max_concurrent_executions cap is
	// reached (the API answers 429).
	ErrTooManyExecutions = errors.New("too many concurrent executions")
	// ErrNotRunnable: the pipeline has validation errors.
	ErrNotRunnable = errors.New("pipeline is not runnable")
	// ErrNotFound: no such running execution.
	ErrNotFound = errors.New("execution not found")
	// ErrShuttingDown: the manager is stopping and takes no new executions.
	ErrShuttingDown = errors.New("orchestrator is shutting down")

	// errCancelled and errShutdown are the causes with which the work
	// context of an execution is cancelled; the route processor uses them
	// to tell an interrupted message (redeliver, never dead-letter) from a
	// failed one.
	errCancelled = errors.New("execution cancelled")
	errShutdown  = errors.New("process shutting down")
	// errTakenOver stops an execution another process took over while this
	// one had lost its lease: it goes on there, so nothing is recorded here.
	errTakenOver = errors.New("execution taken over by another process")
)

// DuplicateStartError: a start carried an idempotency key already used
// within the window; nothing new was started.
type DuplicateStartError struct {
	Execution *store.Execution // the execution the key started
}

func (e *DuplicateStartError) Error() string {
	return fmt.Sprintf("idempotency key %q already started execution %s", e.Execution.IdempotencyKey, e.Execution.ID)
}

// ExecutionError is why an execution failed; it becomes error_info.
type ExecutionError struct {
	Code   string `json:"code"`
	Route  string `json:"route,omitempty"`
	Reason string `json:"reason"`
	Hint   string `json:"hint,omitempty"`
}

func (e *ExecutionError) Error() string {
	if e.Route != "" {
		return fmt.Sprintf("%s: route %s: %s", e.Code, e.Route, e.Reason)
	}
	return e.Code + ": " + e.Reason
}

func (e *ExecutionError) info() map[string]any {
	m := map[string]any{"code": e.Code, "reason": e.Reason}
	if e.Route != "" {
		m["route"] = e.Route
	}
	if e.Hint != "" {
		m["hint"] = e.Hint
	}
	return m
}
