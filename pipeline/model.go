package pipeline

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/pipeline/condition"
)

// SchemaVersion is the only pipeline YAML version understood today.
const SchemaVersion = "1.0"

// Pipeline is a loaded, defaulted pipeline definition. Only a Pipeline from
// a report without errors may be run.
type Pipeline struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Routes by route key (the YAML map key); RouteOrder keeps YAML order.
	Routes     map[string]*Route `json:"routes"`
	RouteOrder []string          `json:"route_order"`
	// InitMessage seeds an execution; nil when the YAML has none.
	InitMessage *InitMessage `json:"init_message,omitempty"`
	AllowCycles bool         `json:"allow_cycles,omitempty"`
	Execution   Execution    `json:"execution"`
	// Tests is the raw `tests:` section (pipeline tests), kept for the test
	// runner; nil when absent.
	Tests *yaml.Node `json:"-"`
}

// Execution holds per-execution limits (YAML key "execution").
type Execution struct {
	// MaxHandlers caps handlers running at once across all routes (30).
	MaxHandlers int `json:"max_handlers"`
	// MaxFanoutPending caps emitted messages waiting to be published (500).
	MaxFanoutPending int `json:"max_fanout_pending"`
	// MaxPayloadBytes bounds one message's JSON payload (1 MiB).
	MaxPayloadBytes int `json:"max_payload_bytes"`
}

// Default execution limits.
const (
	DefaultMaxHandlers      = 30
	DefaultMaxFanoutPending = 500
	DefaultMaxPayloadBytes  = 1 << 20
)

// InitMessage is the seed published when an execution starts.
type InitMessage struct {
	Route   string         `json:"route"`
	Payload map[string]any `json:"payload"`
}

// Route consumes one inbound queue, runs its adapters in order on every
// message and publishes results to its outbound queues.
type Route struct {
	// ID is the route key.
	ID          string     `json:"id"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	Inbound     Inbound    `json:"inbound"`
	Adapters    []Step     `json:"adapters"`
	Outbound    []Outbound `json:"outbound,omitempty"`
	// Timeout bounds the whole adapter chain for one message (0 = none).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Ordering is OrderingByKey ("key") for per-key ordered processing by
	// the payload field OrderingKey, or "" for none.
	Ordering       string         `json:"ordering,omitempty"`
	OrderingKey    string         `json:"ordering_key,omitempty"`
	ErrorHandling  ErrorHandling  `json:"error_handling"`
	Backpressure   Backpressure   `json:"backpressure"`
	CircuitBreaker CircuitBreaker `json:"circuit_breaker"`
	// Line is the route key's line in the YAML (0 if unknown).
	Line int `json:"-"`
}

// Inbound is a route's input queue.
type Inbound struct {
	// Queue is the logical, normalized queue name.
	Queue string `json:"queue"`
	// Concurrency is the number of messages handled at once (default 1).
	Concurrency int `json:"concurrency"`
	// Prefetch is the broker-side buffer (default = Concurrency).
	Prefetch int `json:"prefetch"`
	// Subscription is the shared-subscription name (reference compatibility).
	Subscription string `json:"subscription,omitempty"`
}

// Step is one adapter in a route's chain.
type Step struct {
	Type string `json:"type"`
	// Name labels the step (and is its storage stage name); defaults to Type.
	Name string `json:"name,omitempty"`
	// Config is the decoded config struct (a value of the adapter spec's
	// config type, defaults applied), or nil when the adapter takes none.
	Config any `json:"config,omitempty"`
	// Condition, when set, skips the adapter for messages that do not match.
	Condition *condition.Condition `json:"condition,omitempty"`
}

// Outbound is one output queue, optionally filtered.
type Outbound struct {
	Queue     string               `json:"queue"`
	Condition *condition.Condition `json:"condition,omitempty"`
}

// Ordering modes.
const OrderingByKey = "key"

// Backoff strategies.
const (
	BackoffFixed       = "fixed"
	BackoffExponential = "exponential"
)

// ErrorHandling is a route's retry and dead-letter policy.
type ErrorHandling struct {
	MaxRetries int           `json:"max_retries"`
	RetryDelay time.Duration `json:"retry_delay"`
	// MaxDelay caps exponential backoff.
	MaxDelay time.Duration `json:"max_delay"`
	Backoff  string        `json:"backoff"`
	// Jitter is the random fraction (0..1) added to or removed from delays.
	Jitter     float64 `json:"jitter"`
	DeadLetter bool    `json:"dead_letter"`
	// DeadLetterQueue is an optional broker-side DLQ destination.
	DeadLetterQueue string `json:"dead_letter_queue,omitempty"`
	// NackWindow fails the execution when more than NackThreshold of the
	// route's last NackWindow messages were dead-lettered (0 = off).
	NackWindow    int `json:"nack_window,omitempty"`
	NackThreshold int `json:"nack_threshold,omitempty"`
}

// Backpressure configures the adaptive concurrency controller.
type Backpressure struct {
	TargetLatency  time.Duration `json:"target_latency"`
	MaxConcurrency int           `json:"max_concurrency"`
}

// CircuitBreaker configures the per (route, adapter) breaker.
type CircuitBreaker struct {
	Enabled        bool          `json:"enabled"`
	FailureRatio   float64       `json:"failure_ratio"`
	MinRequests    int           `json:"min_requests"`
	OpenFor        time.Duration `json:"open_for"`
	HalfOpenProbes int           `json:"half_open_probes"`
	// Window is the rolling window over which failures are counted.
	Window time.Duration `json:"window"`
}

// Edge is a wire between routes: From publishes to Queue, which To consumes.
type Edge struct {
	From  string `json:"from_route"`
	To    string `json:"to_route"`
	Queue string `json:"queue"`
}
