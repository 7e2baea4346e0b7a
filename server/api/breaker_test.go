package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/factflow/factflow/server/api"
)

func TestHealthDebugShowsBreakers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The backend always fails and the breaker stays open longer than the
	// test, so the execution runs with its message held back.
	e.createConfig("broken", `version: "1.0"
routes:
  call:
    inbound: { queue: a.call }
    error_handling: { max_retries: 1000, retry_delay: 10ms, backoff: fixed }
    circuit_breaker: { failure_ratio: 0.5, min_requests: 1, open_for: 10m }
    adapters:
      - type: fail
        config: { mode: always }
init_message: { route: call, payload: {} }
`)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/broken/run", nil, http.StatusCreated, &ex)

	deadline := time.Now().Add(time.Minute)
	for {
		var h api.Health
		e.call(http.MethodGet, "/api/v1/system/health?debug=true", nil, http.StatusOK, &h)
		var breakers []any
		if execs, _ := component(t, h, "orchestrator")["details"].(map[string]any)["executions"].([]any); len(execs) == 1 {
			breakers, _ = execs[0].(map[string]any)["breakers"].([]any)
		}
		if len(breakers) == 1 {
			b := breakers[0].(map[string]any)
			if b["state"] == "open" {
				if b["route"] != "call" || b["adapter"] != "fail" || b["index"] != 0.0 {
					t.Fatalf("breaker %v", b)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no open breaker in the health report: %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.call(http.MethodPost, "/api/v1/executions/"+ex.ID+"/cancel", nil, http.StatusAccepted, nil)
	e.waitStatus(ex.ID, true)
}
