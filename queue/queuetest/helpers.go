package queuetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

// waitTimeout bounds every wait. It is generous on purpose: it only decides
// how long a broken provider takes to fail, never whether a working one
// passes.
const waitTimeout = 30 * time.Second

// pollInterval is how often broker state (Depth, Health) is re-read while
// waiting for it to change.
const pollInterval = 20 * time.Millisecond

func newID(t testing.TB) string {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	return id.String()
}

// newDestination returns a queue in a fresh execution scope.
func newDestination(t testing.TB, name string) queue.Destination {
	return queue.Destination{Execution: newID(t), Queue: name}
}

func newMessage(t testing.TB, body string) queue.Message {
	return queue.Message{ID: newID(t), Headers: map[string]string{}, Body: []byte(body)}
}

func newMessages(t testing.TB, n int, prefix string) []queue.Message {
	msgs := make([]queue.Message, n)
	for i := range msgs {
		msgs[i] = newMessage(t, fmt.Sprintf("%s-%d", prefix, i))
	}
	return msgs
}

func ids(msgs []queue.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func publish(t testing.TB, p queue.Provider, dst queue.Destination, msgs ...queue.Message) {
	t.Helper()
	require.NoError(t, p.Publish(testContext(t), dst, msgs...), "publishing %d message(s) to %s", len(msgs), dst)
}

// subscribe starts a subscription that is closed when the test ends.
func subscribe(t testing.TB, p queue.Provider, dst queue.Destination, opts queue.SubscribeOptions, h queue.Handler) queue.Subscription {
	t.Helper()
	sub, err := p.Subscribe(context.Background(), dst, opts, h)
	require.NoError(t, err, "subscribing to %s", dst)
	t.Cleanup(func() { closeSubscription(t, sub) })
	return sub
}

func closeSubscription(t testing.TB, sub queue.Subscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, sub.Close(ctx), "closing subscription")
}

// sink collects deliveries; its handler acks them.
type sink struct{ ch chan queue.Delivery }

func newSink() *sink { return &sink{ch: make(chan queue.Delivery, 4096)} }

func (s *sink) ack(_ context.Context, d queue.Delivery) queue.Outcome {
	s.ch <- d
	return queue.Ack()
}

// take waits for n deliveries.
func (s *sink) take(t testing.TB, n int) []queue.Delivery {
	t.Helper()
	return receive(t, s.ch, n)
}

func receive(t testing.TB, ch <-chan queue.Delivery, n int) []queue.Delivery {
	t.Helper()
	out := make([]queue.Delivery, 0, n)
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for len(out) < n {
		select {
		case d := <-ch:
			out = append(out, d)
		case <-deadline.C:
			t.Fatalf("received %d of %d expected deliveries within %s", len(out), n, waitTimeout)
		}
	}
	return out
}

// recv waits for one value from ch.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
	}
	var zero T
	return zero
}

// waitClosed waits for ch to be closed (or to deliver a value).
func waitClosed[T any](t testing.TB, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
	}
}

// eventually polls cond until it reports true, failing with its last
// explanation when waitTimeout passes.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", waitTimeout, what, detail)
		}
		time.Sleep(pollInterval)
	}
}

// eventuallyDepth waits until dst's backlog is exactly want.
func eventuallyDepth(t testing.TB, p queue.Provider, dst queue.Destination, want queue.Depth) {
	t.Helper()
	eventually(t, fmt.Sprintf("depth of %s to be %+v", dst, want), func() (bool, string) {
		got, err := depth(p, dst)
		if err != nil {
			return false, err.Error()
		}
		return got == want, fmt.Sprintf("last depth %+v", got)
	})
}

// eventuallyTotal waits until Pending+InFlight of dst is want: which of the
// two a broker counts a delayed message under is its own business.
func eventuallyTotal(t testing.TB, p queue.Provider, dst queue.Destination, want int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d unsettled messages on %s", want, dst), func() (bool, string) {
		got, err := depth(p, dst)
		if err != nil {
			return false, err.Error()
		}
		return got.Pending+got.InFlight == want, fmt.Sprintf("last depth %+v", got)
	})
}

func depth(p queue.Provider, dst queue.Destination) (queue.Depth, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return p.Depth(ctx, dst)
}

func eventuallyHealthy(t testing.TB, p queue.Provider) {
	t.Helper()
	eventually(t, "provider to report healthy", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		h := p.Health(ctx)
		return h.State == queue.Healthy, fmt.Sprintf("last health %+v", h)
	})
}

// byID indexes deliveries, failing on a duplicate.
func byID(t testing.TB, ds []queue.Delivery) map[string]queue.Delivery {
	t.Helper()
	m := make(map[string]queue.Delivery, len(ds))
	for _, d := range ds {
		_, dup := m[d.ID]
		require.False(t, dup, "message %s delivered twice", d.ID)
		m[d.ID] = d
	}
	return m
}
