package queuetest

import (
	"net/url"
	"os"
	"testing"

	"github.com/factflow/factflow/queue/brokerlock"
)

// Broker is a real external broker that scripts/services.sh runs and
// describes in its environment (`eval "$(scripts/services.sh env)"`).
type Broker struct {
	// Service is its name in scripts/services.sh, also its broker lock.
	Service string
	// Provider is the queue provider that serves it (Health.Provider).
	Provider string
	envVar   string
	// query adds the variables' values to the broker URL as parameters,
	// where the provider needs a second endpoint (management, admin).
	query map[string]string
}

// Brokers are the external brokers `make test` starts.
var Brokers = []Broker{
	{Service: "nats", Provider: "nats", envVar: "FACTFLOW_TEST_NATS_URL"},
	{Service: "rabbitmq", Provider: "amqp", envVar: "FACTFLOW_TEST_AMQP_URL"},
	{Service: "artemis", Provider: "stomp", envVar: "FACTFLOW_TEST_STOMP_URL"},
	{Service: "activemq", Provider: "stomp", envVar: "FACTFLOW_TEST_ACTIVEMQ_STOMP_URL",
		query: map[string]string{"management": "FACTFLOW_TEST_ACTIVEMQ_MANAGEMENT_URL"}},
	{Service: "pulsar", Provider: "pulsar", envVar: "FACTFLOW_TEST_PULSAR_URL",
		query: map[string]string{"admin": "FACTFLOW_TEST_PULSAR_ADMIN_URL"}},
}

// URL is the queue URL the server takes for this broker (--queue). A
// broker that is not running fails the test: it must not pass vacuously.
// It holds the broker's lock for the rest of the test: exclusively for a
// test that stops the broker, else shared, so that no restart test of
// another package cuts it.
func (b Broker) URL(t testing.TB, exclusive bool) *url.URL {
	t.Helper()
	raw := os.Getenv(b.envVar)
	if raw == "" {
		t.Fatalf("%s is not set: run `scripts/services.sh up %s` and eval its env", b.envVar, b.Service)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", b.envVar, err)
	}
	q := u.Query()
	for k, env := range b.query {
		v := os.Getenv(env)
		if v == "" {
			t.Fatalf("%s is not set: run `scripts/services.sh up %s` and eval its env", env, b.Service)
		}
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	brokerlock.Hold(t, b.Service, exclusive)
	return u
}
