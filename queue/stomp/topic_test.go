package stomp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/queue/queuetest"
)

func TestTopicContract(t *testing.T) {
	newProvider := factory(brokerURLs(t))
	brokerlock.Hold(t, "artemis", false) // no restart meanwhile
	queuetest.RunTopics(t, func(t testing.TB) queuetest.TopicProvider { return newProvider(t).(*Provider) })
}

// ActiveMQ Classic multicasts /topic/… natively.
func TestTopicContractClassic(t *testing.T) {
	newProvider := classicFactory(classicURLs(t))
	brokerlock.Hold(t, "activemq", false) // no restart meanwhile
	queuetest.RunTopics(t, func(t testing.TB) queuetest.TopicProvider { return newProvider(t).(*Provider) })
}

func TestTopicNames(t *testing.T) {
	d, err := topicDestination("system.pipeline.events")
	require.NoError(t, err)
	require.Equal(t, "/topic/factflow-topic.system.pipeline.events", d)
	_, err = topicDestination("address::queue")
	require.Error(t, err, "Artemis reads :: as a fully qualified queue name")
}

// A topic subscription subscribes again after the broker restarted and
// hears, in order, what is published once it is back.
func TestTopicSurvivesRestart(t *testing.T) {
	u, m := brokerURLs(t)
	artemisService.RequireManaged(t, u)
	testTopicRestart(t, factory(u, m)(t).(*Provider), restartBroker)
}

func TestTopicSurvivesRestartClassic(t *testing.T) {
	u, m := classicURLs(t)
	classicService.RequireManaged(t, u)
	testTopicRestart(t, classicFactory(u, m)(t).(*Provider), restartClassic)
}

func testTopicRestart(t *testing.T, p *Provider, restart func(testing.TB, queue.Provider) queue.Provider) {
	queuetest.TopicSurvivesRestart(t, p, func(t *testing.T) { restart(t, p) })
}
