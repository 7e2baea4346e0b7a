// Package queue defines the broker contract every Factflow queue provider
// implements (NATS JetStream, STOMP, AMQP, Pulsar).
//
// A provider moves Messages between logical, broker-neutral queue names
// scoped per execution (Destination). Consumers register a Handler whose
// returned Outcome decides what happens to the delivery — ack, retry after a
// delay with one more attempt, defer without counting an attempt, or settle
// as dead-lettered. No handler ever acks by itself, so a message is settled
// only after the engine finished with it (at-least-once).
//
// The contract suite in queue/queuetest runs against every provider; the
// Capabilities flags describe what a broker cannot do instead of forking
// the suite.
package queue
