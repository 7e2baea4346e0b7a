# Factflow — see README.md. Every target provisions what it needs.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
BIN       ?= bin/factflow
DATA_DIR  ?= ./output
PIPELINE  ?= config/pipelines/folder-ingest.yaml
PAYLOAD   ?= {"root": "$(CURDIR)/docsite"}
SERVE_FLAGS ?=
SERVICES  := scripts/services.sh
# Packages whose tests need no external service are tested together with
# the rest; the test services are started once for the whole run.
TEST_SERVICES ?= postgres nats rabbitmq artemis activemq pulsar minio
GOTEST_FLAGS  ?= -race -timeout 30m
FUZZTIME      ?= 10s

.PHONY: all web build run run-once test test-go test-fuzz test-web test-e2e bench bench-brokers bench-server bench-lineage bench-reliability bench-vector bench-ui update-openapi test-rabbitmq test-artemis test-activemq test-pulsar lint services-up services-down clean

all: build

# The UI (web/, React + Vite) is built into web/dist/app and embedded in
# the binary; the build is skipped when nothing under web/ changed.
web:
	scripts/web.sh build

build: web
	$(GO) build -o $(BIN) ./cmd/factflow

# The server on the embedded default: a private PostgreSQL cluster from the
# local binaries (installed if missing), in-process NATS JetStream and
# filesystem storage under $(DATA_DIR). Ctrl-C stops it gracefully.
run: build
	$(SERVICES) install postgres
	$(BIN) serve --embedded --data-dir $(DATA_DIR) $(SERVE_FLAGS)

# One execution in-process, without the server.
run-once: build
	$(SERVICES) install postgres
	$(BIN) run $(PIPELINE) --data-dir $(DATA_DIR) --payload '$(PAYLOAD)'

services-up:
	$(SERVICES) up $(TEST_SERVICES)

services-down:
	$(SERVICES) down

test: lint services-up build
	eval "$$($(SERVICES) env)"; $(GO) test $(GOTEST_FLAGS) ./...
	$(MAKE) --no-print-directory test-fuzz test-web test-e2e

# The UI's type check and Vitest unit tests.
test-web:
	scripts/web.sh test

# Playwright end-to-end tests in headless Chromium against the real binary
# on the embedded default. FACTFLOW_SCREENSHOTS=docsite/images/ui refreshes
# the screenshots in the docs.
test-e2e: build
	$(SERVICES) install postgres
	scripts/web.sh e2e $(BIN)

# Short fuzz runs of everything that parses untrusted input (seed corpora
# are committed under testdata/fuzz and also run as part of `go test`).
FUZZ_TARGETS := \
	./server/auth:FuzzParseAuthorization \
	./server/auth:FuzzAuthenticate \
	./server/auth/oidc:FuzzVerify \
	./pipeline:FuzzLoad \
	./pipeline/condition:FuzzParse \
	./pipeline/condition:FuzzMatch \
	./storage:FuzzValidateKey \
	./orchestrator:FuzzPayloadCodec \
	./queue/nats:FuzzHeaderCodec \
	./adapters/web:FuzzParseSitemap \
	./adapters/markdown:FuzzSegment \
	./cmd/factflow:FuzzSSEParse

# A run fails when the fuzzer found an input (it writes it under
# testdata/fuzz). Go 1.26's fuzz coordinator may also end a run that found
# nothing with a bare "context deadline exceeded" as -fuzztime runs out
# (go.dev/issue/75804, fixed in Go 1.27); that is reported, not failed.
test-fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg, $(FUZZTIME))"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); rc=$$?; \
		printf '%s\n' "$$out"; \
		if [ $$rc -ne 0 ]; then \
			if printf '%s' "$$out" | grep -q 'Failing input written to' || \
			   ! printf '%s' "$$out" | grep -q '^    context deadline exceeded$$'; then exit 1; fi; \
			echo "fuzz $$fn: the fuzz coordinator's deadline race (go.dev/issue/75804), no failing input; not a failure"; \
		fi; \
	done

bench: build services-up
	eval "$$($(SERVICES) env)"; $(GO) run ./bench/pipeline $(BENCH_FLAGS)

# Pipeline throughput and latency per broker: the broker's own client, Factflow
# and a watermill router side by side (bench/RESULTS.md, Brokers).
BENCH_BROKERS_FLAGS ?= -rounds 5 -n 20000 -broker-n stomp=2000
bench-brokers: services-up
	eval "$$($(SERVICES) env)"; $(GO) run ./bench/pipeline -brokers all $(BENCH_BROKERS_FLAGS)

# Start time, idle memory and request rate of `factflow serve`, beside a bare
# net/http + pgx baseline; see bench/RESULTS.md.
bench-server: build services-up
	$(SERVICES) install postgres
	eval "$$($(SERVICES) env)"; $(GO) run ./bench/server -bin $(BIN) $(BENCH_SERVER_FLAGS)

# Lineage explorer queries on a million rows (p50/p95/p99 per query).
bench-lineage: services-up
	eval "$$($(SERVICES) env)"; $(GO) run ./bench/lineage $(BENCH_LINEAGE_FLAGS)

# Throughput with 1 % poison (dead-lettered) and 1 % retried messages against
# none, and SIGTERM to exit of `factflow serve` under load (bench/RESULTS.md,
# Reliability).
bench-reliability: build services-up
	eval "$$($(SERVICES) env)"; $(GO) run ./bench/reliability -bin $(BIN) $(BENCH_RELIABILITY_FLAGS)

# pgvector store: ingest rate, HNSW build, search latency at 1 and 8 clients,
# recall@10 against exact search (bench/RESULTS.md, Vector search).
bench-vector: services-up
	eval "$$($(SERVICES) env)"; $(GO) run ./bench/vector $(BENCH_VECTOR_FLAGS)

# Cold page loads of the web UI in headless Chromium: time to the first
# heading, bytes moved and requests per page (bench/RESULTS.md, Web UI).
bench-ui: build
	$(SERVICES) install postgres
	FACTFLOW_BIN=$(BIN) FACTFLOW_CHROMIUM=$$(scripts/web.sh chromium) node bench/ui/load.mjs

# The AMQP provider's contract suite against RabbitMQ alone (restarts the node).
test-rabbitmq:
	$(SERVICES) up rabbitmq
	eval "$$($(SERVICES) env)"; $(GO) test -race -count=1 ./queue/amqp/...

# The STOMP provider's contract suite against Artemis alone (restarts the broker).
test-artemis:
	$(SERVICES) up artemis
	eval "$$($(SERVICES) env)"; $(GO) test -race -count=1 -skip Classic ./queue/stomp/...

# The STOMP provider's contract suite against ActiveMQ Classic alone (restarts the broker).
test-activemq:
	$(SERVICES) up activemq
	eval "$$($(SERVICES) env)"; $(GO) test -race -count=1 -run Classic ./queue/stomp/...

# The Pulsar provider's contract suite against Pulsar standalone alone (restarts the broker).
test-pulsar:
	$(SERVICES) up pulsar
	eval "$$($(SERVICES) env)"; $(GO) test -race -count=1 ./queue/pulsar/...

# Rewrites server/api/testdata/openapi.json after an intended API change.
update-openapi: services-up
	eval "$$($(SERVICES) env)"; FACTFLOW_UPDATE_GOLDEN=1 $(GO) test -run TestOpenAPIGolden -count=1 ./server/api

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
