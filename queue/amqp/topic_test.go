package amqp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/queue/queuetest"
)

func TestTopicContract(t *testing.T) {
	newProvider := factory(brokerURL(t))
	brokerlock.Hold(t, "rabbitmq", false) // no restart meanwhile
	queuetest.RunTopics(t, func(t testing.TB) queuetest.TopicProvider { return newProvider(t).(*Provider) })
}

// A topic subscription binds a new queue after the broker restarted and
// hears, in order, what is published once it is back.
func TestTopicSurvivesRestart(t *testing.T) {
	u := brokerURL(t)
	if !managedBroker(t, u) {
		t.Skipf("%s is not the node %s manages; the test must stop and start the broker", redact(u), servicesScript)
	}
	p := factory(u)(t).(*Provider)
	topic := "restart." + queue.NewMessageID()
	heard := make(chan queue.Message, 4096)
	unsub, err := p.SubscribeTopic(testCtx(t), topic, func(m queue.Message) { heard <- m })
	require.NoError(t, err)
	defer func() { require.NoError(t, unsub()) }()

	require.NoError(t, p.PublishTopic(testCtx(t), topic, queue.Message{Body: []byte("before")}))
	require.Equal(t, "before", string(topicNext(t, heard).Body))

	restartBroker(t, p)
	topicAwaitResubscribed(t, p, topic, heard)
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprintf("after-%d", i)
		require.NoError(t, p.PublishTopic(testCtx(t), topic, queue.Message{Body: []byte(want[i])}))
	}
	var got []string
	for len(got) < len(want) {
		if m := topicNext(t, heard); !strings.HasPrefix(string(m.Body), "probe-") {
			got = append(got, string(m.Body))
		}
	}
	require.Equal(t, want, got)
}

func topicNext(t *testing.T, heard <-chan queue.Message) queue.Message {
	t.Helper()
	select {
	case m := <-heard:
		return m
	case <-time.After(testTimeout):
		t.Fatalf("nothing heard on the topic within %s", testTimeout)
		return queue.Message{}
	}
}

// topicAwaitResubscribed publishes probes until the subscription hears
// one: messages published before it is bound again are missed by design.
func topicAwaitResubscribed(t *testing.T, p *Provider, topic string, heard <-chan queue.Message) {
	t.Helper()
	deadline := time.After(testTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		require.NoError(t, p.PublishTopic(testCtx(t), topic, queue.Message{Body: fmt.Appendf(nil, "probe-%d", n)}))
		select {
		case m := <-heard:
			require.True(t, strings.HasPrefix(string(m.Body), "probe-"), "heard %q", m.Body)
			return
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the topic subscription did not come back within %s of the restart", testTimeout)
		}
	}
}
