// Package queuetest is the contract suite every queue provider passes.
//
// A provider's tests call Run with the broker's Capabilities and a Factory
// that builds providers (and, for durable brokers, restarts them keeping
// their data):
//
//	func TestContract(t *testing.T) {
//		queuetest.Run(t, caps, queuetest.Factory{New: newProvider, Restart: restart})
//	}
//
// Every test works in its own execution scope (a fresh UUIDv7), so the
// tests run in parallel against one broker. Tests that restart the broker
// run afterwards, one at a time. Nothing is asserted with sleeps: the suite
// waits on channels and polls broker state with a generous deadline, so a
// slow machine makes it slower, never red. Capability flags skip only what
// a broker cannot do; everything else is the same for every provider.
package queuetest
