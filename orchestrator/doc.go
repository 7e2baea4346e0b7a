// Package orchestrator is Factflow's engine: the Manager (one per process)
// starts, tracks, pauses, cancels and interrupts executions; each Execution
// builds a route processor per route, subscribes all of them before it
// publishes the init message, and owns completion and cancellation.
//
// One message's path:
//
//	broker → queue provider → route processor → adapter 1 … n → publish emits → ack
//
// The route processor is the queue handler. It runs the adapter chain,
// publishes the final result's emits (or its message) to every matching
// outbound queue, and only then returns Ack, so the provider settles the
// delivery after its children are on the broker (at-least-once). Adapter
// errors become Retry (delayed, attempt+1, per the route's error_handling)
// or, when permanent or out of retries, a dead letter recorded in
// PostgreSQL before the message is settled. Work interrupted by cancel or
// shutdown is deferred for redelivery, never dead-lettered.
//
// With a circuit_breaker, each adapter step of a route has a breaker per
// execution (breaker.go). While it is open, a message reaching the step is
// deferred, keeping its attempt, instead of calling the adapter. Calls cut
// short by the execution's own end are not counted; a route timeout is.
// A route's nack window (nackwindow.go) fails the execution when too many
// of its last settled messages were dead-lettered.
//
// Completion uses exact outstanding-message accounting (Ledger): a message
// counts from just before it is published until its delivery is settled.
// When the execution is seeded and nothing is outstanding it is complete.
//
// Concurrency layers: inbound.concurrency and prefetch per route (in the
// provider), execution.max_handlers across an execution's routes, and
// execution.max_fanout_pending bounding emitted messages in publication.
// A route with backpressure.target_latency also has an AIMD limit
// (backpressure.go) below inbound.concurrency, waited for before the
// execution-wide handler permit and driven by the 90th percentile of its
// chain-plus-publish latency.
//
// Message states:
//
//	published ──► delivered ──► chain ok ──► emits published ──► acked (settled)
//	                  │            │
//	                  │            ├─ skip / nil result ─────────► acked (settled)
//	                  │            ├─ retryable, attempts left ──► retry after delay (attempt+1)
//	                  │            ├─ step's breaker open ───────► deferred (attempt kept)
//	                  │            └─ permanent or exhausted ────► dead letter row ──► settled
//	                  └─ cancel / shutdown ──────────────────────► deferred (redelivered later)
//
// Execution states: pending → running → completed | failed | cancelling →
// cancelled; running → interrupted (process stop) → running (next start).
package orchestrator
