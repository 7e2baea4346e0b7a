package amqp

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/queuetest"
)

// servicesScript provisions the local broker; the restart tests stop and
// start it through the same script.
const servicesScript = "../../scripts/services.sh"

// testTimeout bounds waits in this package's own tests.
const testTimeout = time.Minute

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// brokerURL is the broker under test. The suite needs a real RabbitMQ:
// without one it fails rather than passing vacuously.
func brokerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("FACTFLOW_TEST_AMQP_URL")
	if u == "" {
		t.Fatal("FACTFLOW_TEST_AMQP_URL is not set; start RabbitMQ with `scripts/services.sh up rabbitmq` and `eval \"$(scripts/services.sh env)\"`")
	}
	return u
}

// testConfig keeps reconnects quick so the restart tests stay short.
func testConfig(u string) Config {
	return Config{URL: u, ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: 500 * time.Millisecond}
}

func factory(u string) func(t testing.TB) queue.Provider {
	return func(t testing.TB) queue.Provider {
		p, err := New(testCtx(t), testConfig(u))
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p
	}
}

// rabbitmqService is the broker the restart tests stop and start.
var rabbitmqService = queuetest.Service{Script: servicesScript, Name: "rabbitmq", EnvVar: "FACTFLOW_TEST_AMQP_URL"}

// restartBroker stops the RabbitMQ node (a clean shutdown of the whole
// Erlang VM) and starts it again on the same data; the provider
// reconnects by itself.
func restartBroker(t testing.TB, p queue.Provider) queue.Provider {
	t.Helper()
	rabbitmqService.Restart(t)
	return p
}

func TestContract(t *testing.T) {
	u := brokerURL(t)
	f := queuetest.Factory{New: factory(u), Broker: "rabbitmq"}
	rabbitmqService.RequireManaged(t, u) // the restart tests stop and start it
	f.Restart = restartBroker
	queuetest.Run(t, Capabilities, f)
}
