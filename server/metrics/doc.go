// Package metrics exposes Factflow's Prometheus metrics (SPEC §14) at
// /metrics, in the Prometheus text format.
//
// The engine is not instrumented for them: route counters, in-flight
// gauges and breaker states are read from the orchestrator when Prometheus
// scrapes (Manager.Running → Execution.Stats), and the counters of
// executions that finished between two scrapes are folded in from the
// event bus, so a route's totals never go down. Dead-letter depth and
// execution counts come from PostgreSQL through one cached query pair, so
// a scrape every second costs the database at most one round trip every
// CacheTTL. Only the HTTP metrics are recorded as requests happen (by the
// API's middleware, labelled with the huma operation id, never the raw
// path) and route latency, by a lineage sink placed in front of the
// lineage writer (see LineageSink).
//
// Metric names:
//
//	factflow_route_messages_total{route,status}  counter: received, completed, failed, retried, dead_lettered, skipped, duplicates, emitted
//	factflow_route_latency_seconds{route}        histogram: one observation per adapter step of a message (from lineage rows)
//	factflow_queue_inflight{route}               gauge: messages being handled now
//	factflow_dlq_depth                           gauge: pending (not requeued) rows in the dead-letter store
//	factflow_breaker_state{execution,route,adapter} gauge: 0 closed, 1 half-open, 2 open (routes with circuit_breaker only)
//	factflow_route_concurrency_limit{execution,route} gauge: adaptive concurrency limit (routes with backpressure only)
//	factflow_lineage_flush_seconds               gauge: duration of the lineage writer's last flush
//	factflow_executions{status}                  gauge: executions in the database by status
//	factflow_http_requests_total{operation,status} counter
//	factflow_http_request_seconds{operation}     histogram
//
// plus the standard Go runtime (go_*) and process (process_*) collectors.
package metrics
