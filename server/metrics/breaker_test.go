package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/metrics"
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
	s := start(t)
	m, err := metrics.New(metrics.Options{Manager: s.Container.Manager})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	post(t, s.URL+"/api/v1/configs", api.ConfigCreate{Name: "broken", ConfigYAML: brokenPipeline}, nil)
	var ex api.Execution
	post(t, s.URL+"/api/v1/configs/broken/run", map[string]any{}, &ex)

	want := fmt.Sprintf(`
# HELP factflow_breaker_state Circuit breaker of an adapter step of a route in a running execution: 0 closed, 1 half-open, 2 open (routes with circuit_breaker only).
# TYPE factflow_breaker_state gauge
factflow_breaker_state{adapter="backend",execution=%q,route="call"} 2
factflow_breaker_state{adapter="noop",execution=%q,route="call"} 0
`, ex.ID, ex.ID)
	deadline := time.Now().Add(time.Minute)
	for {
		err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "factflow_breaker_state")
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "breaker gauges: %v", err)
		time.Sleep(20 * time.Millisecond)
	}

	post(t, s.URL+"/api/v1/executions/"+ex.ID+"/cancel", nil, nil)
	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(m.Registry(), "factflow_breaker_state")
		return err == nil && n == 0
	}, time.Minute, 20*time.Millisecond, "an execution that ended has no breakers to show")
}
