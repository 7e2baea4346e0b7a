package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/factflow/factflow/configspec"
)

// The YAML-facing specs below mirror the model types field for field (Go
// converts between them), adding the tags that drive decoding, defaults,
// docs and the JSON Schema. A drift between the two fails to compile.

type errorHandlingSpec struct {
	MaxRetries      int           `json:"max_retries" default:"3" minimum:"0" maximum:"1000" doc:"Retries before a failing message is dead-lettered."`
	RetryDelay      time.Duration `json:"retry_delay" default:"1s" doc:"Delay before the first retry."`
	MaxDelay        time.Duration `json:"max_delay" default:"5m" doc:"Upper bound of the exponential backoff."`
	Backoff         string        `json:"backoff" default:"exponential" enum:"fixed,exponential" doc:"How the delay grows between retries."`
	Jitter          float64       `json:"jitter" default:"0.2" minimum:"0" maximum:"1" doc:"Random fraction added to or removed from each delay."`
	DeadLetter      bool          `json:"dead_letter" default:"true" doc:"Dead-letter messages that exhausted their retries (otherwise they are dropped)."`
	DeadLetterQueue string        `json:"dead_letter_queue" doc:"Optional broker-side DLQ destination, in addition to the dead_letters table." example:"docs.dlq"`
	NackWindow      int           `json:"nack_window" minimum:"0" maximum:"100000" doc:"Fail the execution when more than nack_threshold of the route's last nack_window messages were dead-lettered (0 = off)."`
	NackThreshold   int           `json:"nack_threshold" minimum:"0" maximum:"100000" doc:"See nack_window."`
}

func (s errorHandlingSpec) Validate() error {
	var errs []error
	if s.Backoff == BackoffExponential && s.MaxDelay < s.RetryDelay {
		errs = append(errs, fmt.Errorf("max_delay (%s) is shorter than retry_delay (%s)", s.MaxDelay, s.RetryDelay))
	}
	if s.NackWindow > 0 && (s.NackThreshold < 1 || s.NackThreshold > s.NackWindow) {
		errs = append(errs, fmt.Errorf("nack_threshold must be between 1 and nack_window (%d)", s.NackWindow))
	}
	if s.NackWindow == 0 && s.NackThreshold > 0 {
		errs = append(errs, errors.New("nack_threshold is set but nack_window is 0"))
	}
	return errors.Join(errs...)
}

type backpressureSpec struct {
	TargetLatency  time.Duration `json:"target_latency" doc:"Per-message latency the adaptive controller aims for; 0 turns adaptive concurrency off."`
	MaxConcurrency int           `json:"max_concurrency" minimum:"0" maximum:"10000" doc:"Upper bound of the adaptive concurrency; 0 means the route's inbound concurrency."`
}

type circuitBreakerSpec struct {
	Enabled        bool          `json:"enabled" doc:"On as soon as a circuit_breaker block is present (in defaults or in the route), unless set to false."`
	FailureRatio   float64       `json:"failure_ratio" default:"0.5" minimum:"0.01" maximum:"1" doc:"Failure ratio over the window that opens the breaker."`
	MinRequests    int           `json:"min_requests" default:"10" minimum:"1" maximum:"1000000" doc:"Requests in the window before the ratio is considered."`
	OpenFor        time.Duration `json:"open_for" default:"30s" minimum:"1ms" doc:"How long the breaker stays open before probing."`
	HalfOpenProbes int           `json:"half_open_probes" default:"2" minimum:"1" maximum:"1000" doc:"Trial requests allowed while half-open."`
	Window         time.Duration `json:"window" default:"60s" minimum:"1s" doc:"Rolling window over which failures are counted."`
}

type inboundSpec struct {
	Queue        string `json:"queue" required:"true" doc:"Logical queue the route consumes: letters, digits and _ . : - (a leading /queue/ is stripped)." example:"docs.fetch"`
	Concurrency  int    `json:"concurrency" default:"1" minimum:"1" maximum:"10000" doc:"Messages handled at once."`
	Prefetch     int    `json:"prefetch" minimum:"0" maximum:"100000" doc:"Broker-side buffer; 0 means the same as concurrency."`
	Subscription string `json:"subscription" doc:"Shared subscription name (reference compatibility)."`
}

type executionSpec struct {
	MaxHandlers      int `json:"max_handlers" default:"30" minimum:"1" maximum:"100000" doc:"Handlers running at once across all routes of one execution."`
	MaxFanoutPending int `json:"max_fanout_pending" default:"500" minimum:"1" maximum:"1000000" doc:"Emitted messages waiting to be published before handlers pause."`
	MaxPayloadBytes  int `json:"max_payload_bytes" default:"1048576" minimum:"1024" maximum:"67108864" doc:"Largest JSON payload of one message; larger ones fail permanently."`
}

type timeoutSpec struct {
	Timeout time.Duration `json:"timeout" doc:"Bound on the whole adapter chain for one message (0 = none)."`
}

type orderingSpec struct {
	Ordering    string `json:"ordering" enum:"key,none" doc:"key processes messages with the same ordering_key value one at a time, in order."`
	OrderingKey string `json:"ordering_key" doc:"Payload field (dotted path) whose value groups messages when ordering is key." example:"document.url"`
}

func (s orderingSpec) Validate() error {
	if s.Ordering == OrderingByKey && s.OrderingKey == "" {
		return errors.New("ordering: key needs ordering_key (the payload field to order by)")
	}
	if s.Ordering != OrderingByKey && s.OrderingKey != "" {
		return errors.New("ordering_key is set but ordering is not key")
	}
	return nil
}

// policies are the settings a route inherits from `defaults`.
type policies struct {
	ErrorHandling  errorHandlingSpec
	Backpressure   backpressureSpec
	CircuitBreaker circuitBreakerSpec
	Timeout        time.Duration
}

func defaultPolicies() policies {
	return policies{
		ErrorHandling:  configspec.Defaults(reflect.TypeFor[errorHandlingSpec]()).(errorHandlingSpec),
		Backpressure:   configspec.Defaults(reflect.TypeFor[backpressureSpec]()).(backpressureSpec),
		CircuitBreaker: configspec.Defaults(reflect.TypeFor[circuitBreakerSpec]()).(circuitBreakerSpec),
	}
}

// DefaultErrorHandling is the retry policy of a route that sets none.
func DefaultErrorHandling() ErrorHandling { return ErrorHandling(defaultPolicies().ErrorHandling) }

// DefaultCircuitBreaker is the breaker configuration used when a
// circuit_breaker block is present but sets nothing (Enabled false here).
func DefaultCircuitBreaker() CircuitBreaker {
	return CircuitBreaker(defaultPolicies().CircuitBreaker)
}

// DefaultExecution returns the default execution limits.
func DefaultExecution() Execution {
	return Execution(configspec.Defaults(reflect.TypeFor[executionSpec]()).(executionSpec))
}
