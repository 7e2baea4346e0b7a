// Package nats is the NATS JetStream queue provider, and the embedded
// NATS server Factflow runs by default.
//
// # Naming
//
// A logical queue q of execution e is the subject factflow.e.q in the
// work-queue stream FACTFLOW_e (created on first use, deleted by
// DeleteScope). Queues outside any execution live in FACTFLOW__. Each
// subscription group on a queue is one durable pull consumer shared by its
// subscribers, which therefore compete for messages. A work-queue stream
// admits one consumer per subject, so a queue has one group at a time.
//
// # Delivery
//
// Handlers run on a fixed pool of Concurrency goroutines fed by pull
// requests that never hold more than Prefetch unsettled messages. The
// handler's outcome settles the message:
//
//   - Ack acks it (fire-and-forget; no round trip per message).
//   - Retry publishes a copy with factflow-attempt+1 and a not-before time,
//     waits for the server to store it, then acks the original.
//   - Defer naks it with the delay (JetStream's native delayed redelivery).
//   - DeadLetter terminates it.
//
// A message whose factflow-not-before lies in the future is nak'ed with
// the remaining time when it arrives, so the server holds it without
// blocking the messages behind it. The consumer never gives up on a
// message (MaxDeliver unlimited): attempts and dead letters are the
// engine's business. While a message is buffered or its handler runs, the
// provider tells the server it is still in progress every AckWait/3, so
// only messages held by a process that died come back after AckWait.
//
// Depth reads the consumer's pending and unsettled counts; JetStream
// counts a message waiting for a delayed redelivery among the unsettled
// ones, so those appear as InFlight.
//
// # Durability
//
// Publish returns once JetStream stored every message. The embedded server
// keeps JetStream's default disk sync: each message is written to the file
// store before it is acknowledged and the operating system flushes it, so
// acknowledged messages survive a crash or kill of the process but not a
// power cut shortly after; ServerOptions.SyncAlways survives that too, at
// about a thirtieth of the throughput.
//
// # Connection
//
// New connects to an external server or cluster by URL (credentials in the
// URL) or in-process to an embedded Server. The connection reconnects by
// itself forever with exponential backoff; publishes in flight during a
// reconnect are resent, subscriptions re-issue their pull requests, and
// Health reports reconnecting in the meantime.
package nats
