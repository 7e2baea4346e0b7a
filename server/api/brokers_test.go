package api_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/internal/faultnet"
	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/container"
)

// brokerUnderTest is a real broker the health and diagnostic endpoints
// are checked against; service is its name in scripts/services.sh and
// its broker lock.
type brokerUnderTest struct {
	provider string
	envVar   string
	service  string
	// query is added to the broker URL (e.g. Pulsar's admin endpoint).
	query func() url.Values
	// stopBroker takes the broker down for real instead of cutting a
	// proxy: a Pulsar client connects to the address the broker
	// advertises, not to the one it was given, so a proxy cannot cut it.
	stopBroker bool
}

var testBrokers = []brokerUnderTest{
	{provider: "nats", envVar: "FACTFLOW_TEST_NATS_URL", service: "nats"},
	{provider: "amqp", envVar: "FACTFLOW_TEST_AMQP_URL", service: "rabbitmq"},
	{provider: "stomp", envVar: "FACTFLOW_TEST_STOMP_URL", service: "artemis"},
	{provider: "stomp", envVar: "FACTFLOW_TEST_ACTIVEMQ_STOMP_URL", service: "activemq"},
	{provider: "pulsar", envVar: "FACTFLOW_TEST_PULSAR_URL", service: "pulsar", query: func() url.Values {
		return url.Values{"admin": {os.Getenv("FACTFLOW_TEST_PULSAR_ADMIN_URL")}}
	}, stopBroker: true},
}

// TestBrokerHealthAndDiagnostic runs the server on every real broker
// through a proxy, then cuts and restores the link: health and the
// mq-diagnostic must report what the broker connection really does.
func TestBrokerHealthAndDiagnostic(t *testing.T) {
	t.Parallel()
	for _, b := range testBrokers {
		t.Run(b.service, func(t *testing.T) {
			t.Parallel()
			raw := os.Getenv(b.envVar)
			if raw == "" {
				t.Fatalf("%s is not set: run `scripts/services.sh up %s` and eval its env", b.envVar, b.service)
			}
			// A broker this test stops is held exclusively; otherwise no
			// other package may restart it meanwhile.
			brokerlock.Hold(t, b.service, b.stopBroker)
			u, err := url.Parse(raw)
			require.NoError(t, err)
			if b.query != nil {
				u.RawQuery = b.query().Encode()
			}
			cut, restore := brokerOutage(t, b, u)

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
			require.Equal(t, b.provider, details["provider"])
			d := diagnostic(30)
			require.True(t, d.OK, "%+v", d)
			require.Equal(t, b.provider, d.Provider)
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
// test and bring it back. Unless the broker must be stopped for real, u is
// pointed at a proxy whose link is cut.
func brokerOutage(t *testing.T, b brokerUnderTest, u *url.URL) (cut, restore func()) {
	t.Helper()
	if b.stopBroker {
		services := func(cmd string) {
			t.Helper()
			out, err := exec.Command("../../scripts/services.sh", cmd, b.service).CombinedOutput()
			require.NoError(t, err, "services.sh %s %s: %s", cmd, b.service, out)
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
