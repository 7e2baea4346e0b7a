// Command server measures `factflow serve` as a user runs it: how long the
// binary takes from exec to a healthy API, how much memory it holds when
// idle, and how many GET /api/v1/executions/{id} requests it answers per
// second on loopback, beside a bare net/http + pgx handler reading the same
// row.
//
// Start modes (select with -modes):
//
//	cold      --embedded with a new, empty data dir and no database URL: the
//	          server runs initdb for a private PostgreSQL cluster, starts it,
//	          creates and migrates the database
//	warm      --embedded again on a data dir whose cluster exists (stopped)
//	external  --embedded with DATABASE_URL set to a migrated database created
//	          for the run (from the administrative URL in
//	          FACTFLOW_TEST_DATABASE_URL) and dropped at the end
//
// Each start is timed from just before exec until GET /api/v1/system/health
// answers 200 with status "healthy" (the server prints its URL once it
// serves; --port 0 picks the port). After -idle more seconds the harness
// reads VmRSS and VmHWM of the factflow process from /proc, and its PSS
// (smaps_rollup), which counts shared pages fairly. PostgreSQL is reported
// apart: for embedded modes the whole private cluster (pg_ctl daemonises the
// postmaster, so it is found through postmaster.pid in the cluster dir, and
// its children through /proc); for external mode only the backends serving
// the server's connections. Then SIGTERM, and the time to a clean exit.
//
// Method: one discarded start per mode first (the cold one creates the
// cluster the warm mode restarts; the external one migrates the database),
// then -rounds rounds, modes alternating with the order rotated each round.
// A Docker engine is hidden from the server (DOCKER_HOST points nowhere)
// unless -docker is given, so embedded mode measures the private cluster
// built from local PostgreSQL binaries rather than a container.
//
// Requests: a server in external mode runs a small pipeline (url_expander →
// noop) to completion; then a load generator in this process keeps
// -concurrency keep-alive clients busy on GET /api/v1/executions/{id} for
// -duration per round, after a -warmup run per variant. The baseline,
// "bare", is a net/http handler in this process that reads the same row
// from the same database with pgxpool (10 connections, like the server's
// pool) and encodes it with encoding/json. The variant "api-token" is a
// second server on the same database in auth mode token, with a bootstrap
// admin token that the load clients send as a bearer credential, so every
// request pays a token lookup in PostgreSQL; the rate limit that auth turns
// on is set to 0 (off), as it would cap the rate measured. Variants (select
// with -variants) alternate per round with the order rotated; the report
// gives requests/s (median, min–max), the ratio to bare paired per round,
// latency percentiles, and CPU per request of the server process, this
// process and the database backends, and what api-token costs over api,
// paired per round.
//
// Run it with `make bench-server` (which builds the binary and starts the
// services it needs), or:
//
//	scripts/services.sh up postgres
//	eval "$(scripts/services.sh env)"
//	go run ./bench/server [-quick] [-bin bin/factflow] [-rounds 5] [-idle 5s] \
//	    [-modes cold,warm,external] [-load-rounds 5] [-duration 10s] [-concurrency 16] \
//	    [-variants api,api-token,bare]
//
// Progress lines go to stderr, the report to stdout, the raw rounds to a CSV
// under -out. Linux only: it reads /proc.
package main
