// Package stomp is the STOMP 1.2 queue provider, written for ActiveMQ
// Artemis; it also works against ActiveMQ Classic (5.x).
//
// # Flavors
//
// The two brokers speak the same STOMP but differ where the protocol
// leaves room. Config.Flavor names the broker, or is left empty to detect
// it from the server header of the CONNECTED frame ("ActiveMQ/5.x" is
// Classic, anything else is taken for Artemis). The differences:
//
//   - Flow control: Artemis' consumer-window-size (bytes) versus Classic's
//     activemq.prefetchSize (messages); see Delivery.
//   - Scheduled delivery: Artemis' AMQ_SCHEDULED_TIME (absolute
//     milliseconds) versus Classic's AMQ_SCHEDULED_DELAY (relative
//     milliseconds, needs schedulerSupport="true" on the broker). Classic
//     ignores Artemis' header and would deliver at once.
//   - Management: both through Jolokia, but Artemis' MBeans
//     (MessageCount, DeliveringCount, destroyQueue) versus Classic's
//     (QueueSize, InFlightCount, removeQueue); see Management.
//
// # Naming
//
// A logical queue q of execution e is the anycast queue factflow.e.q,
// addressed as /queue/factflow.e.q (the acceptor's anycastPrefix is
// /queue/); queues outside any execution use the scope "_". Artemis creates
// queues on first use and keeps them (auto-delete off), so Depth and a
// crash-time ledger rebuild see them. Classic maps /queue/factflow.e.q to
// the queue factflow.e.q the same way and keeps it too (as long as
// gcInactiveDestinations stays off).
//
// # Delivery
//
// Publish sends a call's messages in order on one connection, the last
// with a receipt, and returns once the broker acknowledged it (persistent
// messages, publish order kept): the broker handles a connection's frames
// in order, so the receipt covers the frames before it. A broker also
// answers a durable send only after its journal write and handles the next
// frame of that connection after it, so Publish spreads its calls over
// Config.PublishConnections connections. User headers travel with the
// prefix "ff-" so they never collide with STOMP's own headers. A
// subscription spreads its handlers and prefetch over up to
// Config.SubscribeConnections parts (one handler stays one part, which
// keeps publish order); each part owns a connection and subscribes in
// client-individual ack mode. On Artemis it opens Prefetch STOMP
// subscriptions on the queue, each with a consumer-window-size of one
// byte: Artemis counts that window in bytes and delivers one message while
// credit is positive, so each holds exactly one unsettled message. On
// Classic one STOMP subscription with activemq.prefetchSize Prefetch holds
// as many. The handler's outcome settles the message:
//
//   - Ack acks it.
//   - Retry sends a copy with factflow-attempt+1, scheduled natively at
//     its not-before time (see Flavors), waits for the receipt, then acks
//     the original.
//   - Defer sends a copy marked as redelivered (scheduled when the delay
//     is positive), then acks the original (no attempt counted).
//   - DeadLetter acks it: the engine has recorded it in its dead-letter
//     store, and the broker's own dead-letter address is never used
//     (max-delivery-attempts is unlimited on the broker).
//
// # Management
//
// STOMP can neither count a queue's messages nor delete a queue, so Depth
// and DeleteScope use the broker's Jolokia endpoint (Config.ManagementURL).
// On Artemis Depth reads MessageCount and DeliveringCount, and DeleteScope
// destroys every queue named factflow.<execution>.*. On Classic Depth reads
// QueueSize and InFlightCount of the queue's MBean (whose name has ':'
// replaced by '_', as Classic does), and DeleteScope calls the broker's
// removeQueue for every queue matching factflow.<execution>.*. Classic
// keeps scheduled messages in its job scheduler, outside the queue: they
// are not counted by Depth until due, and DeleteScope does not remove
// them (a copy scheduled for a deleted execution arrives in a new queue of
// the same name).
//
// # Connection
//
// go-stomp does not reconnect, so the provider does: the publishing
// connection is dialled again on the next send after a failure (a send
// whose receipt was lost is sent again: at least once), and each
// subscription's supervisor dials again with exponential backoff and
// jitter, re-subscribes, and carries on; Health reports reconnecting
// meanwhile. Heart-beats in both directions detect a dead broker.
// Unsettled messages of a lost connection return to the queue on the
// broker, which marks them redelivered; a handler still running when its
// connection went cannot settle its message, so that message may run
// twice (at least once). The broker's own redelivered flag and the
// provider's factflow-stomp-redelivered header (set on deferred copies)
// make Delivery.Redelivered.
//
// # Broker settings
//
// The broker must not count deliveries against the message:
// max-delivery-attempts -1 on the queues' address settings (Artemis
// otherwise drops a message silently after 10 deliveries), auto-created
// anycast queues, and an acceptor with anycastPrefix=/queue/. Classic
// needs schedulerSupport="true", JMX with Jolokia (its web console's
// /api/jolokia, or the Jolokia JVM agent), and no policy that expires or
// discards messages; it never dead-letters on its own for STOMP consumers,
// which do not NACK here.
package stomp
