package metrics_test

import (
	"fmt"
	"testing"
)

// The backend always fails and the breaker opens for longer than the test:
// the execution keeps running with its message held back.
const brokenPipeline = `version: "1.0"
routes:
  call:
    inbound: { queue: m.call }
    error_handling: { max_retries: 1000, retry_delay: 10ms, backoff: fixed }
    circuit_breaker: { failure_ratio: 0.5, min_requests: 1, open_for: 10m }
    adapters:
      - type: noop
      - type: fail
        name: backend
        config: { mode: always }
init_message: { route: call, payload: { n: 1 } }
`

func TestBreakerStateOfRunningExecutions(t *testing.T) {
	t.Parallel()
	requireGaugesWhileRunning(t, "broken", brokenPipeline, "factflow_breaker_state", func(id string) string {
		return fmt.Sprintf(`
# HELP factflow_breaker_state Circuit breaker of an adapter step of a route in a running execution: 0 closed, 1 half-open, 2 open (routes with circuit_breaker only).
# TYPE factflow_breaker_state gauge
factflow_breaker_state{adapter="backend",execution=%q,route="call"} 2
factflow_breaker_state{adapter="noop",execution=%q,route="call"} 0
`, id, id)
	})
}
