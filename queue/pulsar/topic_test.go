package pulsar

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/queue/queuetest"
)

func TestTopicContract(t *testing.T) {
	newProvider := factory(brokerURLs(t))
	brokerlock.Hold(t, "pulsar", false) // no restart meanwhile
	queuetest.RunTopics(t, func(t testing.TB) queuetest.TopicProvider { return newProvider(t).(*Provider) })
}

// A feed subscription comes back after the broker restarted.
func TestTopicSurvivesRestart(t *testing.T) {
	u, a := brokerURLs(t)
	pulsarService.RequireManaged(t, u)
	p := factory(u, a)(t).(*Provider)
	queuetest.TopicSurvivesRestart(t, p, func(t *testing.T) { restartBroker(t, p) })
}

func TestFeedTopicNames(t *testing.T) {
	n := naming{tenant: "public", namespace: "default"}
	got, err := n.feedTopic("system.pipeline.events")
	require.NoError(t, err)
	require.Equal(t, "non-persistent://public/default/factflow-topic.system.pipeline.events", got)
	for _, bad := range []string{"", "bad topic", "a..b"} {
		_, err = n.feedTopic(bad)
		require.Error(t, err, bad)
	}
}
