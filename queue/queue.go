package queue

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Header keys. The engine owns the message headers; providers read and write
// only HeaderMessageID, HeaderAttempt and HeaderNotBefore themselves.
const (
	HeaderMessageID     = "factflow-message-id"
	HeaderAttempt       = "factflow-attempt"
	HeaderNotBefore     = "factflow-not-before"
	HeaderExecutionID   = "factflow-execution-id"
	HeaderRoute         = "factflow-route"
	HeaderParentID      = "factflow-parent-correlation-id"
	HeaderReplayBatchID = "factflow-replay-batch-id"
	HeaderFirstFailedAt = "factflow-first-failed-at"
	HeaderTraceParent   = "traceparent"
)

// Message is what travels over a broker: an id that stays the same across
// retries and redeliveries, string headers and an opaque body.
type Message struct {
	ID      string
	Headers map[string]string
	Body    []byte
}

// Attempt returns the 1-based delivery attempt recorded in the headers.
func (m Message) Attempt() int {
	n, err := strconv.Atoi(m.Headers[HeaderAttempt])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// Clone returns a copy whose headers may be changed without touching m.
// The body is shared: bodies are never mutated after publishing.
func (m Message) Clone() Message {
	h := make(map[string]string, len(m.Headers)+2)
	for k, v := range m.Headers {
		h[k] = v
	}
	return Message{ID: m.ID, Headers: h, Body: m.Body}
}

// Destination names a logical queue inside an execution's scope. Providers
// map it to a native name (e.g. NATS subject factflow.<execution>.<queue>);
// two executions never see each other's messages.
type Destination struct {
	Execution string
	Queue     string
}

func (d Destination) String() string {
	if d.Execution == "" {
		return d.Queue
	}
	return d.Execution + "/" + d.Queue
}

// Action is what a provider does with a delivery once its handler returned.
type Action int

const (
	// ActionAck settles the message: it is gone from the queue.
	ActionAck Action = iota
	// ActionRetry redelivers a copy after Delay with the attempt header
	// incremented (a failed attempt).
	ActionRetry
	// ActionDefer redelivers after Delay without counting an attempt
	// (shutdown, open circuit breaker, paused route).
	ActionDefer
	// ActionDeadLetter settles the message as dead. The engine has already
	// recorded it in the dead-letter store before returning this.
	ActionDeadLetter
)

func (a Action) String() string {
	switch a {
	case ActionAck:
		return "ack"
	case ActionRetry:
		return "retry"
	case ActionDefer:
		return "defer"
	case ActionDeadLetter:
		return "dead_letter"
	}
	return "unknown"
}

// Outcome is a handler's verdict on one delivery.
type Outcome struct {
	Action Action
	Delay  time.Duration
	Reason string
	// Headers are set on the redelivered copy of a Retry (e.g. the time of
	// the first failure), so that they survive restarts like the attempt.
	Headers map[string]string
}

// Ack settles the delivery.
func Ack() Outcome { return Outcome{Action: ActionAck} }

// Retry asks for redelivery after d, counting one more attempt.
func Retry(d time.Duration) Outcome { return Outcome{Action: ActionRetry, Delay: d} }

// Defer asks for redelivery after d without counting an attempt.
func Defer(d time.Duration) Outcome { return Outcome{Action: ActionDefer, Delay: d} }

// DeadLetter settles the delivery as dead-lettered.
func DeadLetter(reason string) Outcome { return Outcome{Action: ActionDeadLetter, Reason: reason} }

// Delivery is one received message.
type Delivery struct {
	Message
	Destination Destination
	// Attempt is 1 for the first delivery and grows with each Retry.
	Attempt int
	// Redelivered is true when the broker delivers a message again without
	// a Retry outcome (the previous consumer died or deferred it).
	Redelivered bool
}

// Handler processes one delivery. Its return value decides ack, retry,
// defer or dead-letter; handlers never ack themselves. The context is
// cancelled when the subscription is closed hard or the process stops;
// a handler that sees that should return Defer(0).
type Handler func(ctx context.Context, d Delivery) Outcome

// SubscribeOptions tune one subscription.
type SubscribeOptions struct {
	// Concurrency is the number of handlers running at once (default 1).
	Concurrency int
	// Prefetch is how many messages the broker may push ahead of the
	// handlers (default = Concurrency).
	Prefetch int
	// Group is the shared-subscription name: subscribers with the same
	// group on the same destination compete for messages. Default "factflow".
	Group string
}

// Normalized returns the options with defaults applied.
func (o SubscribeOptions) Normalized() SubscribeOptions {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.Prefetch < o.Concurrency {
		o.Prefetch = o.Concurrency
	}
	if o.Group == "" {
		o.Group = "factflow"
	}
	return o
}

// Subscription is a running consumer.
type Subscription interface {
	// Close stops intake at once, waits for running handlers until ctx is
	// done, then cancels their contexts and waits for them to return.
	// Unsettled messages stay on the broker for redelivery. Idempotent.
	Close(ctx context.Context) error
}

// Depth is a destination's backlog as the broker reports it.
type Depth struct {
	// Pending messages not yet delivered (including delayed ones).
	Pending int64
	// InFlight messages delivered but not yet settled.
	InFlight int64
}

// HealthState summarises a provider's connection.
type HealthState string

const (
	Healthy      HealthState = "healthy"
	Degraded     HealthState = "degraded"
	Stalled      HealthState = "stalled"
	Reconnecting HealthState = "reconnecting"
)

// Health is a provider's self-report.
type Health struct {
	State             HealthState `json:"state"`
	Provider          string      `json:"provider"`
	ReconnectAttempts int         `json:"reconnect_attempts"`
	LastMessageAt     time.Time   `json:"last_message_at,omitzero"`
	Detail            string      `json:"detail,omitempty"`
}

// Provider is a message broker seen through Factflow's eyes. All methods
// are safe for concurrent use.
type Provider interface {
	// Publish sends msgs to dst, returning once the broker has them
	// (durably, where the broker is durable). Messages whose
	// HeaderNotBefore lies in the future are delivered no earlier than that.
	Publish(ctx context.Context, dst Destination, msgs ...Message) error
	// Subscribe starts consuming dst. Cancelling ctx is a hard stop
	// (like Close with an expired context).
	Subscribe(ctx context.Context, dst Destination, opts SubscribeOptions, h Handler) (Subscription, error)
	// Depth reports dst's backlog; it rebuilds an execution's ledger after
	// a crash.
	Depth(ctx context.Context, dst Destination) (Depth, error)
	// DeleteScope removes every queue of one execution.
	DeleteScope(ctx context.Context, execution string) error
	Health(ctx context.Context) Health
	// Close releases the connection. Idempotent; never blocks past ctx.
	Close(ctx context.Context) error
}

// DelayedDepthReporter is implemented by providers that tell whether
// Depth counts messages waiting for a delayed redelivery (a retry or a
// deferral not yet due). The engine trusts a zero depth of a provider that
// does not count them only after the longest retry delay has passed.
type DelayedDepthReporter interface {
	DepthCountsDelayed() bool
}

// ErrMessageTooLarge is returned (wrapped) by Publish when a message exceeds
// what the broker accepts. Retrying cannot help: the engine dead-letters
// the message that produced it.
var ErrMessageTooLarge = errors.New("message exceeds the broker's size limit")

// Capabilities tell the contract suite and the docs what a broker can and
// cannot do.
type Capabilities struct {
	// NativeDelay: the broker delays redelivery itself.
	NativeDelay bool
	// Persistent: messages survive a restart of the broker/provider.
	Persistent bool
	// Ordered: one subscriber with concurrency 1 sees publish order.
	Ordered bool
}
