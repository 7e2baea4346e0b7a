package store

import (
	"encoding/json"
	"time"
)

// ExecutionStatus is an execution's state. Terminal: completed, failed,
// cancelled. interrupted is not terminal: the execution resumes at the next
// start.
type ExecutionStatus string

const (
	StatusPending     ExecutionStatus = "pending"
	StatusRunning     ExecutionStatus = "running"
	StatusCompleted   ExecutionStatus = "completed"
	StatusFailed      ExecutionStatus = "failed"
	StatusCancelling  ExecutionStatus = "cancelling"
	StatusCancelled   ExecutionStatus = "cancelled"
	StatusInterrupted ExecutionStatus = "interrupted"
)

// Terminal reports whether no further transition can happen.
func (s ExecutionStatus) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// PipelineConfig is a stored pipeline YAML.
type PipelineConfig struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	YAML        string    `json:"config_yaml"`
	SourceType  string    `json:"source_type"` // api | file | shipped
	SourcePath  string    `json:"source_path,omitempty"`
	Hash        string    `json:"config_hash"`
	Version     int       `json:"version"`
	IsActive    bool      `json:"is_active"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Execution is one run of a pipeline config.
type Execution struct {
	ID                string          `json:"id"`
	ConfigID          string          `json:"config_id,omitempty"`
	ConfigName        string          `json:"config_name,omitempty"`
	Status            ExecutionStatus `json:"status"`
	Tag               string          `json:"tag,omitempty"`
	ConfigSnapshot    json.RawMessage `json:"config_snapshot,omitempty"`
	RootCorrelationID string          `json:"root_correlation_id,omitempty"`
	ParentExecutionID string          `json:"parent_execution_id,omitempty"`
	ReplaySource      json.RawMessage `json:"replay_source,omitempty"`
	Metadata          map[string]any  `json:"metadata,omitempty"`
	ErrorInfo         map[string]any  `json:"error_info,omitempty"`
	IdempotencyKey    string          `json:"idempotency_key,omitempty"`
	// OwnerID is the instance (process) running the execution; see
	// Instance.
	OwnerID string `json:"owner_id,omitempty"`
	// QueueRef names the queue provider holding the execution's messages
	// (scheme and address, never credentials); a restarted server resumes
	// only executions whose messages it can reach.
	QueueRef    string     `json:"queue_ref,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Execution event types.
const (
	EventStatus     = "status"
	EventProgress   = "progress"
	EventStage      = "stage"
	EventDeadLetter = "dead_letter"
	// EventBreaker is a circuit breaker changing state (data: adapter,
	// adapter_index, from, to).
	EventBreaker = "breaker"
	// EventStepFailed is an adapter step that failed (data as a stage
	// event's). Published whether or not anyone asked for stage events,
	// for the lineage.failed webhooks; never persisted in the timeline.
	EventStepFailed = "step_failed"
)

// ExecutionEvent is one entry of an execution's timeline. IDs are UUIDv7, so
// they sort by time and serve as SSE event ids.
type ExecutionEvent struct {
	ID          string          `json:"id"`
	ExecutionID string          `json:"execution_id"`
	Type        string          `json:"type"`
	Status      ExecutionStatus `json:"status,omitempty"`
	Route       string          `json:"route,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Data        map[string]any  `json:"data,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
}

// Stage statuses of a lineage row.
const (
	StageCompleted = "completed"
	StageFailed    = "failed"
	StageSkipped   = "skipped"
	StageRetrying  = "retrying"
)

// LineageEntry is one message through one adapter. ID (a UUIDv7) is set by
// the lineage writer when the entry is written; it makes retried writes
// idempotent.
type LineageEntry struct {
	ID                  string         `json:"id,omitempty"`
	CorrelationID       string         `json:"correlation_id"`
	ParentCorrelationID string         `json:"parent_correlation_id,omitempty"`
	ReplayBatchID       string         `json:"replay_batch_id,omitempty"`
	ExecutionID         string         `json:"execution_id"`
	RouteID             string         `json:"route_id"`
	AdapterName         string         `json:"adapter_name"`
	AdapterIndex        int            `json:"adapter_index"`
	StageName           string         `json:"stage_name"`
	StageStatus         string         `json:"stage_status"`
	InputHash           string         `json:"input_hash,omitempty"`
	StartedAt           time.Time      `json:"started_at"`
	CompletedAt         time.Time      `json:"completed_at"`
	DurationMS          float64        `json:"duration_ms"`
	Metadata            map[string]any `json:"metadata,omitempty"`
	ErrorInfo           map[string]any `json:"error_info,omitempty"`
}

// DeadLetter is a message the engine gave up on, with why.
type DeadLetter struct {
	ID            string            `json:"id"`
	ExecutionID   string            `json:"execution_id"`
	Route         string            `json:"route"`
	Adapter       string            `json:"adapter,omitempty"`
	Queue         string            `json:"queue"`
	CorrelationID string            `json:"correlation_id"`
	Payload       json.RawMessage   `json:"payload"`
	Headers       map[string]string `json:"headers,omitempty"`
	Reason        string            `json:"reason"`
	ErrorClass    string            `json:"error_class"`
	Attempt       int               `json:"attempt"`
	FirstFailedAt time.Time         `json:"first_failed_at"`
	CreatedAt     time.Time         `json:"created_at"`
	// RequeuedAt is set once the message was put back into its execution;
	// the row stays as the record of the failure. Nil: pending.
	RequeuedAt *time.Time `json:"requeued_at,omitempty"`
	// RequeuedAs is the id of the message the requeue published.
	RequeuedAs string `json:"requeued_as,omitempty"`
}
