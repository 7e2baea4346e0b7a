// Package webhooks delivers Factflow events to subscribed HTTP receivers.
//
// Publish never talks to a receiver: it writes one delivery row per
// matching subscription (an outbox in PostgreSQL) and wakes the dispatcher.
// A slow or dead receiver therefore never blocks the code that produced the
// event, and no delivery is lost across a restart.
//
// The dispatcher (Service.Run) claims due deliveries with a lease, so
// several dispatchers, in one process or many, never send the same delivery
// at once. Deliveries of different subscriptions go out concurrently; those
// of one subscription go out strictly in order: a later one waits until the
// earlier one succeeded or was given up on. Delivery is at least once (a
// dispatcher that dies mid-request leaves its lease to run out and the
// delivery is sent again), so receivers de-duplicate on X-Factflow-Delivery,
// which stays the same across retries and redeliveries.
//
// Each request is signed: X-Factflow-Signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)) with the
// timestamp of X-Factflow-Timestamp, so a receiver (see Verify) can check
// both who sent it and that it is not an old request replayed.
// Network errors, 408, 429 and 5xx are retried on a schedule (1m, 5m, 30m,
// 2h, 12h by default) and the delivery is dead after it; any other non-2xx
// answer is final at once.
//
// Secrets are encrypted at rest with AES-256-GCM under a key kept outside
// the database (LoadOrCreateKey) and are shown once, when created or
// rotated. Receivers are reached through the netguard SSRF guard.
package webhooks
