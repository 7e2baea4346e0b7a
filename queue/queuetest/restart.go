package queuetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

// restartable tracks the provider a restart test currently works with, so
// that whichever one is current is closed at the end.
type restartable struct {
	mu sync.Mutex
	p  queue.Provider
}

func (s *suite) restartable(t *testing.T) *restartable {
	r := &restartable{p: s.f.New(t)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := r.current().Close(ctx); err != nil {
			t.Errorf("closing provider: %v", err)
		}
	})
	return r
}

func (r *restartable) current() queue.Provider {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}

func (r *restartable) restart(t *testing.T, s *suite) queue.Provider {
	r.mu.Lock()
	r.p = s.f.Restart(t, r.p)
	p := r.p
	r.mu.Unlock()
	eventuallyHealthy(t, p)
	return p
}

// testRestartKeepsMessages: publish, settle some, leave one interrupted,
// restart; everything unsettled arrives afterwards and nothing settled
// comes back.
func testRestartKeepsMessages(t *testing.T, s *suite) {
	const total, acked = 40, 15
	r := s.restartable(t)
	p := r.current()
	dst := newDestination(t, "durable")
	msgs := newMessages(t, total, "durable")
	publish(t, p, dst, msgs...)

	var n atomic.Int32
	ackedIDs := make(chan string, total)
	holding := make(chan struct{})
	sub, err := p.Subscribe(context.Background(), dst, queue.SubscribeOptions{}, func(ctx context.Context, d queue.Delivery) queue.Outcome {
		if n.Add(1) <= acked {
			ackedIDs <- d.ID
			return queue.Ack()
		}
		close(holding)
		<-ctx.Done()
		return queue.Defer(0)
	})
	require.NoError(t, err)
	waitClosed(t, holding, "the subscriber to settle its share")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	require.NoError(t, sub.Close(ctx))
	cancel()
	settled := make(map[string]bool, acked)
	for range acked {
		settled[recv(t, ackedIDs, "acked ids")] = true
	}
	// The broker has every ack before it goes down.
	eventuallyTotal(t, p, dst, total-acked)

	p = r.restart(t, s)
	extra := newMessage(t, "after restart")
	publish(t, p, dst, extra)
	want := map[string]bool{extra.ID: true}
	for _, m := range msgs {
		if !settled[m.ID] {
			want[m.ID] = true
		}
	}

	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{Concurrency: 4, Prefetch: 16}, k.ack)
	got := map[string]bool{}
	deadline := time.After(waitTimeout)
	for len(got) < len(want) {
		select {
		case d := <-k.ch:
			require.False(t, settled[d.ID], "message %s was acked before the restart and came back", d.ID)
			require.True(t, want[d.ID], "unexpected message %s", d.ID)
			got[d.ID] = true
		case <-deadline:
			t.Fatalf("after the restart %d of %d unsettled messages arrived", len(got), len(want))
		}
	}
	eventuallyDepth(t, p, dst, queue.Depth{})
}

// testRestartWhileSubscribed restarts the broker under a busy subscriber:
// every message arrives at least once.
func testRestartWhileSubscribed(t *testing.T, s *suite) {
	r := s.restartable(t)
	p := r.current()
	dst := newDestination(t, "live")
	seen := make(chan queue.Delivery, 1024)
	handler := func(_ context.Context, d queue.Delivery) queue.Outcome {
		seen <- d
		return queue.Ack()
	}
	opts := queue.SubscribeOptions{Concurrency: 2, Prefetch: 8}
	subscribe(t, p, dst, opts, handler)

	msgs := newMessages(t, 100, "before")
	publish(t, p, dst, msgs...)
	got := map[string]bool{}
	for len(got) < 30 {
		got[recv(t, seen, "deliveries before the restart").ID] = true
	}

	p2 := r.restart(t, s)
	if p2 != p {
		// The old provider went down with its subscription.
		subscribe(t, p2, dst, opts, handler)
	}
	more := newMessages(t, 20, "after")
	publish(t, p2, dst, more...)
	msgs = append(msgs, more...)

	deadline := time.After(waitTimeout)
	for len(got) < len(msgs) {
		select {
		case d := <-seen:
			got[d.ID] = true
		case <-deadline:
			t.Fatalf("%d of %d messages arrived across the restart", len(got), len(msgs))
		}
	}
	for _, m := range msgs {
		require.True(t, got[m.ID], "message %s lost", m.ID)
	}
	eventuallyDepth(t, p2, dst, queue.Depth{})
}
