package amqp

import (
	"testing"

	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/queue/queuetest"
)

func TestTopicContract(t *testing.T) {
	newProvider := factory(brokerURL(t))
	brokerlock.Hold(t, "rabbitmq", false) // no restart meanwhile
	queuetest.RunTopics(t, func(t testing.TB) queuetest.TopicProvider { return newProvider(t).(*Provider) })
}

// A topic subscription binds a new queue after the broker restarted.
func TestTopicSurvivesRestart(t *testing.T) {
	u := brokerURL(t)
	rabbitmqService.RequireManaged(t, u)
	p := factory(u)(t).(*Provider)
	queuetest.TopicSurvivesRestart(t, p, func(t *testing.T) { restartBroker(t, p) })
}
