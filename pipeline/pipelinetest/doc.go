// Package pipelinetest runs pipeline unit tests: a `tests:` section of a
// pipeline YAML, or a `*_test.yaml` file beside it, feeds one message into
// a route and asserts what the route emits.
//
// A test builds the route's adapters from the adapter registry with real,
// cheap dependencies — filesystem storage in a temporary directory and an
// HTTP client that reaches only the test's own fixture server — and runs the
// chain the way the engine's route processor does: step conditions,
// mid-chain fan-out, Skip and error classes, the payload size limit, then
// the outbound queues with their conditions. What it does not do is
// broker work: one attempt is made (no retries, no dead-letter queue) and
// nothing is published; the messages the route would publish are compared
// with the expectations instead.
//
// Findings carry the test case's file, line and column and a stable code:
//
//	T001  an expectation failed
//	T002  the test names a route the pipeline does not have
//	T003  the test definition is malformed
//	T004  the pipeline under test cannot be loaded or is invalid
//	T005  the route could not be set up (adapter construction, fixtures)
//
// The YAML format is documented in the pipeline YAML reference (section
// "Pipeline tests").
package pipelinetest
