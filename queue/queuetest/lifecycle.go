package queuetest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

func testCloseWhileBusy(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "busy")

	var starts atomic.Int32
	// Each start reports its turn with its message: two handlers starting
	// at once may report in either order.
	type start struct {
		n  int32
		id string
	}
	started := make(chan start, 8)
	finishQuick := make(chan struct{})
	quickReturned := make(chan struct{})
	slowCancelled := make(chan struct{})
	sub, err := p.Subscribe(context.Background(), dst, queue.SubscribeOptions{Concurrency: 2, Prefetch: 2},
		func(ctx context.Context, d queue.Delivery) queue.Outcome {
			n := starts.Add(1)
			started <- start{n, d.ID}
			switch n {
			case 1: // finishes while Close waits
				defer close(quickReturned)
				select {
				case <-finishQuick:
					return queue.Ack()
				case <-ctx.Done():
					t.Errorf("the handler context was cancelled although the handler finished in time")
					return queue.Defer(0)
				}
			case 2: // runs until Close gives up waiting
				<-ctx.Done()
				close(slowCancelled)
				return queue.Defer(0)
			}
			t.Errorf("a closing subscription started a handler for %s", d.ID)
			return queue.Defer(0)
		})
	require.NoError(t, err)
	t.Cleanup(func() { closeSubscription(t, sub) })

	publish(t, p, dst, newMessages(t, 2, "busy")...)
	first := recv(t, started, "the first handler to start")
	second := recv(t, started, "the second handler to start")
	quickID, slowID := first.id, second.id
	if first.n == 2 {
		quickID, slowID = second.id, first.id
	}

	closeCtx, cancelClose := context.WithCancel(context.Background())
	defer cancelClose()
	closed := make(chan error, 1)
	go func() { closed <- sub.Close(closeCtx) }()

	close(finishQuick)
	waitClosed(t, quickReturned, "the quick handler to return")
	select {
	case <-closed:
		t.Fatal("Close returned while a handler was still running and its context was not done")
	case <-slowCancelled:
		t.Fatal("a handler was cancelled before Close's context was done")
	default:
	}
	cancelClose()
	waitClosed(t, slowCancelled, "the slow handler to see its context cancelled")
	waitClosed(t, closed, "Close to return after cancelling the handlers")
	require.Equal(t, int32(2), starts.Load(), "handlers started by the closed subscription")

	// The unfinished message is redelivered; the finished one is gone.
	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{}, k.ack)
	after := newMessage(t, "after")
	publish(t, p, dst, after)
	got := byID(t, k.take(t, 2))
	require.Contains(t, got, slowID, "the interrupted message was not redelivered")
	require.Contains(t, got, after.ID)
	require.NotContains(t, got, quickID, "a message whose handler finished came back")
	require.True(t, got[slowID].Redelivered, "the interrupted message is a redelivery")
	require.Equal(t, 1, got[slowID].Attempt, "an interruption does not count an attempt")
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testSubscribeContextCancel(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "cancelled")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	started := make(chan string, 8)
	sawCancel := make(chan struct{})
	sub, err := p.Subscribe(ctx, dst, queue.SubscribeOptions{}, func(hctx context.Context, d queue.Delivery) queue.Outcome {
		calls.Add(1)
		started <- d.ID
		if string(d.Body) == "first" {
			return queue.Ack()
		}
		<-hctx.Done()
		close(sawCancel)
		return queue.Defer(0)
	})
	require.NoError(t, err)
	t.Cleanup(func() { closeSubscription(t, sub) })

	first, hold := newMessage(t, "first"), newMessage(t, "hold")
	publish(t, p, dst, first)
	require.Equal(t, first.ID, recv(t, started, "the first message"))
	publish(t, p, dst, hold)
	require.Equal(t, hold.ID, recv(t, started, "the held message"))

	cancel()
	waitClosed(t, sawCancel, "the running handler to see the subscription context cancelled")
	closeSubscription(t, sub)

	after := newMessage(t, "after")
	publish(t, p, dst, after)
	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{}, k.ack)
	got := byID(t, k.take(t, 2))
	require.Contains(t, got, hold.ID)
	require.Contains(t, got, after.ID)
	require.Equal(t, int32(2), calls.Load(), "the cancelled subscription kept consuming")
}

func testCloseIdempotent(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "closing")
	sub := subscribe(t, p, dst, queue.SubscribeOptions{}, newSink().ack)
	closeSubscription(t, sub)
	closeSubscription(t, sub)

	// A provider closes within its context even while a handler ignores
	// cancellation.
	p2 := s.provider(t)
	dst2 := newDestination(t, "stubborn")
	started := make(chan struct{})
	release := make(chan struct{})
	returned := make(chan struct{})
	_, err := p2.Subscribe(context.Background(), dst2, queue.SubscribeOptions{}, func(context.Context, queue.Delivery) queue.Outcome {
		close(started)
		<-release
		close(returned)
		return queue.Ack()
	})
	require.NoError(t, err)
	publish(t, p2, dst2, newMessage(t, "stubborn"))
	waitClosed(t, started, "the handler to start")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p2.Close(ctx) }()
	waitClosed(t, closed, "Provider.Close to return once its context is done")
	require.NoError(t, p2.Close(testContext(t)), "a second Close")

	require.Error(t, p2.Publish(testContext(t), dst2, newMessage(t, "late")), "publishing on a closed provider")
	_, err = p2.Subscribe(context.Background(), dst2, queue.SubscribeOptions{}, newSink().ack)
	require.Error(t, err, "subscribing on a closed provider")
	close(release)
	waitClosed(t, returned, "the stubborn handler to return")
}

func testDepth(t *testing.T, s *suite) {
	p := s.provider(t)
	got, err := p.Depth(testContext(t), newDestination(t, "never-used"))
	require.NoError(t, err)
	require.Equal(t, queue.Depth{}, got, "depth of a queue nobody used")

	dst := newDestination(t, "depth")
	publish(t, p, dst, newMessages(t, 5, "depth")...)
	eventuallyDepth(t, p, dst, queue.Depth{Pending: 5})

	started := make(chan struct{}, 8)
	release := make(chan struct{})
	subscribe(t, p, dst, queue.SubscribeOptions{Concurrency: 1, Prefetch: 1}, func(ctx context.Context, _ queue.Delivery) queue.Outcome {
		started <- struct{}{}
		select {
		case <-release:
			return queue.Ack()
		case <-ctx.Done():
			return queue.Defer(0)
		}
	})
	waitClosed(t, started, "the first handler to start")
	eventuallyDepth(t, p, dst, queue.Depth{Pending: 4, InFlight: 1})
	close(release)
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testDeleteScope(t *testing.T, s *suite) {
	p := s.provider(t)
	exec := newID(t)
	a := queue.Destination{Execution: exec, Queue: "a"}
	b := queue.Destination{Execution: exec, Queue: "b.c"}
	other := newDestination(t, "a")
	publish(t, p, a, newMessages(t, 3, "a")...)
	publish(t, p, b, newMessages(t, 2, "b")...)
	publish(t, p, other, newMessages(t, 2, "other")...)
	eventuallyDepth(t, p, a, queue.Depth{Pending: 3})
	eventuallyDepth(t, p, b, queue.Depth{Pending: 2})

	require.NoError(t, p.DeleteScope(testContext(t), exec))
	eventuallyDepth(t, p, a, queue.Depth{})
	eventuallyDepth(t, p, b, queue.Depth{})
	eventuallyDepth(t, p, other, queue.Depth{Pending: 2})
	require.NoError(t, p.DeleteScope(testContext(t), exec), "deleting a deleted scope")
	require.NoError(t, p.DeleteScope(testContext(t), newID(t)), "deleting a scope that never existed")

	// The scope can be used again.
	k := newSink()
	subscribe(t, p, a, queue.SubscribeOptions{}, k.ack)
	m := newMessage(t, "again")
	publish(t, p, a, m)
	require.Equal(t, m.ID, k.take(t, 1)[0].ID)
}

func testHealth(t *testing.T, s *suite) {
	p := s.provider(t)
	h := p.Health(testContext(t))
	require.Equal(t, queue.Healthy, h.State, "health: %+v", h)
	require.NotEmpty(t, h.Provider)
}

func testInvalidDestination(t *testing.T, s *suite) {
	p := s.provider(t)
	exec := newID(t)
	for _, name := range []string{"", "has space", "a..b", ".leading", "trailing.", "slash/inside", strings.Repeat("q", queue.MaxNameLength+1)} {
		dst := queue.Destination{Execution: exec, Queue: name}
		require.Error(t, p.Publish(testContext(t), dst, newMessage(t, "x")), "publishing to %q", name)
		_, err := p.Subscribe(context.Background(), dst, queue.SubscribeOptions{}, newSink().ack)
		require.Error(t, err, "subscribing to %q", name)
	}
}
