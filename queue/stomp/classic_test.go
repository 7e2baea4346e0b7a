package stomp

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/queue/queuetest"
)

// The same provider against ActiveMQ Classic (Debian's activemq package,
// run by `scripts/services.sh up activemq`).

// classicURLs are the Classic broker under test and its Jolokia endpoint.
// Without one the tests fail rather than pass vacuously.
func classicURLs(t testing.TB) (stompURL, mgmtURL string) {
	t.Helper()
	stompURL = os.Getenv("FACTFLOW_TEST_ACTIVEMQ_STOMP_URL")
	if stompURL == "" {
		t.Fatal("FACTFLOW_TEST_ACTIVEMQ_STOMP_URL is not set; start ActiveMQ Classic with `scripts/services.sh up activemq` and `eval \"$(scripts/services.sh env)\"`")
	}
	return stompURL, os.Getenv("FACTFLOW_TEST_ACTIVEMQ_MANAGEMENT_URL")
}

// classicFactory builds providers that detect the broker by themselves and
// fails when they do not take it for Classic.
func classicFactory(u, m string) func(t testing.TB) queue.Provider {
	newProvider := factory(u, m)
	return func(t testing.TB) queue.Provider {
		p := newProvider(t)
		require.Equal(t, FlavorClassic, p.(*Provider).Flavor(), "the broker at %s was not detected as ActiveMQ Classic", redact(u))
		return p
	}
}

// classicService is the broker the restart tests stop and start.
var classicService = queuetest.Service{Script: servicesScript, Name: "activemq", EnvVar: "FACTFLOW_TEST_ACTIVEMQ_STOMP_URL"}

// restartClassic stops the broker's JVM (SIGTERM, a clean shutdown) and
// starts it again on the same KahaDB and scheduler stores; the provider
// reconnects by itself.
func restartClassic(t testing.TB, p queue.Provider) queue.Provider {
	t.Helper()
	classicService.Restart(t)
	return p
}

func TestClassicContract(t *testing.T) {
	u, m := classicURLs(t)
	f := queuetest.Factory{New: classicFactory(u, m), Broker: "activemq"}
	classicService.RequireManaged(t, u) // the restart tests stop and start it
	f.Restart = restartClassic
	queuetest.Run(t, Capabilities, f)
}

// TestClassicExplicitFlavor: the URL's flavor overrides detection; a delayed
// message honours its not-before time through Classic's scheduler.
func TestClassicExplicitFlavor(t *testing.T) {
	u, m := classicURLs(t)
	brokerlock.Hold(t, "activemq", false)
	// The configured flavor wins over what the broker says.
	cfg := testConfig(u, m)
	cfg.Flavor = FlavorArtemis
	forced, err := New(testCtx(t), cfg)
	require.NoError(t, err)
	require.Equal(t, FlavorArtemis, forced.Flavor())
	require.NoError(t, forced.Close(context.Background()))

	// Through the URL, as FACTFLOW_QUEUE_URL would give it.
	p, err := New(testCtx(t), testConfig(u+"?flavor="+FlavorClassic, m))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	require.Equal(t, FlavorClassic, p.Flavor())

	dst := queue.Destination{Execution: strings.ReplaceAll(t.Name(), "/", "-") + "-" + queue.NewMessageID(), Queue: "delayed"}
	defer func() { require.NoError(t, p.DeleteScope(context.Background(), dst.Execution)) }()
	got := make(chan time.Time, 1)
	sub, err := p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{}, func(context.Context, queue.Delivery) queue.Outcome {
		got <- time.Now()
		return queue.Ack()
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, sub.Close(context.Background())) }()

	notBefore := time.Now().Add(300 * time.Millisecond)
	msg := queue.Message{Headers: map[string]string{queue.HeaderNotBefore: queue.FormatTime(notBefore)}, Body: []byte("later")}
	require.NoError(t, p.Publish(testCtx(t), dst, msg))
	select {
	case at := <-got:
		require.False(t, at.Before(notBefore), "delivered at %s, not before %s", at, notBefore)
	case <-testCtx(t).Done():
		t.Fatal("the delayed message never arrived")
	}
}

// TestClassicRestartKeepsScheduled: a message waiting in Classic's job
// scheduler (a delayed retry, say) survives a broker restart and still
// arrives no earlier than its time.
func TestClassicRestartKeepsScheduled(t *testing.T) {
	u, m := classicURLs(t)
	classicService.RequireManaged(t, u)
	p, err := New(testCtx(t), testConfig(u, m))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	dst := queue.Destination{Execution: "classic-scheduled-" + queue.NewMessageID(), Queue: "later"}
	defer func() { require.NoError(t, p.DeleteScope(context.Background(), dst.Execution)) }()

	notBefore := time.Now().Add(2 * time.Second)
	msg := queue.Message{ID: queue.NewMessageID(), Headers: map[string]string{queue.HeaderNotBefore: queue.FormatTime(notBefore)}, Body: []byte("scheduled")}
	require.NoError(t, p.Publish(testCtx(t), dst, msg))
	restartClassic(t, p)

	type arrival struct {
		id string
		at time.Time
	}
	got := make(chan arrival, 4)
	sub, err := p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{}, func(_ context.Context, d queue.Delivery) queue.Outcome {
		got <- arrival{d.ID, time.Now()}
		return queue.Ack()
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, sub.Close(context.Background())) }()
	select {
	case a := <-got:
		require.Equal(t, msg.ID, a.id)
		require.False(t, a.at.Before(notBefore), "delivered at %s, not before %s", a.at, notBefore)
	case <-testCtx(t).Done():
		t.Fatal("the scheduled message did not survive the restart")
	}
}

func TestClassicBadCredentials(t *testing.T) {
	u, m := classicURLs(t)
	parsed := strings.SplitN(u, "@", 2)
	require.Len(t, parsed, 2, "the Classic URL carries credentials")
	_, err := New(testCtx(t), testConfig("stomp://nobody:wrong@"+parsed[1], m))
	require.Error(t, err)
}

func TestDetectFlavor(t *testing.T) {
	for server, want := range map[string]string{
		"ActiveMQ/5.17.2": FlavorClassic,
		"ActiveMQ-Artemis/2.40.0 ActiveMQ Artemis Messaging Engine": FlavorArtemis,
		"RabbitMQ/3.10.8": FlavorArtemis,
		"":                FlavorArtemis,
	} {
		require.Equal(t, want, detectFlavor(server), "server %q", server)
	}
}

func TestUnknownFlavor(t *testing.T) {
	_, err := New(testCtx(t), Config{URL: "stomp://u:p@127.0.0.1:1", Flavor: "rabbit"})
	require.ErrorContains(t, err, "flavor")
	var coded *queue.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, codeConnect, coded.Code)

	_, err = New(testCtx(t), Config{URL: "stomp://u:p@127.0.0.1:1?flavor=rabbit"})
	require.ErrorContains(t, err, "flavor", "the URL's flavor parameter")
}

func TestClassicObjectNamePart(t *testing.T) {
	require.Equal(t, "factflow._.a_b.c-d", classicObjectNamePart("factflow._.a:b.c-d"))
}

// TestArtemisFlavorDetected: detection keeps Artemis on its own path.
func TestArtemisFlavorDetected(t *testing.T) {
	u, m := brokerURLs(t)
	p, err := New(testCtx(t), testConfig(u, m))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	require.Equal(t, FlavorArtemis, p.Flavor())
}
