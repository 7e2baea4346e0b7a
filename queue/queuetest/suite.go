package queuetest

import (
	"context"
	"testing"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/brokerlock"
)

// Factory builds the providers the suite runs against.
type Factory struct {
	// New returns a fresh provider connected to the broker under test. The
	// suite closes it when the test ends; New may register its own cleanup
	// too, since Close is idempotent.
	New func(t testing.TB) queue.Provider
	// Restart restarts the broker (or, for an in-process broker, the
	// provider together with it) keeping the broker's data, and returns the
	// provider to continue with: p itself when p reconnects by itself, or a
	// new provider (Restart then closes p). The suite waits until the
	// returned provider reports itself healthy. Restart is only called from
	// tests that run alone. Nil skips the restart tests.
	Restart func(t testing.TB, p queue.Provider) queue.Provider
	// Broker names the local broker node under test for brokerlock
	// ("artemis", "rabbitmq", …; empty for an in-process broker). The
	// shared tests hold it shared, so that a test of another package that
	// restarts the node waits for them instead of cutting a management
	// call or a delivery in half.
	Broker string
}

type contractTest struct {
	name string
	run  func(t *testing.T, s *suite)
}

// Run runs the contract suite. Tests that share the broker run in
// parallel; the restart tests run after them, one at a time.
func Run(t *testing.T, caps queue.Capabilities, f Factory) {
	t.Helper()
	if f.New == nil {
		t.Fatal("queuetest.Factory.New is required")
	}
	s := &suite{caps: caps, f: f}
	t.Run("shared", func(t *testing.T) {
		// Released when every parallel test below has finished, before
		// the restart tests take the node exclusively.
		if f.Broker != "" {
			brokerlock.Hold(t, f.Broker, false)
		}
		for _, tc := range sharedTests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, s)
			})
		}
	})
	t.Run("restart", func(t *testing.T) {
		for _, tc := range restartTests {
			t.Run(tc.name, func(t *testing.T) {
				if !caps.Persistent {
					t.Skip("the broker does not keep messages across a restart (Capabilities.Persistent is false)")
				}
				if f.Restart == nil {
					t.Skip("the factory cannot restart this broker (Factory.Restart is nil)")
				}
				tc.run(t, s)
			})
		}
	})
}

var sharedTests = []contractTest{
	{"PublishSubscribe", testPublishSubscribe},
	{"PublishBatch", testPublishBatch},
	{"Ordered", testOrdered},
	{"AckedNeverComeBack", testAckedNeverComeBack},
	{"RetryRedelivers", testRetryRedelivers},
	{"DeferRedelivers", testDeferRedelivers},
	{"DeadLetterSettles", testDeadLetterSettles},
	{"NotBefore", testNotBefore},
	{"HeadersRoundTrip", testHeadersRoundTrip},
	{"BodyRoundTrip", testBodyRoundTrip},
	{"Concurrency", testConcurrency},
	{"Prefetch", testPrefetch},
	{"Isolation", testIsolation},
	{"CompetingConsumers", testCompetingConsumers},
	{"CloseWhileBusy", testCloseWhileBusy},
	{"SubscribeContextCancel", testSubscribeContextCancel},
	{"CloseIdempotent", testCloseIdempotent},
	{"Depth", testDepth},
	{"DeleteScope", testDeleteScope},
	{"Health", testHealth},
	{"InvalidDestination", testInvalidDestination},
}

var restartTests = []contractTest{
	{"RestartKeepsMessages", testRestartKeepsMessages},
	{"RestartWhileSubscribed", testRestartWhileSubscribed},
}

type suite struct {
	caps queue.Capabilities
	f    Factory
}

// provider returns a new provider that is closed when the test ends.
func (s *suite) provider(t *testing.T) queue.Provider {
	t.Helper()
	p := s.f.New(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("closing provider: %v", err)
		}
	})
	return p
}
