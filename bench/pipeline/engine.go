package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/server/container"
)

// engine is one Factflow container (embedded NATS, the real orchestrator,
// PostgreSQL for executions and, when on, lineage) with the two benchmark
// adapters registered.
type engine struct {
	c       *container.Container
	lineage bool
	// current is the run the sink adapter records into.
	current atomic.Pointer[recorder]
}

// startEngine starts a container on the broker at queueURL (empty: its own
// embedded NATS server).
func startEngine(ctx context.Context, dataDir, dbURL, queueURL string, lineage bool, log *slog.Logger) (*engine, error) {
	c, err := container.Start(ctx, container.Config{
		DataDir:        dataDir,
		DatabaseURL:    dbURL,
		QueueURL:       queueURL,
		DisableLineage: !lineage,
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the engine (lineage %t): %w", lineage, err)
	}
	e := &engine{c: c, lineage: lineage}
	for _, s := range []adapters.Spec{e.generatorSpec(), e.sinkSpec()} {
		if err := c.Registry.Register(s); err != nil {
			_ = e.stop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("registering %s: %w", s.Type, err)
		}
	}
	return e, nil
}

func (e *engine) stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return e.c.Stop(ctx)
}

// The generator adapter (route a) generates the run's messages from the init
// message: {"n", "size", "rate"}. With rate 0 it emits all n at once (the
// engine publishes them in chunks of max_fanout_pending); with a rate it
// emits one message per tick and a tick message back to its own route,
// sleeping until each message is due.
func (e *engine) generatorSpec() adapters.Spec {
	return adapters.Define("bench_generator", "bench", "Generate benchmark messages",
		func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(e.generate), nil
		})
}

func (e *engine) generate(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	rec := e.current.Load()
	if rec == nil {
		return nil, adapters.Permanent(errors.New("no benchmark run is recording"))
	}
	p := in.Payload
	n, size, rate := intField(p, "n"), intField(p, "size"), floatField(p, "rate")
	pad := strings.Repeat("x", max(size-64, 0)) // ~size bytes of JSON per message
	data := func(seq int) adapters.Payload {
		return adapters.Payload{"kind": "data", "seq": seq, "pad": pad,
			"born_ns": strconv.FormatInt(time.Now().UnixNano(), 10)}
	}
	if rate <= 0 {
		rec.begin(time.Now())
		out := make([]adapters.Payload, n)
		for i := range out {
			out[i] = data(i)
		}
		return adapters.Emit(out...), nil
	}
	k := intField(p, "k")
	t0, _ := strconv.ParseInt(stringField(p, "t0"), 10, 64)
	if t0 == 0 {
		t0 = time.Now().UnixNano()
		rec.begin(time.Unix(0, t0))
	}
	due := time.Unix(0, t0).Add(time.Duration(float64(k) * float64(time.Second) / rate))
	if !sleepUntil(ctx, due) {
		return nil, ctx.Err()
	}
	out := []adapters.Payload{data(k)}
	if k+1 < n {
		out = append(out, adapters.Payload{"kind": "tick", "n": n, "size": size, "rate": rate,
			"k": k + 1, "t0": strconv.FormatInt(t0, 10)})
	}
	return adapters.Emit(out...), nil
}

// The sink adapter (route c) counts each message and records its latency.
func (e *engine) sinkSpec() adapters.Spec {
	return adapters.Define("bench_sink", "bench", "Count benchmark messages at the sink",
		func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
				born, err := strconv.ParseInt(stringField(in.Payload, "born_ns"), 10, 64)
				if err != nil {
					return nil, adapters.Permanent(fmt.Errorf("born_ns: %w", err))
				}
				if rec := e.current.Load(); rec != nil {
					rec.arrive(born)
				}
				return nil, nil // the end of the line: nothing to publish
			}), nil
		})
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
	p, report := pipeline.Load([]byte(src), r.e.c.Registry)
	if !report.Valid() {
		return nil, out, fmt.Errorf("benchmark pipeline is invalid: %v", report.Findings)
	}
	var before int64
	if lw := r.e.c.Lineage; lw != nil {
		before = lw.Stats().Written
		out.lineageDropped = -lw.Stats().Dropped
	}
	rec := newRecorder(r.n)
	r.e.current.Store(rec)
	defer r.e.current.Store(nil)

	started := time.Now()
	ex, err := r.e.c.Manager.Start(ctx, orchestrator.StartRequest{
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
		_ = r.e.c.Manager.Cancel(ex.ID)
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
	if lw := r.e.c.Lineage; lw != nil {
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

func intField(p adapters.Payload, k string) int {
	switch v := p[k].(type) {
	case float64:
		return int(v)
	case int:
		return v
	}
	return 0
}

func floatField(p adapters.Payload, k string) float64 {
	switch v := p[k].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return 0
}

func stringField(p adapters.Payload, k string) string {
	s, _ := p[k].(string)
	return s
}

func engineDataDir(root string, lineage bool) string {
	if lineage {
		return filepath.Join(root, "engine-lineage")
	}
	return filepath.Join(root, "engine")
}
