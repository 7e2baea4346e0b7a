// Command pipeline measures Factflow's engine against the broker's own
// ceiling, side by side in one run on one machine.
//
// Variants (select with -variants):
//
//	bare1       nats.go: producer → q1 → sink (the simple publish/consume loop)
//	bare3       nats.go: producer → q1 → relay → q2 → sink; the relay publishes
//	            asynchronously and acks upstream only after the downstream PubAck
//	ff          Factflow: routes a (generator) → b (noop) → c (sink), run by the
//	            real orchestrator through server/container, lineage off
//	ff-lineage  the same with lineage on (one row per message per adapter)
//
// bare3 and the Factflow pipeline have the same shape: every message is
// published once by a generator, consumed and forwarded once, and consumed
// at the sink. All variants use an embedded NATS server with a JetStream
// file store in a scratch directory, configured alike. Factflow records
// its executions in a PostgreSQL database created for the run (from the
// administrative URL in FACTFLOW_TEST_DATABASE_URL) and dropped at the end.
//
// Method: one discarded warm-up run per variant, then -rounds throughput
// runs of -n messages per variant, alternating variants with the order
// rotated every round; then -paced-rounds runs of -paced-n messages
// offered at -rate messages/s for latency at low load. Messages are
// counted at the sink, and each carries its birth time, so end-to-end
// latency is arrival minus birth. The report gives per variant the median
// and min–max of messages/s, the paired per-round ratio to bare3, CPU per
// message of this process and of the database's backends, and latency
// percentiles; the raw per-run figures go to a CSV under -out.
//
// # Broker comparison
//
// With -brokers the run compares instead, per broker, three ways of doing
// the same work (producer → q1 → relay → q2 → sink, the relay acking
// upstream only once the downstream publish is confirmed):
//
//	<broker>/bare  the broker's own client: nats.go, amqp091-go with
//	               publisher confirms, go-stomp with receipts,
//	               pulsar-client-go
//	<broker>/ff    Factflow through server/container with the broker's URL
//	               as Config.QueueURL, lineage off
//	<broker>/wm    a watermill router (NATS JetStream and AMQP only)
//
// Brokers: embedded (the in-process NATS server, as above), and nats,
// amqp, stomp and pulsar at the URLs in FACTFLOW_TEST_NATS_URL,
// FACTFLOW_TEST_AMQP_URL, FACTFLOW_TEST_STOMP_URL and
// FACTFLOW_TEST_PULSAR_URL (with FACTFLOW_TEST_PULSAR_ADMIN_URL), as
// `scripts/services.sh env` prints them; "all" takes embedded and every
// broker whose URL is set. Every variant of every broker takes part in
// every round, so ratios are paired per round within a broker. An
// external broker's own CPU is read from /proc when it runs on this
// machine. -broker-n gives a slow broker fewer messages per run.
//
//	eval "$(scripts/services.sh env)"
//	go run ./bench/pipeline -brokers all -rounds 3 -broker-n stomp=2000
//
// Run it with `make bench` (which starts the services it needs), or:
//
//	scripts/services.sh up postgres
//	eval "$(scripts/services.sh env)"
//	go run ./bench/pipeline [-quick] [-rounds 5] [-n 20000] [-concurrency 64] \
//	    [-variants bare1,bare3,ff,ff-lineage] [-cpuprofile ff.prof]
//
// bench/RESULTS.md records a run with its machine, commit and method.
package main
