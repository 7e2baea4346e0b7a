package api_test

import (
	"net/http"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/internal/faultnet"
	"github.com/factflow/factflow/queue/queuetest"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/container"
)

// TestBrokerHealthAndDiagnostic runs the server on every real broker,
// then takes the broker away from it and brings it back: health and the
// mq-diagnostic must report what the broker connection really does.
func TestBrokerHealthAndDiagnostic(t *testing.T) {
	t.Parallel()
	for _, b := range queuetest.Brokers {
		t.Run(b.Service, func(t *testing.T) {
			t.Parallel()
			// A Pulsar client connects to the address the broker
			// advertises, not to the one it was given, so a proxy cannot
			// cut it: that broker is stopped for real.
			stopBroker := b.Provider == "pulsar"
			u := b.URL(t, stopBroker)
			cut, restore := brokerOutage(t, b.Service, stopBroker, u)

			e, _ := newSystemEnv(t, container.Config{QueueURL: u.String()})
			queueState := func() (status string, details map[string]any) {
				var h api.Health
				e.call(http.MethodGet, "/api/v1/system/health?debug=true", nil, http.StatusOK, &h)
				c := component(t, h, "queue")
				details, _ = c["details"].(map[string]any)
				return c["status"].(string), details
			}
			diagnostic := func(timeout int) api.MQDiagnostic {
				var d api.MQDiagnostic
				e.call(http.MethodPost, "/api/v1/system/mq-diagnostic",
					api.MQDiagnosticRequest{MessageCount: 20, TimeoutSeconds: timeout}, http.StatusOK, &d)
				return d
			}

			status, details := queueState()
			require.Equal(t, "healthy", status, "%v", details)
			require.Equal(t, b.Provider, details["provider"])
			d := diagnostic(30)
			require.True(t, d.OK, "%+v", d)
			require.Equal(t, b.Provider, d.Provider)
			require.Equal(t, 20, d.Received)

			// The broker goes away for this server only.
			cut()
			require.Eventually(t, func() bool {
				status, details = queueState()
				return status != "healthy"
			}, time.Minute, 100*time.Millisecond, "health still says healthy with the broker cut off")
			require.Contains(t, []any{"reconnecting", "degraded", "stalled"}, details["state"], "%v", details)
			d = diagnostic(3)
			require.False(t, d.OK, "a round trip cannot succeed without the broker: %+v", d)
			require.Contains(t, []string{"connect", "subscribe", "publish_first", "receive"}, d.FailedStep, "%+v", d)
			require.NotEmpty(t, d.Error)

			restore()
			require.Eventually(t, func() bool {
				status, details = queueState()
				return status == "healthy"
			}, 2*time.Minute, 200*time.Millisecond, "health never recovered after the broker came back")
			require.Positive(t, details["reconnect_attempts"], "%v", details)
			d = diagnostic(30)
			require.True(t, d.OK, "the round trip works again: %+v", d)
			require.Equal(t, 20, d.Received)
		})
	}
}

// brokerOutage returns how to take the broker away from the server under
// test and bring it back: stop the service for real, or point u at a
// proxy whose link is cut.
func brokerOutage(t *testing.T, service string, stopBroker bool, u *url.URL) (cut, restore func()) {
	t.Helper()
	if stopBroker {
		services := func(cmd string) {
			t.Helper()
			out, err := exec.Command("../../scripts/services.sh", cmd, service).CombinedOutput()
			require.NoError(t, err, "services.sh %s %s: %s", cmd, service, out)
		}
		t.Cleanup(func() { services("up") }) // never leave the broker down
		return func() { services("down") }, func() { services("up") }
	}
	proxy, err := faultnet.Listen(u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	u.Host = proxy.Addr()
	return proxy.Cut, proxy.Restore
}
