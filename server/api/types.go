package api

import (
	"encoding/json"
	"time"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// BasePath prefixes every operation of the API.
const BasePath = "/api/v1"

// Page is the envelope of every list.
type Page[T any] struct {
	Total   int  `json:"total" doc:"Items matching the query, across all pages"`
	Limit   int  `json:"limit"`
	Offset  int  `json:"offset"`
	HasMore bool `json:"has_more"`
	Items   []T  `json:"items"`
}

// ValidationReport is a pipeline's validation outcome.
type ValidationReport struct {
	IsValid      bool                 `json:"is_valid"`
	ErrorCount   int                  `json:"error_count"`
	WarningCount int                  `json:"warning_count"`
	Findings     []configspec.Finding `json:"findings"`
}

// Config is a stored pipeline config with its validation report, derived
// again against the current adapter registry on every read.
type Config struct {
	store.PipelineConfig
	ValidationReport ValidationReport `json:"validation_report"`
	IsRunnable       bool             `json:"is_runnable"`
}

// ConfigVersion is one historical YAML of a config.
type ConfigVersion struct {
	store.ConfigVersion
	ValidationReport ValidationReport `json:"validation_report"`
}

// ConfigVersions answers GET /configs/{id}/versions.
type ConfigVersions struct {
	ConfigID string          `json:"config_id"`
	Current  int             `json:"current_version"`
	Total    int             `json:"total"`
	Items    []ConfigVersion `json:"items"`
}

// ConfigCreate is the body of POST /configs.
type ConfigCreate struct {
	Name        string `json:"name" minLength:"1" maxLength:"200" example:"docs-ingest" doc:"Unique, human name"`
	ConfigYAML  string `json:"config_yaml" maxLength:"1048576" example:"version: \"1.0\"\nroutes:\n  a:\n    inbound: { queue: demo.a }\n    adapters: [ { type: noop } ]\ninit_message: { route: a, payload: {} }\n" doc:"Pipeline YAML; stored even when invalid"`
	Description string `json:"description,omitempty" maxLength:"2000"`
	SourceType  string `json:"source_type,omitempty" enum:"api,file,imported,cli" doc:"Where the YAML came from (default api)"`
	SourcePath  string `json:"source_path,omitempty" maxLength:"1024"`
}

// ConfigUpdate is the body of PUT /configs/{id}.
type ConfigUpdate struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	ConfigYAML  string `json:"config_yaml" maxLength:"1048576"`
	Description string `json:"description,omitempty" maxLength:"2000"`
}

// ConfigValidate is the body of POST /configs/validate.
type ConfigValidate struct {
	ConfigYAML string `json:"config_yaml" maxLength:"1048576" example:"version: \"1.0\"\nroutes: {}\n"`
}

// ExecutionStart is the body of POST /executions.
type ExecutionStart struct {
	ConfigID string `json:"config_id" minLength:"1" example:"docs-ingest" doc:"Config id (UUID) or name"`
	// Metadata is free-form JSON kept with the execution; TriggerContext is
	// its older name and is merged into it.
	Metadata       map[string]any `json:"metadata,omitempty"`
	TriggerContext map[string]any `json:"trigger_context,omitempty" doc:"Alias of metadata"`
	Tag            string         `json:"tag,omitempty" maxLength:"200" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$" example:"nightly-2026-12-01" doc:"Unique alias usable wherever an execution id is"`
	IdempotencyKey string         `json:"idempotency_key,omitempty" maxLength:"200" example:"deploy-4711" doc:"A second start with the same key within 10 minutes returns the first execution"`
	// Payload overrides fields of init_message.payload.
	Payload         map[string]any `json:"payload,omitempty"`
	SkipInitMessage bool           `json:"skip_init_message,omitempty"`
}

// ExecutionReplay is the body of POST /executions/{id}/replay.
type ExecutionReplay struct {
	ReplaySource string         `json:"replay_source,omitempty" enum:"storage" default:"storage" doc:"Where the replayed messages come from: the artefacts in storage"`
	FromStage    string         `json:"from_stage" minLength:"1" maxLength:"100" example:"web_content_storage" doc:"The stage (adapter step name) whose stored artefacts are replayed"`
	FromRoute    string         `json:"from_route,omitempty" maxLength:"100" doc:"The route the stage belongs to, when several have it"`
	FromPath     string         `json:"from_path,omitempty" maxLength:"1024" doc:"Only artefacts under this sub-path of the stage's folder"`
	ToRoute      string         `json:"to_route,omitempty" maxLength:"100" doc:"The route receiving the artefacts; by default the one the stage's route feeds"`
	ConfigID     string         `json:"config_id,omitempty" maxLength:"200" doc:"Replay into another config's pipeline (cross-pipeline; to_route then names its route)"`
	Tag          string         `json:"tag,omitempty" maxLength:"200" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	Metadata     map[string]any `json:"metadata,omitempty"`
}

// DetachedReplay is the body of POST /replay: stored artefacts of any
// execution into a route of a config, as a new, unlinked execution.
type DetachedReplay struct {
	SourceExecutionID string         `json:"source_execution_id" minLength:"1" maxLength:"200" example:"nightly-2026-12-01" doc:"Execution (id or tag) whose artefacts are replayed"`
	FromStage         string         `json:"from_stage" minLength:"1" maxLength:"100" example:"web_content_storage"`
	FromRoute         string         `json:"from_route,omitempty" maxLength:"100"`
	FromPath          string         `json:"from_path,omitempty" maxLength:"1024"`
	ConfigID          string         `json:"config_id" minLength:"1" maxLength:"200" doc:"Config (id or name) to run"`
	ToRoute           string         `json:"to_route" minLength:"1" maxLength:"100" example:"convert" doc:"Route of that config receiving the artefacts"`
	Tag               string         `json:"tag,omitempty" maxLength:"200" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	Metadata          map[string]any `json:"metadata,omitempty"`
}

// ReplayResult answers a replay.
type ReplayResult struct {
	Execution        store.Execution `json:"execution"`
	ReplayBatchID    string          `json:"replay_batch_id"`
	ToRoute          string          `json:"to_route"`
	ObjectsFound     int             `json:"objects_found"`
	ObjectsPublished int             `json:"objects_published"`
	ObjectsFailed    int             `json:"objects_failed" doc:"Artefacts that could not become messages (too large)"`
}

// Execution is an execution record.
type Execution = store.Execution

// CancelResult answers POST /executions/{id}/cancel.
type CancelResult struct {
	ID     string                `json:"id"`
	Status store.ExecutionStatus `json:"status"`
}

// RouteStats are one route's counts in an execution.
type RouteStats struct {
	RouteID string `json:"route_id"`
	Name    string `json:"name,omitempty"`
	Queue   string `json:"queue"`
	// Live counts come from the engine while the execution runs here;
	// afterwards (or on another instance) they are derived from lineage.
	Live          bool    `json:"live"`
	Received      int64   `json:"received"`
	Completed     int64   `json:"completed"`
	Failed        int64   `json:"failed"`
	Retried       int64   `json:"retried"`
	DeadLettered  int64   `json:"dead_lettered"`
	Skipped       int64   `json:"skipped"`
	Emitted       int64   `json:"emitted"`
	InFlight      int64   `json:"in_flight"`
	Paused        bool    `json:"paused"`
	Rate          float64 `json:"rate" doc:"Completed messages per second lately"`
	AvgDurationMS float64 `json:"avg_duration_ms"`
}

// ExecutionRoutes answers GET /executions/{id}/routes.
type ExecutionRoutes struct {
	ExecutionID string       `json:"execution_id"`
	Status      string       `json:"status"`
	Routes      []RouteStats `json:"routes"`
}

// AdapterStats are one adapter's lineage counts in an execution.
type AdapterStats struct {
	RouteID       string  `json:"route_id"`
	AdapterName   string  `json:"adapter_name"`
	AdapterIndex  int     `json:"adapter_index"`
	Completed     int64   `json:"completed"`
	Failed        int64   `json:"failed"`
	Skipped       int64   `json:"skipped"`
	Retrying      int64   `json:"retrying"`
	AvgDurationMS float64 `json:"avg_duration_ms"`
	Throughput    float64 `json:"throughput" doc:"Completed messages per second between the first start and the last completion"`
}

// ExecutionStats answers GET /executions/{id}/stats.
type ExecutionStats struct {
	ExecutionID  string         `json:"execution_id"`
	Status       string         `json:"status"`
	ElapsedMS    int64          `json:"elapsed_ms"`
	Outstanding  int            `json:"outstanding" doc:"Messages published but not yet settled (live only)"`
	Artefacts    int64          `json:"artefacts" doc:"Objects written (live only)"`
	DeadLetters  int            `json:"dead_letters" doc:"Dead letters still pending (not requeued)"`
	LineageRows  int64          `json:"lineage_rows"`
	Totals       RouteStats     `json:"totals"`
	Routes       []RouteStats   `json:"routes"`
	Adapters     []AdapterStats `json:"adapters"`
	LineageNotes string         `json:"lineage_notes,omitempty"`
}

// DAGAdapter is one adapter step of a DAG node.
type DAGAdapter struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// DAGNode is a route.
type DAGNode struct {
	RouteID     string       `json:"route_id"`
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description,omitempty"`
	Queue       string       `json:"queue"`
	Adapters    []DAGAdapter `json:"adapters"`
}

// DAGEdge is a queue from one route to another.
type DAGEdge struct {
	FromRoute string `json:"from_route"`
	ToRoute   string `json:"to_route"`
	Queue     string `json:"queue"`
}

// DAG answers GET /executions/{id}/dag, from the execution's config
// snapshot.
type DAG struct {
	ExecutionID string    `json:"execution_id"`
	InitRoute   string    `json:"init_route,omitempty"`
	InitQueue   string    `json:"init_queue,omitempty"`
	Nodes       []DAGNode `json:"nodes"`
	Edges       []DAGEdge `json:"edges"`
}

// Timeline answers GET /executions/{id}/timeline.
type Timeline struct {
	ExecutionID string                 `json:"execution_id"`
	Events      []store.ExecutionEvent `json:"events"`
}

// LineagePage answers GET /executions/{id}/lineage.
type LineagePage struct {
	ExecutionID string `json:"execution_id"`
	Page[store.LineageEntry]
}

// DeadLetter is a message the engine gave up on.
type DeadLetter = store.DeadLetter

// DeadLetterSelector selects dead letters by what they share, as the query
// parameters of GET /dead-letters do. Empty fields match all.
type DeadLetterSelector struct {
	ExecutionID string     `json:"execution_id,omitempty" maxLength:"200" doc:"Execution id or tag"`
	Route       string     `json:"route,omitempty" maxLength:"200" doc:"Route key"`
	Adapter     string     `json:"adapter,omitempty" maxLength:"200" doc:"Adapter that gave up"`
	ErrorClass  string     `json:"error_class,omitempty" maxLength:"100" doc:"Error class, e.g. permanent or retryable"`
	Since       *time.Time `json:"since,omitempty" doc:"Dead-lettered at or after (RFC 3339)"`
	Until       *time.Time `json:"until,omitempty" doc:"Dead-lettered before (RFC 3339)"`
}

// DeadLetterRequeue is the body of POST /dead-letters/requeue: exactly one
// of ids and filter.
type DeadLetterRequeue struct {
	IDs    []string            `json:"ids,omitempty" maxItems:"1000" doc:"Dead letters to requeue (at most 1000)"`
	Filter *DeadLetterSelector `json:"filter,omitempty" doc:"Requeue the pending dead letters matching this, oldest first"`
	Delay  string              `json:"delay,omitempty" maxLength:"32" doc:"Wait this long before the messages are delivered again (Go duration, e.g. 30s, 5m; at most 24h)"`
	// DelaySeconds is Delay in seconds, for clients without duration
	// strings; give one or the other.
	DelaySeconds *float64 `json:"delay_seconds,omitempty" minimum:"0" maximum:"86400" doc:"Delay in seconds (instead of delay)"`
	Max          int      `json:"max,omitempty" minimum:"0" maximum:"10000" doc:"Requeue at most this many of a filter's matches (default 1000)"`
}

// DeadLetterRequeueResult answers POST /dead-letters/requeue.
type DeadLetterRequeueResult struct {
	Requeued   int                 `json:"requeued"`
	Executions []RequeuedExecution `json:"executions"`
	Items      []RequeuedItem      `json:"items"`
}

// RequeuedExecution is how many messages went back into one execution and
// the status it is in afterwards. Dead letters of a running or interrupted
// execution go back into it; those of a finished one run in a new child
// execution, named here with the finished one as its source.
type RequeuedExecution struct {
	ExecutionID       string                `json:"execution_id"`
	Requeued          int                   `json:"requeued"`
	Status            store.ExecutionStatus `json:"status"`
	SourceExecutionID string                `json:"source_execution_id,omitempty" doc:"The finished execution the dead letters came from, when a new child execution runs them"`
}

// RequeuedItem links a dead letter to the message that replaced it;
// lineage links the two messages too (the new one's parent is the dead
// one).
type RequeuedItem struct {
	DeadLetterID string `json:"dead_letter_id"`
	MessageID    string `json:"message_id"`
	ExecutionID  string `json:"execution_id" doc:"The execution the new message runs in"`
}

// DeadLetterDeleteResult answers DELETE /dead-letters.
type DeadLetterDeleteResult struct {
	Deleted int `json:"deleted"`
}

// RouteState is a route key's persisted state.
type RouteState = store.RouteState

// PipelineControl is the body of PATCH /pipelines/{route_id}.
type PipelineControl struct {
	State string `json:"state" enum:"paused,running" example:"paused"`
}

// PipelineControlResult answers PATCH /pipelines/{route_id}.
type PipelineControlResult struct {
	Success bool   `json:"success"`
	RouteID string `json:"route_id"`
	Status  string `json:"status" enum:"paused,running"`
	Message string `json:"message"`
}

// StorageObject is one listed object or common prefix.
type StorageObject struct {
	Key          string           `json:"key"`
	Size         int64            `json:"size"`
	ContentType  string           `json:"content_type,omitempty"`
	LastModified *time.Time       `json:"last_modified,omitempty"`
	Metadata     storage.Metadata `json:"metadata,omitempty"`
}

// StorageList answers GET /storage/objects.
type StorageList struct {
	Page[StorageObject]
	Prefix         string   `json:"prefix"`
	CommonPrefixes []string `json:"common_prefixes"`
	// Executions describes the executions whose folders
	// (executions/<id>/) are among the common prefixes, with
	// include_execution_info.
	Executions []StorageExecution `json:"execution_prefixes,omitempty"`
}

// StorageExecution is the execution behind an executions/<id>/ folder.
type StorageExecution struct {
	Prefix      string                `json:"prefix"`
	ExecutionID string                `json:"execution_id"`
	Status      store.ExecutionStatus `json:"status,omitempty"`
	ConfigName  string                `json:"config_name,omitempty"`
	Tag         string                `json:"tag,omitempty"`
	StartedAt   *time.Time            `json:"started_at,omitempty"`
	Found       bool                  `json:"found" doc:"false when no execution record has this id"`
}

// ObjectMetadata answers GET /storage/objects/{key}/metadata.
type ObjectMetadata struct {
	Key          string           `json:"key"`
	Size         int64            `json:"size"`
	ContentType  string           `json:"content_type,omitempty"`
	ETag         string           `json:"etag,omitempty"`
	LastModified *time.Time       `json:"last_modified,omitempty"`
	Metadata     storage.Metadata `json:"metadata"`
}

// HealthComponent is one dependency's health.
type HealthComponent struct {
	Name      string    `json:"name"`
	Status    string    `json:"status" enum:"healthy,degraded,unhealthy"`
	Message   string    `json:"message,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
	LatencyMS float64   `json:"latency_ms"`
	Details   any       `json:"details,omitempty"`
}

// Health answers GET /system/health.
type Health struct {
	Status        string            `json:"status" enum:"healthy,degraded,unhealthy"`
	Version       string            `json:"version"`
	Components    []HealthComponent `json:"components"`
	Timestamp     time.Time         `json:"timestamp"`
	UptimeSeconds float64           `json:"uptime_seconds"`
}

// Adapter describes an adapter type.
type Adapter struct {
	Type         string         `json:"type"`
	Category     string         `json:"category"`
	Summary      string         `json:"summary"`
	Description  string         `json:"description,omitempty"`
	Reads        []string       `json:"reads,omitempty"`
	Writes       []string       `json:"writes,omitempty"`
	Emits        bool           `json:"emits"`
	ConfigSchema map[string]any `json:"config_schema,omitempty"`
	// Example is an entry for a route's adapters list, in YAML; it
	// validates as it is.
	Example string `json:"example"`
}

// AdapterList answers GET /adapters.
type AdapterList struct {
	Total int       `json:"total"`
	Items []Adapter `json:"items"`
}

// Event is what an SSE stream carries in each event's data: an execution
// event, or a keyed storage event.
type Event = store.ExecutionEvent

// Problem is the RFC 9457 body of every error, extended with a stable
// error_code, the request's correlation id and a timestamp.
type Problem struct {
	Type          string          `json:"type,omitempty"`
	Title         string          `json:"title"`
	Status        int             `json:"status"`
	Detail        string          `json:"detail"`
	Instance      string          `json:"instance,omitempty"`
	ErrorCode     string          `json:"error_code"`
	Hint          string          `json:"hint,omitempty"`
	CorrelationID string          `json:"correlation_id"`
	Timestamp     time.Time       `json:"timestamp"`
	Errors        []ProblemDetail `json:"errors,omitempty"`
	// ValidationReport accompanies CONFIG_INVALID.
	ValidationReport *ValidationReport `json:"validation_report,omitempty"`
	// Extra carries error-specific fields (e.g. the running count of
	// TOO_MANY_EXECUTIONS).
	Extra json.RawMessage `json:"extra,omitempty"`
}

// ProblemDetail locates one problem in the request.
type ProblemDetail struct {
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
	Value    any    `json:"value,omitempty"`
}
