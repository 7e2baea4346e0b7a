// Package stomp is the STOMP 1.2 queue provider, written for ActiveMQ
// Artemis.
//
// # Naming
//
// A logical queue q of execution e is the anycast queue factflow.e.q,
// addressed as /queue/factflow.e.q (the acceptor's anycastPrefix is
// /queue/); queues outside any execution use the scope "_". Artemis creates
// queues on first use and keeps them (auto-delete off), so Depth and a
// crash-time ledger rebuild see them.
//
// # Delivery
//
// Publish sends each message with a receipt and returns once the broker
// acknowledged every one (persistent messages, publish order kept). User
// headers travel with the prefix "ff-" so they never collide with STOMP's
// own headers. A subscription owns its connection and opens Prefetch STOMP
// subscriptions on the queue in client-individual ack mode, each with a
// consumer-window-size of one byte: Artemis counts that window in bytes
// and delivers one message while credit is positive, so each holds exactly
// one unsettled message. The handler's outcome settles the message:
//
//   - Ack acks it.
//   - Retry sends a copy with factflow-attempt+1, scheduled natively with
//     AMQ_SCHEDULED_TIME at its not-before time, waits for the receipt,
//     then acks the original.
//   - Defer sends a copy marked as redelivered (scheduled when the delay
//     is positive), then acks the original (no attempt counted).
//   - DeadLetter acks it: the engine has recorded it in its dead-letter
//     store, and the broker's own dead-letter address is never used
//     (max-delivery-attempts is unlimited on the broker).
//
// # Management
//
// STOMP can neither count a queue's messages nor delete a queue, so Depth
// and DeleteScope use Artemis' Jolokia endpoint (Config.ManagementURL):
// Depth reads MessageCount and DeliveringCount, DeleteScope destroys every
// queue named factflow.<execution>.*.
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
// anycast queues, and an acceptor with anycastPrefix=/queue/.
package stomp
