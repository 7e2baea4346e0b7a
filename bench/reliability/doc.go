// Command reliability measures what Factflow's failure paths cost under
// load: whether dead-lettering or retrying a few messages drags the
// pipeline's throughput down, and how long `factflow serve` takes to stop
// on SIGTERM while an execution is busy.
//
// # Poison throughput (-scenarios poison)
//
// The engine runs in this process through server/container (embedded NATS
// with a JetStream file store in a scratch directory, the real
// orchestrator, lineage off, executions and dead letters in a PostgreSQL
// database created for the run from FACTFLOW_TEST_DATABASE_URL and dropped
// at the end), on the shape bench/pipeline measures: route a (generator) →
// b (bench_flaky) → c (sink). The middle adapter decides from each
// message's sequence number, so the same messages fail in every round:
//
//	clean   every message passes
//	poison  every -every-th message fails permanently, so it takes the
//	        dead-letter path (a dead_letters row in PostgreSQL and a
//	        dead_lettered event) and never reaches the sink
//	retry   every -every-th message fails on its first attempt and passes
//	        on the second, after -retry-delay (fixed backoff, no jitter)
//
// A run's throughput is -n over the time from the first generated message
// to the end of the execution (every message settled, every dead letter
// written); end-to-end latency is sink arrival minus the birth time each
// message carries. After each run the harness checks the execution's
// counts: the dead letters in the database, the retries in its stats and
// the arrivals at the sink must be exactly what the variant implies.
// Method as bench/pipeline's: one discarded warm-up run per variant, then
// -rounds rounds with the variant order rotated each round; the report
// gives the median and min–max of msgs/s, the per-round ratio to clean,
// CPU per message and latency percentiles. Throughput runs generate every
// message at once, so their latency is mostly queueing; -paced-rounds runs
// of -paced-n messages offered at -rate messages/s (one per tick, as
// bench/pipeline paces) give each variant's latency below saturation.
//
// # Shutdown under load (-scenarios shutdown)
//
// The real binary, `factflow serve --embedded --port 0` with a private
// data dir and DATABASE_URL set to a database created for the round (so
// no round resumes another's execution), runs a pipeline of shipped
// adapters: url_expander fans out -pages URLs of a page server in this
// process that answers each page after -page-delay; web_scraper fetches
// them (-fetch-concurrency at once) and noop ends the chain. Once the
// execution's stats show -flowing pages completed with fetches in flight,
// the harness sends SIGTERM and times it to the process's exit. It then
// checks that the exit code is 0, that the execution is recorded as
// interrupted (not failed) and that it has no dead letters, and reports
// how many fetches were in flight at the signal and how many page
// requests began after it. The budget is the server's
// server.shutdown_timeout (30 s unless -shutdown-budget sets
// FACTFLOW_SHUTDOWN_TIMEOUT); a server still running -stop-timeout after
// SIGTERM is killed and the round fails.
//
// Run it with `make bench-reliability` (which builds the binary and starts
// the services it needs), or:
//
//	scripts/services.sh up postgres
//	eval "$(scripts/services.sh env)"
//	go run ./bench/reliability [-quick] [-scenarios poison,shutdown] [-rounds 5] \
//	    [-n 20000] [-every 100] [-shutdown-rounds 5] [-pages 5000] [-bin bin/factflow]
//
// Progress lines go to stderr, the report to stdout, the raw rounds to a
// CSV under -out. Linux only (it reads /proc). bench/RESULTS.md records a
// run with its machine, commit and method.
package main
