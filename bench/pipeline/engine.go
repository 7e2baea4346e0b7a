package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/factflow/factflow/bench/internal/benchengine"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/server/container"
)

// engine is one Factflow container (embedded NATS, the real orchestrator,
// PostgreSQL for executions and, when on, lineage) with the two benchmark
// adapters registered; the sink records into the run's recorder.
type engine struct {
	*benchengine.Engine[*recorder]
	lineage bool
}

// startEngine starts a container on the broker at queueURL (empty: its own
// embedded NATS server).
func startEngine(ctx context.Context, dataDir, dbURL, queueURL string, lineage bool, log *slog.Logger) (*engine, error) {
	e, err := benchengine.Start[*recorder](ctx, container.Config{
		DataDir:        dataDir,
		DatabaseURL:    dbURL,
		QueueURL:       queueURL,
		DisableLineage: !lineage,
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the engine (lineage %t): %w", lineage, err)
	}
	return &engine{Engine: e, lineage: lineage}, nil
}

// engineTuning is what the benchmark sets in the pipeline YAML.
type engineTuning struct {
	concurrency int // routes b and c
	prefetch    int
	maxHandlers int
	maxFanout   int
}

func tuningFor(concurrency int) engineTuning {
	return engineTuning{
		concurrency: concurrency,
		prefetch:    2 * concurrency,
		maxHandlers: 2*concurrency + 8,
		maxFanout:   1000,
	}
}

// pipelineYAML is route a (generator) → b (noop) → c (sink). The paced
// form lets a feed itself ticks, so it needs allow_cycles and conditional
// outbounds; the throughput form is the plain chain.
func pipelineYAML(t engineTuning, paced bool) string {
	aOut := "[ { queue: bench.b } ]"
	cycles := ""
	if paced {
		aOut = `
      - { queue: bench.b, condition: { field: kind, operator: equals, value: data } }
      - { queue: bench.a, condition: { field: kind, operator: equals, value: tick } }`
		cycles = "allow_cycles: true\n"
	}
	return fmt.Sprintf(`version: "1.0"
description: Benchmark pipeline, a (generator) → b (noop) → c (sink)
%sexecution: { max_handlers: %d, max_fanout_pending: %d }
routes:
  a:
    inbound: { queue: bench.a, concurrency: 1 }
    adapters: [ { type: bench_generator } ]
    outbound: %s
  b:
    inbound: { queue: bench.b, concurrency: %d, prefetch: %d }
    adapters: [ { type: noop } ]
    outbound: [ { queue: bench.c } ]
  c:
    inbound: { queue: bench.c, concurrency: %d, prefetch: %d }
    adapters: [ { type: bench_sink } ]
init_message: { route: a, payload: {} }
`, cycles, t.maxHandlers, t.maxFanout, aOut, t.concurrency, t.prefetch, t.concurrency, t.prefetch)
}

// engineRun is one execution of the benchmark pipeline.
type engineRun struct {
	e      *engine
	tuning engineTuning
	n      int
	size   int
	rate   float64
}

// engineRunner is the engine as a runner of the -brokers comparison.
type engineRunner struct {
	e      *engine
	tuning engineTuning
}

func (r engineRunner) run(ctx context.Context, s runSpec) (*recorder, engineOutcome, error) {
	return engineRun{e: r.e, tuning: r.tuning, n: s.n, size: s.size, rate: s.rate}.run(ctx)
}

// engineOutcome is what an execution adds to the sink's figures.
type engineOutcome struct {
	wall           time.Duration // Manager.Start until the execution is done
	lineageWritten int64
	lineageDropped int64
	flushTail      time.Duration // last arrival until every lineage row is written
}

func (r engineRun) run(ctx context.Context) (*recorder, engineOutcome, error) {
	var out engineOutcome
	src := pipelineYAML(r.tuning, r.rate > 0)
	p, report := pipeline.Load([]byte(src), r.e.Container.Registry)
	if !report.Valid() {
		return nil, out, fmt.Errorf("benchmark pipeline is invalid: %v", report.Findings)
	}
	var before int64
	if lw := r.e.Container.Lineage; lw != nil {
		before = lw.Stats().Written
		out.lineageDropped = -lw.Stats().Dropped
	}
	rec := newRecorder(r.n)
	defer r.e.Record(rec)()

	started := time.Now()
	ex, err := r.e.Container.Manager.Start(ctx, orchestrator.StartRequest{
		Pipeline:   p,
		ConfigName: "bench",
		YAML:       src,
		Payload:    map[string]any{"n": r.n, "size": r.size, "rate": r.rate},
	})
	if err != nil {
		return nil, out, fmt.Errorf("starting the execution: %w", err)
	}
	select {
	case <-rec.done:
	case <-ex.Done():
		select {
		case <-rec.done:
		default:
			return rec, out, fmt.Errorf("execution ended (%s) with %d of %d messages at the sink: %v",
				ex.Status(), rec.count.Load(), r.n, ex.Err())
		}
	case <-ctx.Done():
		_ = r.e.Container.Manager.Cancel(ex.ID)
		<-ex.Done()
		return rec, out, fmt.Errorf("%d of %d messages reached the sink: %w", rec.count.Load(), r.n, ctx.Err())
	}
	select {
	case <-ex.Done():
	case <-ctx.Done():
		return rec, out, fmt.Errorf("waiting for the execution to complete: %w", ctx.Err())
	}
	out.wall = time.Since(started)
	if err := ex.Err(); err != nil {
		return rec, out, fmt.Errorf("execution %s ended %s: %w", ex.ID, ex.Status(), err)
	}
	if lw := r.e.Container.Lineage; lw != nil {
		if err := lw.Flush(ctx); err != nil {
			return rec, out, err
		}
		out.flushTail = time.Duration(time.Now().UnixNano() - rec.last.Load())
		st := lw.Stats()
		out.lineageWritten = st.Written - before
		out.lineageDropped += st.Dropped
	}
	return rec, out, nil
}

func engineDataDir(root string, lineage bool) string {
	if lineage {
		return filepath.Join(root, "engine-lineage")
	}
	return filepath.Join(root, "engine")
}
