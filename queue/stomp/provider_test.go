package stomp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
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
		// go-stomp starts a goroutine per SUBSCRIBE that waits for frames
		// from the connection's loop; when the broker drops the connection
		// before that loop took the SUBSCRIBE from its queue (a broker
		// restarting under a reconnecting subscriber), nothing ever ends
		// it. The provider notices (receiptRoundTrip) and dials again. A
		// connection the provider failed to close still shows up through
		// the connection's own goroutines (processLoop, readLoop).
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/go-stomp/stomp/v3.(*Subscription).readLoop")); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// servicesScript provisions the local broker; the restart tests stop and
// start it through the same script.
const servicesScript = "../../scripts/services.sh"

const testTimeout = time.Minute

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// brokerURLs are the broker under test and its management endpoint. The suite needs a real Artemis:
// without one it fails rather than passing vacuously.
func brokerURLs(t testing.TB) (stompURL, mgmtURL string) {
	t.Helper()
	stompURL = os.Getenv("FACTFLOW_TEST_STOMP_URL")
	if stompURL == "" {
		t.Fatal("FACTFLOW_TEST_STOMP_URL is not set; start Artemis with `scripts/services.sh up artemis` and `eval \"$(scripts/services.sh env)\"`")
	}
	// Empty: the provider's default (port 8161 on the broker's host).
	return stompURL, os.Getenv("FACTFLOW_TEST_STOMP_MANAGEMENT_URL")
}

// testConfig keeps reconnects and dead-connection detection quick so the
// restart tests stay short.
func testConfig(u, m string) Config {
	return Config{URL: u, ManagementURL: m, Heartbeat: time.Second, ReconnectWait: 50 * time.Millisecond, MaxReconnectWait: 500 * time.Millisecond}
}

func factory(u, m string) func(t testing.TB) queue.Provider {
	return func(t testing.TB) queue.Provider {
		p, err := New(testCtx(t), testConfig(u, m))
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p
	}
}

// artemisService is the broker the restart tests stop and start.
var artemisService = queuetest.Service{Script: servicesScript, Name: "artemis", EnvVar: "FACTFLOW_TEST_STOMP_URL"}

// restartBroker stops the Artemis JVM (SIGTERM, a clean shutdown) and
// starts it again on the same journal; the provider reconnects by itself.
func restartBroker(t testing.TB, p queue.Provider) queue.Provider {
	t.Helper()
	artemisService.Restart(t)
	return p
}

func TestContract(t *testing.T) {
	u, m := brokerURLs(t)
	f := queuetest.Factory{New: factory(u, m), Broker: "artemis"}
	artemisService.RequireManaged(t, u) // the restart tests stop and start it
	f.Restart = restartBroker
	queuetest.Run(t, Capabilities, f)
}

func TestMessageTooLarge(t *testing.T) {
	u, m := brokerURLs(t)
	cfg := testConfig(u, m)
	cfg.MaxMessageSize = 1024
	p, err := New(testCtx(t), cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	err = p.Publish(testCtx(t), queue.Destination{Execution: "too-large", Queue: "q"}, queue.Message{Body: make([]byte, 2048)})
	require.True(t, errors.Is(err, queue.ErrMessageTooLarge), "got %v", err)
}

func TestBadCredentials(t *testing.T) {
	u, m := brokerURLs(t)
	bad := strings.Replace(u, "stomp://", "stomp://nobody:wrong@", 1)
	if i := strings.Index(bad, "@"); i >= 0 {
		if j := strings.Index(bad[i+1:], "@"); j >= 0 {
			bad = "stomp://nobody:wrong@" + bad[i+1+j+1:]
		}
	}
	_, err := New(testCtx(t), testConfig(bad, m))
	require.Error(t, err)
}
