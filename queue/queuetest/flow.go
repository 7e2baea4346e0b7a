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

func testConcurrency(t *testing.T, s *suite) {
	const n = 4
	p := s.provider(t)
	dst := newDestination(t, "parallel")

	var active, most atomic.Int32
	allIn := make(chan struct{})
	var once sync.Once
	done := make(chan queue.Delivery, 64)
	subscribe(t, p, dst, queue.SubscribeOptions{Concurrency: n, Prefetch: 2 * n}, func(ctx context.Context, d queue.Delivery) queue.Outcome {
		cur := active.Add(1)
		defer active.Add(-1)
		for {
			m := most.Load()
			if cur <= m || most.CompareAndSwap(m, cur) {
				break
			}
		}
		if cur == n {
			once.Do(func() { close(allIn) })
		}
		// The first handlers wait for each other: only n handlers running
		// side by side release them.
		select {
		case <-allIn:
		case <-ctx.Done():
			return queue.Defer(0)
		}
		done <- d
		return queue.Ack()
	})

	msgs := newMessages(t, 3*n, "parallel")
	publish(t, p, dst, msgs...)
	require.Len(t, byID(t, receive(t, done, len(msgs))), len(msgs))
	require.LessOrEqual(t, most.Load(), int32(n), "more handlers ran at once than the concurrency allows")
}

func testPrefetch(t *testing.T, s *suite) {
	const prefetch = 3
	p := s.provider(t)
	dst := newDestination(t, "prefetch")

	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	fromA := make(chan queue.Delivery, 32)
	subscribe(t, p, dst, queue.SubscribeOptions{Concurrency: 1, Prefetch: prefetch}, func(ctx context.Context, d queue.Delivery) queue.Outcome {
		once.Do(func() { close(started) })
		select {
		case <-release:
		case <-ctx.Done():
			return queue.Defer(0)
		}
		fromA <- d
		return queue.Ack()
	})
	msgs := newMessages(t, 10, "prefetch")
	publish(t, p, dst, msgs...)
	waitClosed(t, started, "the first subscriber to start a handler")

	// A holds at most `prefetch` messages while its only handler is stuck,
	// so a second subscriber gets the rest.
	b := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{}, b.ack)
	seen := byID(t, b.take(t, len(msgs)-prefetch))
	close(release)

	fromAOnly := 0
	deadline := time.After(waitTimeout)
	for len(seen) < len(msgs) {
		var d queue.Delivery
		select {
		case d = <-fromA:
			fromAOnly++
		case d = <-b.ch:
		case <-deadline:
			t.Fatalf("received %d of %d messages", len(seen), len(msgs))
		}
		_, dup := seen[d.ID]
		require.False(t, dup, "message %s delivered twice", d.ID)
		seen[d.ID] = d
	}
	require.LessOrEqual(t, fromAOnly, prefetch, "the stuck subscriber handled more messages than it may prefetch")
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testIsolation(t *testing.T, s *suite) {
	p := s.provider(t)
	dstA := newDestination(t, "same.name")
	dstB := newDestination(t, "same.name")
	a, b := newSink(), newSink()
	subscribe(t, p, dstA, queue.SubscribeOptions{Concurrency: 2}, a.ack)
	subscribe(t, p, dstB, queue.SubscribeOptions{Concurrency: 2}, b.ack)

	msgsA, msgsB := newMessages(t, 10, "a"), newMessages(t, 10, "b")
	publish(t, p, dstA, msgsA...)
	publish(t, p, dstB, msgsB...)
	for _, tc := range []struct {
		sink *sink
		dst  queue.Destination
		msgs []queue.Message
	}{{a, dstA, msgsA}, {b, dstB, msgsB}} {
		got := byID(t, tc.sink.take(t, len(tc.msgs)))
		for _, m := range tc.msgs {
			d, ok := got[m.ID]
			require.True(t, ok, "message %s of %s went elsewhere", m.ID, tc.dst)
			require.Equal(t, tc.dst, d.Destination)
		}
	}
	// Nothing of B is left to trickle into A.
	sentinel := newMessage(t, "sentinel")
	publish(t, p, dstA, sentinel)
	require.Equal(t, sentinel.ID, a.take(t, 1)[0].ID)
	eventuallyDepth(t, p, dstB, queue.Depth{})
}

func testCompetingConsumers(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "work")

	type tagged struct {
		consumer int
		d        queue.Delivery
	}
	seen := make(chan tagged, 256)
	var mu sync.Mutex
	var has [2]bool
	both := make(chan struct{})
	handler := func(i int) queue.Handler {
		return func(ctx context.Context, d queue.Delivery) queue.Outcome {
			mu.Lock()
			if !has[i] {
				has[i] = true
				if has[0] && has[1] {
					close(both)
				}
			}
			mu.Unlock()
			// Each consumer holds its first message until the other has
			// one too: with prefetch 1 neither can take both.
			select {
			case <-both:
			case <-ctx.Done():
				return queue.Defer(0)
			}
			seen <- tagged{i, d}
			return queue.Ack()
		}
	}
	opts := queue.SubscribeOptions{Concurrency: 1, Prefetch: 1, Group: "workers"}
	subscribe(t, p, dst, opts, handler(0))
	subscribe(t, p, dst, opts, handler(1))

	msgs := newMessages(t, 2, "first")
	publish(t, p, dst, msgs...)
	waitClosed(t, both, "both consumers to receive a message")
	more := newMessages(t, 40, "more")
	publish(t, p, dst, more...)
	msgs = append(msgs, more...)

	got := make(map[string]int, len(msgs))
	var per [2]int
	deadline := time.After(waitTimeout)
	for len(got) < len(msgs) {
		select {
		case tg := <-seen:
			prev, dup := got[tg.d.ID]
			require.False(t, dup, "message %s went to consumer %d and %d", tg.d.ID, prev, tg.consumer)
			got[tg.d.ID] = tg.consumer
			per[tg.consumer]++
		case <-deadline:
			t.Fatalf("received %d of %d messages", len(got), len(msgs))
		}
	}
	for _, m := range msgs {
		require.Contains(t, got, m.ID)
	}
	require.Positive(t, per[0])
	require.Positive(t, per[1])
	eventuallyDepth(t, p, dst, queue.Depth{})
}
