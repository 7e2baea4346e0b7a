package pulsar

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

func TestTopicNames(t *testing.T) {
	n := naming{tenant: "public", namespace: "default"}
	got, err := n.topic(queue.Destination{Execution: "0193-ab_c", Queue: "orders.in"})
	require.NoError(t, err)
	require.Equal(t, "persistent://public/default/factflow.0193-ab_c.orders.in", got)

	got, err = n.topic(queue.Destination{Queue: "shared"})
	require.NoError(t, err)
	require.Equal(t, "persistent://public/default/factflow._.shared", got, "queues outside any execution")

	prefix, err := n.scopePrefix("0193-ab_c")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix("persistent://public/default/factflow.0193-ab_c.orders.in", prefix))
	require.False(t, strings.HasPrefix("persistent://public/default/factflow.0193-ab_cd.orders.in", prefix),
		"an execution whose id extends another's is not in its scope")

	for _, exec := range []string{"_", "has.dot", "slash/x", "sp ace"} {
		_, err := n.topic(queue.Destination{Execution: exec, Queue: "q"})
		var coded *Error
		require.ErrorAs(t, err, &coded, "execution %q", exec)
		require.Equal(t, codeInvalidName, coded.Code)
	}
	_, err = n.topic(queue.Destination{Execution: "e", Queue: "a/b"})
	require.Error(t, err)
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{URL: "pulsar://broker.example:6650"}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, "http://broker.example:8080", c.AdminURL)
	require.Equal(t, "public", c.Tenant)
	require.Equal(t, "default", c.Namespace)
	require.Positive(t, c.SendTimeout, "a producer always has a send timeout")
	require.Positive(t, c.MaxReconnectToBroker, "the client's reconnects are bounded")

	c, err = Config{URL: "pulsar+ssl://b:6651?admin=" + "https%3A%2F%2Fb%3A8443&tenant=acme&namespace=flows"}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, "https://b:8443", c.AdminURL)
	require.Equal(t, "acme", c.Tenant)
	require.Equal(t, "flows", c.Namespace)
	require.Equal(t, "pulsar+ssl://b:6651", c.URL, "the provider's parameters are not passed to the client")

	for _, bad := range []string{"", "amqp://h:5672", "pulsar://", "pulsar://h:6650?tenant=a/b"} {
		_, err := Config{URL: bad}.withDefaults()
		var coded *Error
		require.ErrorAs(t, err, &coded, "URL %q", bad)
		require.Equal(t, codeConnect, coded.Code)
	}
}

func TestEncodeHeaders(t *testing.T) {
	m := queue.Message{ID: "id-1", Headers: map[string]string{
		"x-a":               "1",
		propRedelivered:     "true", // never taken from the caller
		queue.HeaderAttempt: "2",
	}, Body: nil}
	pm := encode(m, false, time.Time{})
	require.Equal(t, "id-1", pm.Properties[queue.HeaderMessageID])
	require.Equal(t, "1", pm.Properties["x-a"])
	require.NotContains(t, pm.Properties, propRedelivered)
	require.NotContains(t, pm.Properties, propDeliverAt)
	require.True(t, pm.DeliverAt.IsZero())
	require.NotNil(t, pm.Payload)
	require.Equal(t, "1", m.Headers["x-a"], "encoding leaves the message alone")

	// A message without an id gets one.
	pm = encode(queue.Message{}, false, time.Time{})
	require.NotEmpty(t, pm.Properties[queue.HeaderMessageID])

	// Not-before in the future schedules the message, and the hold time
	// travels along.
	nb := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	pm = encode(queue.Message{ID: "x", Headers: map[string]string{queue.HeaderNotBefore: queue.FormatTime(nb)}}, false, time.Time{})
	require.True(t, pm.DeliverAt.Equal(nb))
	require.Equal(t, queue.FormatTime(nb), pm.Properties[queue.HeaderNotBefore])

	// A deferred copy is marked and scheduled at its time.
	at := time.Now().Add(time.Minute)
	pm = encode(queue.Message{ID: "x", Headers: map[string]string{}}, true, at)
	require.Equal(t, "true", pm.Properties[propRedelivered])
	require.True(t, pm.DeliverAt.Equal(at))
	require.NotEmpty(t, pm.Properties[propDeliverAt])

	// A not-before time in the past is no schedule.
	pm = encode(queue.Message{ID: "x", Headers: map[string]string{queue.HeaderNotBefore: queue.FormatTime(time.Now().Add(-time.Hour))}}, false, time.Time{})
	require.True(t, pm.DeliverAt.IsZero())
}

func TestTooLarge(t *testing.T) {
	require.True(t, tooLarge(pulsar.ErrMessageTooLarge))
	require.True(t, tooLarge(errors.Join(errors.New("send"), pulsar.ErrMessageTooLarge)))
	require.False(t, tooLarge(pulsar.ErrSendTimeout))
}

func TestNewFailsFast(t *testing.T) {
	_, err := New(testCtx(t), Config{})
	require.Error(t, err, "no URL")

	// Nothing listens on port 1: the first connection must fail, not retry.
	_, err = New(testCtx(t), Config{URL: "pulsar://127.0.0.1:1"})
	var coded *Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, codeConnect, coded.Code)
}

func TestMessageTooLarge(t *testing.T) {
	u, a := brokerURLs(t)
	p, err := New(testCtx(t), testConfig(u, a))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(testCtx(t))) }()
	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "big"}
	// The broker's maxMessageSize is 5 MiB unless configured otherwise.
	err = p.Publish(testCtx(t), dst, queue.Message{Body: make([]byte, 6<<20)})
	require.ErrorIs(t, err, queue.ErrMessageTooLarge)
	var coded *Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, codeTooLarge, coded.Code)
	require.NoError(t, p.Publish(testCtx(t), dst, queue.Message{Body: make([]byte, 512)}), "a message within the limit")
	require.NoError(t, p.DeleteScope(testCtx(t), dst.Execution))
}

func TestPublishHonoursContext(t *testing.T) {
	u, a := brokerURLs(t)
	p, err := New(testCtx(t), testConfig(u, a))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(testCtx(t))) }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Publish(ctx, queue.Destination{Execution: queue.NewMessageID(), Queue: "q"}, queue.Message{Body: []byte("x")})
	require.ErrorIs(t, err, context.Canceled)
}

// fakeMessage is a received message as decode and holdUntil see it.
type fakeMessage struct {
	pulsar.Message
	props     map[string]string
	payload   []byte
	redeliver uint32
}

func (f fakeMessage) Properties() map[string]string { return f.props }
func (f fakeMessage) Payload() []byte               { return f.payload }
func (f fakeMessage) RedeliveryCount() uint32       { return f.redeliver }
func (f fakeMessage) ID() pulsar.MessageID          { return pulsar.EarliestMessageID() }

func TestDecodeRoundTrip(t *testing.T) {
	dst := queue.Destination{Execution: "e", Queue: "q"}
	m := queue.Message{ID: "id-7", Headers: map[string]string{"x-a": "b", queue.HeaderAttempt: "3"}, Body: []byte("body")}
	at := time.Now().Add(1500 * time.Microsecond)
	pm := encode(m, true, at)
	d := decode(fakeMessage{props: pm.Properties, payload: pm.Payload}, dst)
	require.Equal(t, "id-7", d.ID)
	require.Equal(t, 3, d.Attempt)
	require.True(t, d.Redelivered, "a deferred copy is a redelivery")
	require.Equal(t, "b", d.Headers["x-a"])
	require.NotContains(t, d.Headers, propRedelivered, "the provider's own properties are not headers")
	require.NotContains(t, d.Headers, propDeliverAt)
	require.Equal(t, dst, d.Destination)
	require.True(t, holdUntil(fakeMessage{props: pm.Properties}).Equal(at.Round(0)),
		"the hold time keeps sub-millisecond precision, so nothing is handled early")

	d = decode(fakeMessage{props: encode(m, false, time.Time{}).Properties, payload: nil}, dst)
	require.False(t, d.Redelivered)
	require.NotNil(t, d.Body)
	d = decode(fakeMessage{props: encode(m, false, time.Time{}).Properties, redeliver: 1}, dst)
	require.True(t, d.Redelivered, "the broker's redelivery count")

	// A message published by something other than Factflow.
	d = decode(fakeMessage{props: map[string]string{}}, dst)
	require.NotEmpty(t, d.ID)
	require.Equal(t, d.ID, d.Headers[queue.HeaderMessageID])
	require.Equal(t, 1, d.Attempt)
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		opts                       queue.SubscribeOptions
		consumers, queueSize, slot int
	}{
		{queue.SubscribeOptions{}, 1, 0, 1},                            // one zero-queue consumer: publish order
		{queue.SubscribeOptions{Concurrency: 4}, 4, 0, 4},              // a request in flight per handler
		{queue.SubscribeOptions{Concurrency: 1, Prefetch: 3}, 1, 2, 1}, // 2 queued + 1 handled = Prefetch
		{queue.SubscribeOptions{Concurrency: 8, Prefetch: 64}, 1, 56, 8},
		{queue.SubscribeOptions{Concurrency: 32}, maxConsumers, 0, 32},
	} {
		c, q, s := layoutFor(tc.opts.Normalized())
		require.Equal(t, []int{tc.consumers, tc.queueSize, tc.slot}, []int{c, q, s}, "%+v", tc.opts)
		require.Equal(t, tc.opts.Normalized().Prefetch, q*c+s, "the broker never holds more than Prefetch for %+v", tc.opts)
	}
}
