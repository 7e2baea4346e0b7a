package orchestrator

import (
	"encoding/json"
	"sync/atomic"
	"time"
)

// routeStats are a route's live counters within one execution.
type routeStats struct {
	received     atomic.Int64
	completed    atomic.Int64
	failed       atomic.Int64 // failed attempts (retried or dead-lettered)
	retried      atomic.Int64
	deadLettered atomic.Int64
	skipped      atomic.Int64
	duplicates   atomic.Int64
	emitted      atomic.Int64
	inFlight     atomic.Int64
	// limiter is the route's adaptive concurrency limit (nil when off);
	// its current limit and latency are part of every snapshot.
	limiter *aimdLimiter
	// breakers are the route's circuit breakers, part of its live view.
	breakers breakerSet
}

// RouteStats is a snapshot of one route's counters.
type RouteStats struct {
	Route        string  `json:"route"`
	Received     int64   `json:"received"`
	Completed    int64   `json:"completed"`
	Failed       int64   `json:"failed"`
	Retried      int64   `json:"retried"`
	DeadLettered int64   `json:"dead_lettered"`
	Skipped      int64   `json:"skipped"`
	Duplicates   int64   `json:"duplicates"`
	Emitted      int64   `json:"emitted"`
	InFlight     int64   `json:"in_flight"`
	Paused       bool    `json:"paused"`
	Rate         float64 `json:"rate"` // completed messages per second since the last snapshot
	// ConcurrencyLimit is the adaptive concurrency limit of the route
	// (0 when backpressure is off); LatencyMS the latency (90th percentile,
	// milliseconds) its last decision observed.
	ConcurrencyLimit int     `json:"concurrency_limit,omitempty"`
	LatencyMS        float64 `json:"latency_ms,omitempty"`
	// Breakers are the route's circuit breakers, one per adapter step,
	// once a message reached the route with breakers on.
	Breakers []BreakerState `json:"breakers,omitempty"`
}

func (s *routeStats) snapshot(route string) RouteStats {
	rs := RouteStats{
		Route:        route,
		Received:     s.received.Load(),
		Completed:    s.completed.Load(),
		Failed:       s.failed.Load(),
		Retried:      s.retried.Load(),
		DeadLettered: s.deadLettered.Load(),
		Skipped:      s.skipped.Load(),
		Duplicates:   s.duplicates.Load(),
		Emitted:      s.emitted.Load(),
		InFlight:     s.inFlight.Load(),
		Breakers:     s.breakers.states(),
	}
	if limit, latency := s.limiter.state(); limit > 0 {
		rs.ConcurrencyLimit = limit
		rs.LatencyMS = float64(latency.Microseconds()) / 1000
	}
	return rs
}

// Stats is a snapshot of an execution.
type Stats struct {
	ExecutionID string        `json:"execution_id"`
	Status      string        `json:"status"`
	Outstanding int           `json:"outstanding"`
	Artefacts   int64         `json:"artefacts"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	Routes      []RouteStats  `json:"routes"`
}

// Totals sums the route counters.
func (s Stats) Totals() RouteStats {
	var t RouteStats
	for _, r := range s.Routes {
		t = t.Plus(r)
	}
	return t
}

// Plus adds o's counts (in-flight and rate included) to r's; r keeps its
// route name.
func (r RouteStats) Plus(o RouteStats) RouteStats {
	r.Received += o.Received
	r.Completed += o.Completed
	r.Failed += o.Failed
	r.Retried += o.Retried
	r.DeadLettered += o.DeadLettered
	r.Skipped += o.Skipped
	r.Duplicates += o.Duplicates
	r.Emitted += o.Emitted
	r.InFlight += o.InFlight
	r.Rate += o.Rate
	return r
}

// RoutesFrom reads per-route counts back from their JSON form: the
// "routes" an ended execution keeps in its error_info, or those of a
// progress event. Anything else reads as none.
func RoutesFrom(v any) []RouteStats {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out []RouteStats
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}
