package queuetest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

// stamped is a delivery with the wall-clock time its handler started.
type stamped struct {
	queue.Delivery
	at time.Time
}

func testPublishSubscribe(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "orders.incoming")
	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{}, k.ack)

	m := newMessage(t, `{"hello":"world"}`)
	publish(t, p, dst, m)
	d := k.take(t, 1)[0]
	require.Equal(t, m.ID, d.ID)
	require.Equal(t, m.Body, d.Body)
	require.Equal(t, dst, d.Destination)
	require.Equal(t, 1, d.Attempt)
	require.False(t, d.Redelivered, "a first delivery is not a redelivery")
	require.Equal(t, m.ID, d.Headers[queue.HeaderMessageID], "the provider records the id in the headers")

	// A message without an id gets one from the provider.
	publish(t, p, dst, queue.Message{Body: []byte("anonymous")})
	d = k.take(t, 1)[0]
	require.NotEmpty(t, d.ID)
	require.Equal(t, "anonymous", string(d.Body))
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testPublishBatch(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "batch")
	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{Concurrency: 4, Prefetch: 32}, k.ack)

	msgs := newMessages(t, 100, "batch")
	publish(t, p, dst, msgs...)
	got := byID(t, k.take(t, len(msgs)))
	for _, m := range msgs {
		d, ok := got[m.ID]
		require.True(t, ok, "message %s missing", m.ID)
		require.Equal(t, m.Body, d.Body)
	}
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testOrdered(t *testing.T, s *suite) {
	if !s.caps.Ordered {
		t.Skip("the broker does not keep publish order for a single consumer (Capabilities.Ordered is false)")
	}
	p := s.provider(t)
	dst := newDestination(t, "ordered")
	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{}, k.ack)

	msgs := newMessages(t, 40, "ordered")
	publish(t, p, dst, msgs[:30]...)
	for _, m := range msgs[30:] {
		publish(t, p, dst, m)
	}
	got := k.take(t, len(msgs))
	gotIDs := make([]string, len(got))
	for i, d := range got {
		gotIDs[i] = d.ID
	}
	require.Equal(t, ids(msgs), gotIDs, "one consumer with concurrency 1 sees publish order")
}

func testAckedNeverComeBack(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "acked")
	k := newSink()
	sub := subscribe(t, p, dst, queue.SubscribeOptions{}, k.ack)
	publish(t, p, dst, newMessages(t, 5, "acked")...)
	k.take(t, 5)
	eventuallyDepth(t, p, dst, queue.Depth{})
	closeSubscription(t, sub)

	// A new subscriber sees only what was published afterwards.
	k2 := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{}, k2.ack)
	sentinel := newMessage(t, "sentinel")
	publish(t, p, dst, sentinel)
	require.Equal(t, sentinel.ID, k2.take(t, 1)[0].ID, "an acked message came back")
}

func testRetryRedelivers(t *testing.T, s *suite) {
	const delay = 600 * time.Millisecond
	p := s.provider(t)
	dst := newDestination(t, "retry")
	ch := make(chan stamped, 16)
	subscribe(t, p, dst, queue.SubscribeOptions{}, func(_ context.Context, d queue.Delivery) queue.Outcome {
		ch <- stamped{d, time.Now().Round(0)}
		if d.Attempt < 3 {
			o := queue.Retry(delay)
			o.Headers = map[string]string{"x-retry-note": "after attempt " + d.Headers[queue.HeaderAttempt]}
			return o
		}
		return queue.Ack()
	})

	m := newMessage(t, "flaky")
	m.Headers[queue.HeaderAttempt] = "1"
	publish(t, p, dst, m)
	got := make([]stamped, 0, 3)
	for range 3 {
		select {
		case d := <-ch:
			got = append(got, d)
		case <-time.After(waitTimeout):
			t.Fatalf("received %d of 3 attempts", len(got))
		}
	}
	for i, d := range got {
		require.Equal(t, m.ID, d.ID, "a retried copy keeps the message id")
		require.Equal(t, m.Body, d.Body)
		require.Equal(t, i+1, d.Attempt, "attempt of delivery %d", i+1)
		if i > 0 {
			require.Equal(t, "after attempt "+got[i-1].Headers[queue.HeaderAttempt], d.Headers["x-retry-note"],
				"headers of a Retry outcome travel with the copy")
			gap := d.at.Sub(got[i-1].at)
			require.GreaterOrEqual(t, gap, delay, "attempt %d came %s after the previous one asked for %s", d.Attempt, gap, delay)
		}
	}
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testDeferRedelivers(t *testing.T, s *suite) {
	const delay = 500 * time.Millisecond
	p := s.provider(t)
	dst := newDestination(t, "defer")
	ch := make(chan stamped, 16)
	var n atomic.Int32
	subscribe(t, p, dst, queue.SubscribeOptions{}, func(_ context.Context, d queue.Delivery) queue.Outcome {
		ch <- stamped{d, time.Now()}
		switch n.Add(1) {
		case 1:
			return queue.Defer(delay)
		case 2:
			return queue.Defer(0)
		}
		return queue.Ack()
	})

	m := newMessage(t, "busy")
	publish(t, p, dst, m)
	got := make([]stamped, 0, 3)
	for range 3 {
		select {
		case d := <-ch:
			got = append(got, d)
		case <-time.After(waitTimeout):
			t.Fatalf("received %d of 3 deliveries", len(got))
		}
	}
	for i, d := range got {
		require.Equal(t, m.ID, d.ID)
		require.Equal(t, 1, d.Attempt, "a deferral does not count an attempt (delivery %d)", i+1)
		require.Equal(t, i > 0, d.Redelivered, "Redelivered of delivery %d", i+1)
	}
	gap := got[1].at.Sub(got[0].at)
	require.GreaterOrEqual(t, gap, delay, "deferred delivery came %s later, asked for %s", gap, delay)
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testDeadLetterSettles(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "poison")
	ch := make(chan queue.Delivery, 16)
	subscribe(t, p, dst, queue.SubscribeOptions{}, func(_ context.Context, d queue.Delivery) queue.Outcome {
		ch <- d
		if string(d.Body) == "sentinel" {
			return queue.Ack()
		}
		return queue.DeadLetter("poison message")
	})
	poison := newMessages(t, 3, "poison")
	publish(t, p, dst, poison...)
	byID(t, receive(t, ch, len(poison)))
	eventuallyDepth(t, p, dst, queue.Depth{})

	sentinel := newMessage(t, "sentinel")
	publish(t, p, dst, sentinel)
	require.Equal(t, sentinel.ID, receive(t, ch, 1)[0].ID, "a dead-lettered message came back")
}

func testNotBefore(t *testing.T, s *suite) {
	const delay = 800 * time.Millisecond
	p := s.provider(t)
	dst := newDestination(t, "scheduled")
	ch := make(chan stamped, 16)
	subscribe(t, p, dst, queue.SubscribeOptions{}, func(_ context.Context, d queue.Delivery) queue.Outcome {
		ch <- stamped{d, time.Now().Round(0)}
		return queue.Ack()
	})

	notBefore := time.Now().Add(delay)
	delayed := newMessage(t, "delayed")
	delayed.Headers[queue.HeaderNotBefore] = queue.FormatTime(notBefore)
	prompt := newMessage(t, "prompt")
	publish(t, p, dst, delayed)
	publish(t, p, dst, prompt)

	var got []stamped
	for range 2 {
		select {
		case d := <-ch:
			got = append(got, d)
		case <-time.After(waitTimeout):
			t.Fatalf("received %d of 2 messages", len(got))
		}
	}
	require.Equal(t, prompt.ID, got[0].ID, "a delayed message must not hold back the queue")
	require.Equal(t, delayed.ID, got[1].ID)
	require.False(t, got[1].at.Before(notBefore), "delivered at %s, not before %s", got[1].at, notBefore)
	require.Equal(t, 1, got[1].Attempt)
	require.False(t, got[1].Redelivered, "holding a message until its time is not a redelivery")
	eventuallyDepth(t, p, dst, queue.Depth{})
}

func testHeadersRoundTrip(t *testing.T, s *suite) {
	p := s.provider(t)
	dst := newDestination(t, "headers")
	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{}, k.ack)

	m := newMessage(t, "with headers")
	sent := map[string]string{
		"x-plain":                 "value",
		"X-Mixed-Case":            "MiXeD",
		"x-unicode-value":         "héllo wörld ✓ 日本語 🚀",
		"x-ünïcödé-key":           "unicode key",
		"x:colon key":             "key with a colon and a space",
		"x.dotted_key-1":          "dots and underscores",
		"x-empty":                 "",
		"x-spaces":                "  padded on both sides  ",
		"x-colon":                 "a: b: c",
		"x-json":                  `{"a":[1,2,{"b":"c"}],"d":null}`,
		"x-newlines":              "line one\nline two\r\nline three",
		"x-tab":                   "\tleading tab",
		"x-backslash":             `C:\path\to\file`,
		"x-long":                  strings.Repeat("0123456789abcdef", 256),
		"x-iso-offset":            "2026-11-23T17:51:00.123456789+01:00",
		"x-iso-zulu":              "2026-11-23T16:51:00Z",
		"factflow-published-at":   queue.FormatTime(time.Now()),
		"factflow-correlation-id": m.ID,
		queue.HeaderTraceParent:   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	for k, v := range sent {
		m.Headers[k] = v
	}
	publish(t, p, dst, m)
	d := k.take(t, 1)[0]
	for k, v := range sent {
		got, ok := d.Headers[k]
		require.True(t, ok, "header %q missing", k)
		require.Equal(t, v, got, "header %q", k)
	}
}

func testBodyRoundTrip(t *testing.T, s *suite) {
	binary := make([]byte, 1024)
	for i := range binary {
		binary[i] = byte(i)
	}
	large := make([]byte, 512<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range large {
		large[i] = byte(rng.Uint32())
	}
	bodies := map[string][]byte{
		"empty":   {},
		"nil":     nil,
		"binary":  binary,
		"text":    []byte("plain text\r\n with\x00NUL"),
		"512KiB":  large,
		"one-nul": {0},
	}

	p := s.provider(t)
	dst := newDestination(t, "bodies")
	k := newSink()
	subscribe(t, p, dst, queue.SubscribeOptions{Concurrency: 2}, k.ack)
	sent := make(map[string]string, len(bodies)) // id → case
	for name, b := range bodies {
		m := newMessage(t, "")
		m.Body = b
		sent[m.ID] = name
		publish(t, p, dst, m)
	}
	for id, d := range byID(t, k.take(t, len(bodies))) {
		name, ok := sent[id]
		require.True(t, ok, "unexpected message %s", id)
		want := bodies[name]
		require.Equal(t, len(want), len(d.Body), "length of body %q", name)
		require.True(t, bytes.Equal(want, d.Body), "body %q differs", name)
	}
}
