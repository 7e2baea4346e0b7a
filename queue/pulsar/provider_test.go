package pulsar

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/queuetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := findLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// findLeaks gives closed producers time to wind down: pulsar-client-go's
// send-timeout goroutine of a producer notices the Close only at its next
// tick, up to SendTimeout later. Anything still running after that leaked.
//
// One leak is the client library's own: after the restart tests,
// pulsar-client-go now and then leaves one broker connection of a closed
// client open, answering pings (the class of apache/pulsar-client-go#462
// and #493). Only that connection's three goroutines are ignored: a client
// we left open would leak its lookup, producer and consumer goroutines as
// well, and those are still caught.
func findLeaks() error {
	deadline := time.Now().Add(testSendTimeout + 2*time.Second)
	for {
		err := goleak.Find(
			goleak.IgnoreTopFunction("github.com/apache/pulsar-client-go/pulsar/internal.(*connection).run"),
			goleak.IgnoreTopFunction("github.com/apache/pulsar-client-go/pulsar/internal.(*connection).runPingCheck"),
			goleak.IgnoreAnyFunction("github.com/apache/pulsar-client-go/pulsar/internal.(*connectionReader).readFromConnection"),
		)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// servicesScript provisions the local broker; the restart tests stop and
// start it through the same script.
const servicesScript = "../../scripts/services.sh"

const testTimeout = time.Minute

// testSendTimeout keeps a send to a producer the client gave up on short.
const testSendTimeout = 3 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// brokerURLs are the broker under test and its admin API. The suite needs
// a real Pulsar: without one it fails rather than passing vacuously.
func brokerURLs(t testing.TB) (brokerURL, adminURL string) {
	t.Helper()
	brokerURL = os.Getenv("FACTFLOW_TEST_PULSAR_URL")
	if brokerURL == "" {
		t.Fatal("FACTFLOW_TEST_PULSAR_URL is not set; start Pulsar with `scripts/services.sh up pulsar` and `eval \"$(scripts/services.sh env)\"`")
	}
	// Empty: the provider's default (port 8080 on the broker's host).
	return brokerURL, os.Getenv("FACTFLOW_TEST_PULSAR_ADMIN_URL")
}

// testConfig keeps reconnects, probes and the client's give-up point short
// so that the restart tests exercise the provider's own recovery quickly.
func testConfig(u, a string) Config {
	return Config{
		URL: u, AdminURL: a,
		KeepAlive:            time.Second,
		SendTimeout:          testSendTimeout,
		ReconnectWait:        50 * time.Millisecond,
		MaxReconnectWait:     500 * time.Millisecond,
		MaxReconnectToBroker: 5,
		ProbeInterval:        time.Second,
	}
}

func factory(u, a string) func(t testing.TB) queue.Provider {
	return func(t testing.TB) queue.Provider {
		p, err := New(testCtx(t), testConfig(u, a))
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p
	}
}

// pulsarService is the broker the restart tests stop and start.
var pulsarService = queuetest.Service{Script: servicesScript, Name: "pulsar", EnvVar: "FACTFLOW_TEST_PULSAR_URL"}

// restartBroker stops the standalone broker (SIGTERM, a clean shutdown)
// and starts it again on the same data; the provider reconnects by itself.
func restartBroker(t testing.TB, p queue.Provider) queue.Provider {
	t.Helper()
	pulsarService.Restart(t)
	return p
}

func TestContract(t *testing.T) {
	u, a := brokerURLs(t)
	f := queuetest.Factory{New: factory(u, a), Broker: "pulsar"}
	pulsarService.RequireManaged(t, u) // the restart tests stop and start it
	f.Restart = restartBroker
	queuetest.Run(t, Capabilities, f)
}

// TestConsumerReplaced lets the client give up reconnecting at once, so
// that only the provider's own watchdog brings the subscription back
// after a broker restart.
func TestConsumerReplaced(t *testing.T) {
	u, a := brokerURLs(t)
	pulsarService.RequireManaged(t, u)
	cfg := testConfig(u, a)
	cfg.MaxReconnectToBroker = 1
	p, err := New(testCtx(t), cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(testCtx(t))) }()

	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "watched"}
	got := make(chan string, 16)
	sub, err := p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{}, func(_ context.Context, d queue.Delivery) queue.Outcome {
		got <- string(d.Body)
		return queue.Ack()
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, sub.Close(testCtx(t))) }()
	require.NoError(t, p.Publish(testCtx(t), dst, queue.Message{Body: []byte("before")}))
	require.Equal(t, "before", <-got)

	restartBroker(t, p)
	require.NoError(t, p.Publish(testCtx(t), dst, queue.Message{Body: []byte("after")}))
	// The ack of "before" may not have reached the broker before it
	// stopped; at least once allows it to come again.
	wait := testCtx(t)
	for b := ""; b != "after"; {
		select {
		case b = <-got:
			require.Contains(t, []string{"before", "after"}, b)
		case <-wait.Done():
			t.Fatal("no delivery after the restart")
		}
	}
	require.Positive(t, p.replaced.Load(), "the subscription came back without the provider replacing its consumer")
	require.NoError(t, p.DeleteScope(testCtx(t), dst.Execution))
}
