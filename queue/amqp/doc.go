// Package amqp is the RabbitMQ queue provider (AMQP 0-9-1).
//
// # Naming
//
// A logical queue q of execution e is the durable classic queue
// factflow.e.q; queues outside any execution use the scope "_". AMQP cannot
// list queues, so the first declaration of a queue in a connection also
// records its name in the execution's manifest queue factflow-scope.e, and
// DeleteScope deletes what the manifest lists, then the manifest. Every
// subscriber of a destination, whatever its group, consumes the one work
// queue, so subscribers compete for messages.
//
// # Delivery
//
// Publish returns once the broker confirmed every message (publisher
// confirms on a pool of channels; messages are persistent). Each
// subscription has its own channel whose basic.qos is the prefetch;
// Concurrency handler goroutines take the deliveries. The handler's
// outcome settles the message:
//
//   - Ack acks it.
//   - Retry publishes a copy with factflow-attempt+1 and a not-before time
//     through a delay bucket, waits for the confirm, then acks the original.
//   - Defer(0) nacks it back to the head of the queue; Defer(d) sends a
//     copy marked as redelivered through a delay bucket and acks the
//     original (no attempt counted).
//   - DeadLetter rejects it without requeueing (the engine has recorded it).
//
// # Delays without a plugin
//
// A delay bucket is a fanout exchange and a durable queue of the same name,
// factflow-delay.<ms>ms, whose x-message-ttl is the bucket's length and
// whose dead-letter exchange is the default one: an expired message goes
// back by its routing key, the work queue's name. A per-queue TTL expires
// messages in order, so no message waits behind a longer one. A wait takes
// the longest bucket not longer than it; a message that comes back before
// its time (factflow-not-before, or the provider's own hold-until header)
// goes through another bucket, so long waits take a few hops and nothing
// is delivered early. Messages waiting in a bucket do not count in Depth.
//
// # Depth
//
// The broker reports only a queue's ready messages over AMQP; messages
// delivered but not yet settled are counted by this provider's own
// subscriptions, so another process's in-flight messages are not included.
//
// # Connection
//
// amqp091-go does not reconnect, so a supervisor does: when the connection
// is lost it dials again with exponential backoff and jitter, forever, and
// Health reports reconnecting meanwhile. Declarations are cached per
// connection and made again on the next one; publishes whose confirms were
// lost are resent (at least once); each subscription re-opens its channel,
// re-declares its queue and consumes again. Unsettled messages of a lost
// channel go back to the queue on the broker; the provider skips its copies
// of them instead of running their handlers.
package amqp
