package nats

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/queuetest"
)

func TestTopicContractEmbedded(t *testing.T) {
	b := newEmbeddedBroker(t)
	queuetest.RunTopics(t, func(t testing.TB) queuetest.TopicProvider {
		p := b.New(t)
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p.(*Provider)
	})
}

// Over TCP against a server in another process, as TestContractExternal.
func TestTopicContractExternal(t *testing.T) {
	url := func() string { return os.Getenv("FACTFLOW_TEST_NATS_URL") }
	if url() == "" {
		url = startNatsd(t).URL
	}
	newProvider := externalFactory(url)
	queuetest.RunTopics(t, func(t testing.TB) queuetest.TopicProvider {
		p := newProvider(t)
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p.(*Provider)
	})
}

// Topics multicast to every current subscriber, in order; nothing is
// stored for subscribers that come later.
func TestTopics(t *testing.T) {
	b := newEmbeddedBroker(t)
	p := b.New(t).(*Provider)
	ctx := context.Background()

	var mu sync.Mutex
	var a, c []string
	unA, err := p.SubscribeTopic(ctx, "system.test", func(m queue.Message) { mu.Lock(); a = append(a, string(m.Body)); mu.Unlock() })
	require.NoError(t, err)
	unC, err := p.SubscribeTopic(ctx, "system.test", func(m queue.Message) { mu.Lock(); c = append(c, string(m.Body)); mu.Unlock() })
	require.NoError(t, err)
	for _, s := range []string{"1", "2", "3"} {
		require.NoError(t, p.PublishTopic(ctx, "system.test", queue.Message{Body: []byte(s), Headers: map[string]string{"k": "v"}}))
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(a) == 3 && len(c) == 3 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"1", "2", "3"}, a)
	require.Equal(t, a, c)

	require.NoError(t, unA())
	require.NoError(t, p.PublishTopic(ctx, "system.test", queue.Message{Body: []byte("4")}))
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(c) == 4 }, 5*time.Second, 10*time.Millisecond)
	mu.Lock()
	require.Len(t, a, 3, "an unsubscribed handler hears nothing more")
	mu.Unlock()
	require.NoError(t, unC())

	require.Error(t, p.PublishTopic(ctx, "bad topic!", queue.Message{}))
	_, err = p.SubscribeTopic(ctx, "", func(queue.Message) {})
	require.Error(t, err)
	require.NoError(t, p.Close(ctx))
	require.ErrorIs(t, p.PublishTopic(ctx, "system.test", queue.Message{}), ErrClosed)
}
