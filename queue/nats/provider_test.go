package nats

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/queuetest"
)

// embeddedBroker is an in-process server whose providers connect without
// TCP; a restart shuts the server down and starts it on the same store.
type embeddedBroker struct {
	dir string
	mu  sync.Mutex
	srv *Server
}

func newEmbeddedBroker(t *testing.T) *embeddedBroker {
	b := &embeddedBroker{dir: t.TempDir()}
	b.srv = b.startServer(t)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		require.NoError(t, b.srv.Shutdown(context.Background()))
	})
	return b
}

func (b *embeddedBroker) startServer(t testing.TB) *Server {
	srv, err := StartServer(testCtx(t), ServerOptions{StoreDir: b.dir})
	require.NoError(t, err)
	return srv
}

func (b *embeddedBroker) New(t testing.TB) queue.Provider {
	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	cfg := testConfig()
	cfg.Server = srv
	p, err := New(testCtx(t), cfg)
	require.NoError(t, err)
	return p
}

func (b *embeddedBroker) Restart(t testing.TB, p queue.Provider) queue.Provider {
	require.NoError(t, p.Close(testCtx(t)))
	b.mu.Lock()
	require.NoError(t, b.srv.Shutdown(testCtx(t)))
	b.srv = b.startServer(t)
	b.mu.Unlock()
	return b.New(t)
}

func TestContractEmbedded(t *testing.T) {
	b := newEmbeddedBroker(t)
	queuetest.Run(t, Capabilities, queuetest.Factory{New: b.New, Restart: b.Restart})
}

// TestContractExternal runs the suite over TCP against a server in another
// process: the one FACTFLOW_TEST_NATS_URL names (shared with other
// packages, so never restarted), and natsd started and restarted by the
// test, where the restart tests run. Providers survive the restart by
// reconnecting.
func TestContractExternal(t *testing.T) {
	if u := os.Getenv("FACTFLOW_TEST_NATS_URL"); u != "" {
		t.Run("service", func(t *testing.T) {
			queuetest.Run(t, Capabilities, queuetest.Factory{New: externalFactory(func() string { return u })})
		})
	}
	t.Run("natsd", func(t *testing.T) {
		d := startNatsd(t)
		queuetest.Run(t, Capabilities, queuetest.Factory{
			New: externalFactory(d.URL),
			Restart: func(t testing.TB, p queue.Provider) queue.Provider {
				d.restart(syscall.SIGTERM)
				return p
			},
		})
	})
}

func externalFactory(url func() string) func(t testing.TB) queue.Provider {
	return func(t testing.TB) queue.Provider {
		cfg := testConfig()
		cfg.URL = url()
		p, err := New(testCtx(t), cfg)
		require.NoError(t, err)
		return p
	}
}

// TestKilledServerKeepsAcknowledged: with the default disk sync, what
// Publish returned for survives a SIGKILL of the server process.
func TestKilledServerKeepsAcknowledged(t *testing.T) {
	d := startNatsd(t)
	p := externalFactory(d.URL)(t)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })

	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "survivor"}
	msgs := make([]queue.Message, 200)
	for i := range msgs {
		msgs[i] = queue.Message{ID: queue.NewMessageID(), Body: []byte("x")}
	}
	require.NoError(t, p.Publish(testCtx(t), dst, msgs...))
	d.restart(syscall.SIGKILL)

	got := make(chan string, 2*len(msgs))
	sub, err := p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{Concurrency: 4, Prefetch: 64}, func(_ context.Context, dl queue.Delivery) queue.Outcome {
		got <- dl.ID
		return queue.Ack()
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sub.Close(context.Background())) })
	seen := map[string]bool{}
	deadline := time.After(time.Minute)
	for len(seen) < len(msgs) {
		select {
		case id := <-got:
			seen[id] = true
		case <-deadline:
			t.Fatalf("%d of %d acknowledged messages survived the kill", len(seen), len(msgs))
		}
	}
}

// TestHealthFollowsConnection: Health reports the reconnect and counts it.
func TestHealthFollowsConnection(t *testing.T) {
	d := startNatsd(t)
	p := externalFactory(d.URL)(t)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	require.Equal(t, queue.Healthy, p.Health(testCtx(t)).State)

	d.stop(syscall.SIGTERM)
	waitHealth(t, p, queue.Reconnecting)
	d.start()
	h := waitHealth(t, p, queue.Healthy)
	require.Positive(t, h.ReconnectAttempts)
}

func waitHealth(t *testing.T, p queue.Provider, want queue.HealthState) queue.Health {
	t.Helper()
	var h queue.Health
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h = p.Health(ctx)
		return h.State == want
	}, time.Minute, 20*time.Millisecond, "health never became %s", want)
	return h
}

// TestLongHandlerKeepsItsMessage: a handler running several AckWaits long
// keeps its message; a competing subscriber never gets it.
func TestLongHandlerKeepsItsMessage(t *testing.T) {
	b := newEmbeddedBroker(t)
	cfg := testConfig()
	cfg.Server = b.srv
	cfg.AckWait = 500 * time.Millisecond
	p, err := New(testCtx(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })

	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "slow"}
	started := make(chan struct{})
	slow, err := p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{}, func(context.Context, queue.Delivery) queue.Outcome {
		close(started)
		time.Sleep(4 * cfg.AckWait) // the work, not a wait for the system under test
		return queue.Ack()
	})
	require.NoError(t, err)
	require.NoError(t, p.Publish(testCtx(t), dst, queue.Message{Body: []byte("slow")}))
	select {
	case <-started:
	case <-time.After(time.Minute):
		t.Fatal("the slow handler never started")
	}

	competitor := make(chan string, 4)
	other, err := p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{}, func(_ context.Context, d queue.Delivery) queue.Outcome {
		competitor <- d.ID
		return queue.Ack()
	})
	require.NoError(t, err)
	require.NoError(t, slow.Close(testCtx(t)))
	require.Eventually(t, func() bool {
		d, err := p.Depth(testCtx(t), dst)
		return err == nil && d == queue.Depth{}
	}, time.Minute, 20*time.Millisecond)
	require.NoError(t, other.Close(testCtx(t)))
	require.Zero(t, len(competitor), "the message was redelivered while its handler still ran")
}

func TestSecondGroupOnAQueueIsRefused(t *testing.T) {
	b := newEmbeddedBroker(t)
	p := b.New(t)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "one-group"}
	noop := func(context.Context, queue.Delivery) queue.Outcome { return queue.Ack() }

	a, err := p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{Group: "first"}, noop)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Close(context.Background())) })
	_, err = p.Subscribe(testCtx(t), dst, queue.SubscribeOptions{Group: "second"}, noop)
	var coded *Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, codeGroupConflict, coded.Code)
}
