// Package pulsar is the Apache Pulsar queue provider (pulsar-client-go).
//
// # Naming
//
// A logical queue q of execution e is the persistent topic
// persistent://<tenant>/<namespace>/factflow.e.q (tenant and namespace
// default to public/default); queues outside any execution use the scope
// "_". Subscribers consume a Shared subscription named by their group
// (default "factflow"): subscribers of one group compete for messages,
// and a new subscription starts at the topic's earliest message.
//
// Pulsar keeps a message only for the subscriptions that exist when it
// is published, so the first publish of a provider to a topic without any
// subscription creates the default group's subscription (through the
// admin API) before sending. The namespace must not expire or evict
// unacknowledged messages: no message TTL, no backlog quota that evicts,
// no subscription expiry, no deletion of inactive topics that still have
// subscriptions.
//
// # Delivery
//
// Publish sends without batching (so that acknowledgements settle single
// messages) on one cached producer per topic and returns once the broker
// stored every message; messages whose send failed are sent again until
// the context ends (at least once). Headers travel as message properties,
// the id as the factflow-message-id property. A message whose
// factflow-not-before header lies ahead is scheduled natively with
// DeliverAt, which Pulsar honours on Shared subscriptions; since the
// broker may dispatch a scheduled message up to its delayed-delivery tick
// early, the subscription holds an early message back until its time
// (outside its Prefetch slots, so that it delays nothing that is due).
//
// A subscription never lets the broker hand it more than Prefetch
// unsettled messages. With Prefetch above Concurrency it has one consumer
// whose receiver queue holds Prefetch-Concurrency messages, read through
// an unbuffered channel so that the client asks the broker for more only
// as handlers take them; with Prefetch equal to Concurrency it has
// zero-queue consumers (one per handler, at most eight) that ask for one
// message at a time. A plain receiver queue of Prefetch would keep asking
// while the handlers are busy, and Depth would count those messages as in
// flight. One handler gets one consumer, which keeps publish order.
// Concurrency workers run the handler, whose outcome settles the message
// with an individual acknowledgement:
//
//   - Ack and DeadLetter acknowledge it (the engine has recorded a dead
//     letter in its own store).
//   - Retry publishes a copy with factflow-attempt+1 scheduled for its
//     not-before time, then acknowledges the original.
//   - Defer publishes a copy marked as redelivered (scheduled when the
//     delay is positive), then acknowledges the original; no attempt is
//     counted.
//
// A copy that cannot be published leaves the original negatively
// acknowledged: the broker delivers it again. Delivery.Redelivered is the
// broker's redelivery count above zero or the provider's mark on a
// deferred copy.
//
// # Topics
//
// A topic feed t is the non-persistent topic
// non-persistent://<tenant>/<namespace>/factflow-topic.t; every subscriber
// has an exclusive subscription of its own, so each gets every message
// published while it is subscribed, and nothing is stored for anyone.
// Feed messages are not acknowledged: there is nothing to settle, and
// pulsar-client-go drops every later message of a consumer that acked one
// on a non-persistent topic (all their ids are (0,0)). After the broker
// was unreachable a feed's consumer is replaced, since the client may have
// given up on it and such a consumer cannot be probed.
//
// # Management
//
// Depth and DeleteScope use the admin REST API (Config.AdminURL): Depth
// reads the topic's stats (the subscription with the largest backlog;
// Pending is msgBacklog without unackedMessages, which are InFlight),
// DeleteScope lists the namespace's topics and force-deletes every one of
// the execution.
//
// # Connection
//
// Every wait is bounded: connections by ConnectTimeout, requests by
// OperationTimeout, each publish by SendTimeout and the caller's context,
// the client's own reconnects of a producer or consumer by
// MaxReconnectToBroker. A supervisor probes the broker; Health reports
// reconnecting while it is unreachable. A producer whose send failed is
// replaced on the next publish; a watchdog probes each subscription's
// consumer and subscribes again when the client gave up on it (or its
// topic was deleted). Unsettled messages of a lost consumer return to the
// subscription on the broker and are delivered again (at least once).
package pulsar
