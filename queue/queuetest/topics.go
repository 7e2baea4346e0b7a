package queuetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/factflow/factflow/queue"
)

// TopicProvider is a provider that multicasts to topics (the system topics
// of the orchestrator). Topics are feeds: every subscriber present when a
// message is published gets it, nobody competes for it, and nothing is
// kept for subscribers that come later.
type TopicProvider interface {
	// PublishTopic sends msg to everyone subscribed to topic now.
	PublishTopic(ctx context.Context, topic string, msg queue.Message) error
	// SubscribeTopic calls h for each message published to topic after it
	// returned, one call at a time in publication order, until unsubscribe
	// is called or the provider closed. ctx bounds the setup only.
	// Unsubscribe is idempotent; once it returned h is not called again.
	SubscribeTopic(ctx context.Context, topic string, h func(queue.Message)) (unsubscribe func() error, err error)
	// Close ends every topic subscription with the provider.
	Close(ctx context.Context) error
}

// RunTopics runs the topic contract. newProvider returns a fresh provider
// connected to the broker under test; the suite closes it when the test
// ends. The tests share the broker and run in parallel, each on topics of
// its own; the goroutine-leak test runs afterwards, alone.
func RunTopics(t *testing.T, newProvider func(t testing.TB) TopicProvider) {
	t.Helper()
	s := &topicSuite{newProvider: newProvider}
	t.Run("shared", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			run  func(t *testing.T, s *topicSuite)
		}{
			{"FanOut", testTopicFanOut},
			{"RoundTrip", testTopicRoundTrip},
			{"Unsubscribe", testTopicUnsubscribe},
			{"InvalidNames", testTopicInvalidNames},
			{"Closed", testTopicClosed},
			{"CancelledContext", testTopicCancelledContext},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, s)
			})
		}
	})
	t.Run("NoLeaks", func(t *testing.T) { testTopicNoLeaks(t, s) })
}

type topicSuite struct {
	newProvider func(t testing.TB) TopicProvider
}

func (s *topicSuite) provider(t *testing.T) TopicProvider {
	t.Helper()
	p := s.newProvider(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("closing provider: %v", err)
		}
	})
	return p
}

// newTopic is a topic of this test alone, so that parallel tests (and
// parallel runs against one broker) never hear each other.
func newTopic(t testing.TB, name string) string {
	return "queuetest." + name + "." + newID(t)
}

// listener records what one topic subscription hears and fails the test
// when its handler is ever called twice at once.
type listener struct {
	t       testing.TB
	ch      chan queue.Message
	running atomic.Int32
	unsub   func() error
}

func listen(t testing.TB, p TopicProvider, topic string) *listener {
	t.Helper()
	l := &listener{t: t, ch: make(chan queue.Message, 4096)}
	unsub, err := p.SubscribeTopic(testContext(t), topic, l.handle)
	require.NoError(t, err, "subscribing to topic %s", topic)
	l.unsub = unsub
	t.Cleanup(func() { _ = unsub() })
	return l
}

func (l *listener) handle(m queue.Message) {
	if l.running.Add(1) != 1 {
		l.t.Errorf("a topic handler was called while another call of it was running")
	}
	defer l.running.Add(-1)
	l.ch <- m
}

// take waits for n messages.
func (l *listener) take(t testing.TB, n int) []queue.Message {
	t.Helper()
	out := make([]queue.Message, 0, n)
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for len(out) < n {
		select {
		case m := <-l.ch:
			out = append(out, m)
		case <-deadline.C:
			t.Fatalf("heard %d of %d expected topic messages within %s", len(out), n, waitTimeout)
		}
	}
	return out
}

// quiet fails when anything more was heard.
func (l *listener) quiet(t testing.TB, what string) {
	t.Helper()
	select {
	case m := <-l.ch:
		t.Fatalf("%s, yet it heard %q (id %s)", what, m.Body, m.ID)
	default:
	}
}

func publishTopic(t testing.TB, p TopicProvider, topic string, msgs ...queue.Message) {
	t.Helper()
	for _, m := range msgs {
		require.NoError(t, p.PublishTopic(testContext(t), topic, m), "publishing to topic %s", topic)
	}
}

func messageIDs(msgs []queue.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// Every subscriber, on the publishing provider and on others, hears every
// message in publication order; a subscriber of another topic hears none.
func testTopicFanOut(t *testing.T, s *topicSuite) {
	pub, other := s.provider(t), s.provider(t)
	topic, elsewhere := newTopic(t, "fan"), newTopic(t, "elsewhere")
	listeners := []*listener{listen(t, pub, topic), listen(t, pub, topic), listen(t, other, topic)}
	bystander := listen(t, other, elsewhere)

	msgs := newMessages(t, 50, "fan")
	publishTopic(t, pub, topic, msgs...)
	for i, l := range listeners {
		require.Equal(t, ids(msgs), messageIDs(l.take(t, len(msgs))), "subscriber %d hears every message in publication order", i)
	}
	// The bystander's first message is the one sent to its own topic.
	sentinel := newMessage(t, "sentinel")
	publishTopic(t, pub, elsewhere, sentinel)
	require.Equal(t, sentinel.ID, bystander.take(t, 1)[0].ID, "a message of another topic reached the bystander")
	for i, l := range listeners {
		l.quiet(t, fmt.Sprintf("subscriber %d heard all 50 messages", i))
	}
}

// Ids, headers and bodies arrive as sent; a message without an id gets one.
func testTopicRoundTrip(t *testing.T, s *topicSuite) {
	p := s.provider(t)
	topic := newTopic(t, "roundtrip")
	l := listen(t, p, topic)

	binary := make([]byte, 1024)
	for i := range binary {
		binary[i] = byte(i)
	}
	headers := map[string]string{
		"x-plain":               "value",
		"X-Mixed-Case":          "MiXeD",
		"x-unicode-value":       "héllo wörld ✓ 日本語 🚀",
		"x:colon key":           "key with a colon and a space",
		"x-empty":               "",
		"x-colon":               "a: b: c",
		"x-newlines":            "line one\nline two\r\nline three",
		"x-backslash":           `C:\path\to\file`,
		"x-long":                strings.Repeat("0123456789abcdef", 64),
		queue.HeaderExecutionID: newID(t),
		queue.HeaderTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	withHeaders := newMessage(t, `{"event":"status","status":"completed"}`)
	for k, v := range headers {
		withHeaders.Headers[k] = v
	}
	bin := newMessage(t, "")
	bin.Body = binary
	empty := newMessage(t, "")
	empty.Body = nil
	anonymous := queue.Message{Body: []byte("anonymous")}
	sent := []queue.Message{withHeaders, bin, empty, anonymous}
	publishTopic(t, p, topic, sent...)

	got := l.take(t, len(sent))
	for i, m := range got[:3] {
		require.Equal(t, sent[i].ID, m.ID, "message %d keeps its id", i)
		require.Equal(t, sent[i].ID, m.Headers[queue.HeaderMessageID], "message %d carries its id in the headers", i)
		require.True(t, bytes.Equal(sent[i].Body, m.Body), "body of message %d: sent %d bytes, heard %d", i, len(sent[i].Body), len(m.Body))
	}
	for k, v := range headers {
		got, ok := got[0].Headers[k]
		require.True(t, ok, "header %q missing", k)
		require.Equal(t, v, got, "header %q", k)
	}
	require.NotEmpty(t, got[3].ID, "a message published without an id gets one")
	require.Equal(t, got[3].ID, got[3].Headers[queue.HeaderMessageID])
	require.Equal(t, "anonymous", string(got[3].Body))
}

// An unsubscribed handler hears nothing more while the others carry on;
// unsubscribing again is harmless.
func testTopicUnsubscribe(t *testing.T, s *topicSuite) {
	p := s.provider(t)
	topic := newTopic(t, "unsubscribe")
	gone, stays := listen(t, p, topic), listen(t, p, topic)

	before := newMessage(t, "before")
	publishTopic(t, p, topic, before)
	require.Equal(t, before.ID, gone.take(t, 1)[0].ID)
	require.Equal(t, before.ID, stays.take(t, 1)[0].ID)

	require.NoError(t, gone.unsub(), "unsubscribing")
	require.NoError(t, gone.unsub(), "unsubscribing again")
	after := newMessages(t, 5, "after")
	publishTopic(t, p, topic, after...)
	require.Equal(t, ids(after), messageIDs(stays.take(t, len(after))))
	gone.quiet(t, "the subscriber unsubscribed before the messages were published")

	// Subscribing again hears what follows, not what was missed.
	again := listen(t, p, topic)
	last := newMessage(t, "last")
	publishTopic(t, p, topic, last)
	require.Equal(t, last.ID, again.take(t, 1)[0].ID)
	require.Equal(t, last.ID, stays.take(t, 1)[0].ID)
	gone.quiet(t, "the subscriber unsubscribed")
}

func testTopicInvalidNames(t *testing.T, s *topicSuite) {
	p := s.provider(t)
	for _, name := range []string{"", "has space", "a..b", ".leading", "trailing.", "slash/inside", "star.*", "gt.>", "hash.#",
		strings.Repeat("t", queue.MaxNameLength+1)} {
		require.Error(t, p.PublishTopic(testContext(t), name, newMessage(t, "x")), "publishing to topic %q", name)
		unsub, err := p.SubscribeTopic(testContext(t), name, func(queue.Message) {})
		require.Error(t, err, "subscribing to topic %q", name)
		require.Nil(t, unsub, "subscribing to topic %q returned an unsubscribe function with its error", name)
	}
	_, err := p.SubscribeTopic(testContext(t), newTopic(t, "nil"), nil)
	require.Error(t, err, "subscribing without a handler")
}

// Closing the provider ends its topic subscriptions; it refuses work
// afterwards and unsubscribing then is harmless.
func testTopicClosed(t *testing.T, s *topicSuite) {
	p, witness := s.provider(t), s.provider(t)
	topic := newTopic(t, "closed")
	l, w := listen(t, p, topic), listen(t, witness, topic)

	require.NoError(t, p.Close(testContext(t)))
	require.NoError(t, p.Close(testContext(t)), "closing again")
	require.Error(t, p.PublishTopic(testContext(t), topic, newMessage(t, "late")), "publishing on a closed provider")
	unsub, err := p.SubscribeTopic(testContext(t), topic, func(queue.Message) {})
	require.Error(t, err, "subscribing on a closed provider")
	require.Nil(t, unsub)
	require.NoError(t, l.unsub(), "unsubscribing after the provider closed")

	m := newMessage(t, "after close")
	publishTopic(t, witness, topic, m)
	require.Equal(t, m.ID, w.take(t, 1)[0].ID)
	l.quiet(t, "the subscriber's provider was closed before the message was published")
}

func testTopicCancelledContext(t *testing.T, s *topicSuite) {
	p := s.provider(t)
	topic := newTopic(t, "cancelled")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, p.PublishTopic(ctx, topic, newMessage(t, "x")), "publishing with a cancelled context")
	unsub, err := p.SubscribeTopic(ctx, topic, func(queue.Message) {})
	require.Error(t, err, "subscribing with a cancelled context")
	require.Nil(t, unsub)

	// A subscription outlives the context it was set up with.
	sctx, scancel := context.WithCancel(context.Background())
	h := &listener{t: t, ch: make(chan queue.Message, 16)}
	unsub, err = p.SubscribeTopic(sctx, topic, h.handle)
	require.NoError(t, err)
	t.Cleanup(func() { _ = unsub() })
	scancel()
	m := newMessage(t, "still here")
	publishTopic(t, p, topic, m)
	require.Equal(t, m.ID, h.take(t, 1)[0].ID)
}

// Subscriptions, unsubscribed or ended by Close, leave no goroutine
// behind once their provider is closed.
func testTopicNoLeaks(t *testing.T, s *topicSuite) {
	before := goleak.IgnoreCurrent()
	func() {
		p, other := s.newProvider(t), s.newProvider(t)
		topic := newTopic(t, "leaks")
		var mu sync.Mutex
		heard := map[string]int{}
		var unsubs []func() error
		for i, prov := range []TopicProvider{p, p, other} {
			name := fmt.Sprintf("subscriber %d", i)
			unsub, err := prov.SubscribeTopic(testContext(t), topic, func(queue.Message) {
				mu.Lock()
				heard[name]++
				mu.Unlock()
			})
			require.NoError(t, err)
			unsubs = append(unsubs, unsub)
		}
		publishTopic(t, p, topic, newMessages(t, 10, "leak")...)
		eventually(t, "every subscriber to hear 10 messages", func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			return len(heard) == 3 && heard["subscriber 0"] == 10 && heard["subscriber 1"] == 10 && heard["subscriber 2"] == 10,
				fmt.Sprintf("heard %v", heard)
		})
		// One unsubscribed, the others still subscribed when their
		// providers close.
		require.NoError(t, unsubs[0]())
		require.NoError(t, p.Close(testContext(t)))
		require.NoError(t, other.Close(testContext(t)))
		for _, u := range unsubs {
			require.NoError(t, u())
		}
	}()
	// Clients may end some goroutines only at their next tick after Close
	// (pulsar-client-go's producer send-timeout loop, for one): give them
	// time, then anything left leaked.
	deadline := time.Now().Add(waitTimeout)
	for {
		err := goleak.Find(before)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TopicSurvivesRestart checks that a topic subscription comes back by
// itself after restart (which stops and starts the broker) and hears, in
// order, what is published once it is back. Messages published while it
// was away are missed by design; probes are published until one is heard.
func TopicSurvivesRestart(t *testing.T, p TopicProvider, restart func(t *testing.T)) {
	t.Helper()
	ctx := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), waitTimeout)
		t.Cleanup(cancel)
		return c
	}
	next := func(heard <-chan queue.Message) queue.Message {
		t.Helper()
		select {
		case m := <-heard:
			return m
		case <-time.After(waitTimeout):
			t.Fatalf("nothing heard on the topic within %s", waitTimeout)
			return queue.Message{}
		}
	}
	topic := "restart." + queue.NewMessageID()
	heard := make(chan queue.Message, 4096)
	unsub, err := p.SubscribeTopic(ctx(), topic, func(m queue.Message) { heard <- m })
	require.NoError(t, err)
	defer func() { require.NoError(t, unsub()) }()

	require.NoError(t, p.PublishTopic(ctx(), topic, queue.Message{Body: []byte("before")}))
	require.Equal(t, "before", string(next(heard).Body))

	restart(t)
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
probing:
	for n := 0; ; n++ {
		require.NoError(t, p.PublishTopic(ctx(), topic, queue.Message{Body: fmt.Appendf(nil, "probe-%d", n)}))
		select {
		case m := <-heard:
			require.True(t, strings.HasPrefix(string(m.Body), "probe-"), "heard %q", m.Body)
			break probing
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the topic subscription did not come back within %s of the restart", waitTimeout)
		}
	}
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprintf("after-%d", i)
		require.NoError(t, p.PublishTopic(ctx(), topic, queue.Message{Body: []byte(want[i])}))
	}
	var got []string
	for len(got) < len(want) {
		if m := next(heard); !strings.HasPrefix(string(m.Body), "probe-") {
			got = append(got, string(m.Body))
		}
	}
	require.Equal(t, want, got)
}
