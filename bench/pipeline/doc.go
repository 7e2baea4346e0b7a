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
// Run it with `make bench` (which starts the services it needs), or:
//
//	scripts/services.sh up postgres
//	eval "$(scripts/services.sh env)"
//	go run ./bench/pipeline [-quick] [-rounds 5] [-n 20000] [-concurrency 64] \
//	    [-variants bare1,bare3,ff,ff-lineage] [-cpuprofile ff.prof]
//
// bench/RESULTS.md records a run with its machine, commit and method.
package main
