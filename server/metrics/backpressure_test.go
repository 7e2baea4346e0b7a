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

// The message waits for a far retry, so the execution keeps running.
const throttledPipeline = `version: "1.0"
routes:
  call:
    inbound: { queue: m.bp, concurrency: 3 }
    backpressure: { target_latency: 1s }
    error_handling: { max_retries: 1000, retry_delay: 5m, backoff: fixed }
    adapters:
      - type: fail
        config: { mode: always }
    outbound: [ { queue: m.plain } ]
  plain:
    inbound: { queue: m.plain }
    adapters: [ { type: noop } ]
init_message: { route: call, payload: { n: 1 } }
`

func TestConcurrencyLimitOfRunningExecutions(t *testing.T) {
	t.Parallel()
	// Only the route with backpressure has a limit; it starts at its
	// inbound concurrency.
	requireGaugesWhileRunning(t, "throttled", throttledPipeline, "factflow_route_concurrency_limit", func(id string) string {
		return fmt.Sprintf(`
# HELP factflow_route_concurrency_limit Adaptive concurrency limit of a route in a running execution (routes with backpressure.target_latency only).
# TYPE factflow_route_concurrency_limit gauge
factflow_route_concurrency_limit{execution=%q,route="call"} 3
`, id)
	})
}

// requireGaugesWhileRunning runs pipeline yaml (config name) on a server
// and waits for metric to read want(execution id) while the execution
// runs; once it is cancelled, the metric must have no series left.
func requireGaugesWhileRunning(t *testing.T, name, yaml, metric string, want func(id string) string) {
	t.Helper()
	s := start(t)
	m, err := metrics.New(metrics.Options{Manager: s.Container.Manager})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	post(t, s.URL+"/api/v1/configs", api.ConfigCreate{Name: name, ConfigYAML: yaml}, nil)
	var ex api.Execution
	post(t, s.URL+"/api/v1/configs/"+name+"/run", map[string]any{}, &ex)

	deadline := time.Now().Add(time.Minute)
	for {
		err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want(ex.ID)), metric)
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "%s: %v", metric, err)
		time.Sleep(20 * time.Millisecond)
	}

	post(t, s.URL+"/api/v1/executions/"+ex.ID+"/cancel", nil, nil)
	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(m.Registry(), metric)
		return err == nil && n == 0
	}, time.Minute, 20*time.Millisecond, "an execution that ended has no %s series", metric)
}
