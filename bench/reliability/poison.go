package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/bench/internal/benchengine"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
)

// poisonRun is the state the benchmark adapters of one run share.
type poisonRun struct {
	variant string
	every   int
	expect  int // arrivals at the sink
	start   atomic.Int64
	last    atomic.Int64
	count   atomic.Int64
	extra   atomic.Int64 // arrivals beyond expect: duplicates
	lat     []int64
	done    chan struct{}
}

func newPoisonRun(variant string, n, every int) *poisonRun {
	expect := n
	if variant == varPoison {
		expect = n - failing(n, every)
	}
	return &poisonRun{variant: variant, every: every, expect: expect, lat: make([]int64, expect), done: make(chan struct{})}
}

// failing is how many of n messages the flaky adapter fails: those whose
// sequence number is every-1 modulo every.
func failing(n, every int) int { return n / every }

func (r *poisonRun) chosen(seq int) bool { return seq%r.every == r.every-1 }

// Begin marks when the first message was generated (first call wins).
func (r *poisonRun) Begin(t time.Time) { r.start.CompareAndSwap(0, t.UnixNano()) }

// Arrive records one message at the sink, born at bornNs (unix ns).
func (r *poisonRun) Arrive(bornNs int64) {
	now := time.Now().UnixNano()
	i := r.count.Add(1)
	if i > int64(r.expect) {
		r.extra.Add(1)
		return
	}
	r.lat[i-1] = now - bornNs
	if i == int64(r.expect) {
		r.last.Store(now)
		close(r.done)
	}
}

func (r *poisonRun) latencies() []int64 {
	out := slices.Clone(r.lat[:min(int(r.count.Load()), r.expect)])
	slices.Sort(out)
	return out
}

// engine is one Factflow container with the benchmark adapters
// registered, bench_flaky beside the shared generator and sink.
type engine struct {
	*benchengine.Engine[*poisonRun]
}

func startEngine(ctx context.Context, dataDir, dbURL string, log *slog.Logger) (*engine, error) {
	e, err := benchengine.Start(ctx, container.Config{
		DataDir:        dataDir,
		DatabaseURL:    dbURL,
		DisableLineage: true,
		Logger:         log,
	}, flakySpec)
	if err != nil {
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	return &engine{Engine: e}, nil
}

// errTransient is the retry variant's first-attempt failure.
var errTransient = errors.New("benchmark transient failure")

// The flaky adapter (route b) fails the run's chosen messages: for good in
// the poison variant, on the first attempt only in the retry variant.
func flakySpec(e *benchengine.Engine[*poisonRun]) adapters.Spec {
	return adapters.Define("bench_flaky", "bench", "Fail chosen benchmark messages",
		func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
				r, ok := e.Recording()
				if !ok || !r.chosen(benchengine.IntField(in.Payload, "seq")) {
					return adapters.Pass(in.Payload), nil
				}
				switch r.variant {
				case varPoison:
					return nil, adapters.Permanentf("benchmark poison message %d", benchengine.IntField(in.Payload, "seq"))
				case varRetry:
					if in.Meta.Attempt <= 1 {
						return nil, errTransient
					}
				}
				return adapters.Pass(in.Payload), nil
			}), nil
		})
}

// poisonYAML is route a (generator) → b (flaky) → c (sink), tuned as
// bench/pipeline tunes its engine variant, with a retry policy whose delay
// is the only wait a retried message sees. The paced form lets a feed
// itself ticks.
func poisonYAML(concurrency int, retryDelay time.Duration, paced bool) string {
	aOut, cycles := "[ { queue: rel.b } ]", ""
	if paced {
		aOut = `
      - { queue: rel.b, condition: { field: kind, operator: equals, value: data } }
      - { queue: rel.a, condition: { field: kind, operator: equals, value: tick } }`
		cycles = "allow_cycles: true\n"
	}
	return fmt.Sprintf(`version: "1.0"
description: Reliability benchmark, a (generator) → b (flaky) → c (sink)
%sexecution: { max_handlers: %d, max_fanout_pending: 1000 }
defaults:
  error_handling: { max_retries: 3, retry_delay: %s, max_delay: %s, backoff: fixed, jitter: 0, dead_letter: true }
routes:
  a:
    inbound: { queue: rel.a, concurrency: 1 }
    adapters: [ { type: bench_generator } ]
    outbound: %s
  b:
    inbound: { queue: rel.b, concurrency: %d, prefetch: %d }
    adapters: [ { type: bench_flaky } ]
    outbound: [ { queue: rel.c } ]
  c:
    inbound: { queue: rel.c, concurrency: %d, prefetch: %d }
    adapters: [ { type: bench_sink } ]
init_message: { route: a, payload: {} }
`, cycles, 2*concurrency+8, retryDelay, retryDelay, aOut, concurrency, 2*concurrency, concurrency, 2*concurrency)
}

// poisonOutcome is what one execution did, beside the sink's figures.
type poisonOutcome struct {
	elapsed      time.Duration // first generated message to the execution's end
	sinkElapsed  time.Duration // first generated message to the last arrival
	deadLetters  int
	retried      int64
	deadLettered int64
}

func (e *engine) runOnce(ctx context.Context, cfg config, variant string, n int, rate float64) (*poisonRun, poisonOutcome, error) {
	var out poisonOutcome
	src := poisonYAML(cfg.Concurrency, cfg.RetryDelay, rate > 0)
	p, report := pipeline.Load([]byte(src), e.Container.Registry)
	if !report.Valid() {
		return nil, out, fmt.Errorf("benchmark pipeline is invalid: %v", report.Findings)
	}
	r := newPoisonRun(variant, n, cfg.Every)
	defer e.Record(r)()

	ex, err := e.Container.Manager.Start(ctx, orchestrator.StartRequest{
		Pipeline: p, ConfigName: "bench-reliability", YAML: src,
		Payload: map[string]any{"n": n, "size": cfg.Size, "rate": rate},
	})
	if err != nil {
		return nil, out, fmt.Errorf("starting the execution: %w", err)
	}
	select {
	case <-ex.Done():
	case <-ctx.Done():
		_ = e.Container.Manager.Cancel(ex.ID)
		<-ex.Done()
		return r, out, fmt.Errorf("%d of %d messages reached the sink: %w", r.count.Load(), r.expect, ctx.Err())
	}
	end := time.Now().UnixNano()
	if err := ex.Err(); err != nil || ex.Status() != store.StatusCompleted {
		return r, out, fmt.Errorf("execution %s ended %s: %v", ex.ID, ex.Status(), err)
	}
	select {
	case <-r.done:
	default:
		return r, out, fmt.Errorf("execution %s completed with %d of %d messages at the sink", ex.ID, r.count.Load(), r.expect)
	}
	out.elapsed = time.Duration(end - r.start.Load())
	out.sinkElapsed = time.Duration(r.last.Load() - r.start.Load())
	t := ex.Stats().Totals()
	out.retried, out.deadLettered = t.Retried, t.DeadLettered
	page, err := e.Container.DB.DeadLetters().List(ctx, store.DeadLetterFilter{ExecutionID: ex.ID, Limit: 1})
	if err != nil {
		return r, out, fmt.Errorf("counting the dead letters of %s: %w", ex.ID, err)
	}
	out.deadLetters = page.Total
	return r, out, checkOutcome(n, cfg.Every, variant, r, out)
}

// checkOutcome holds a run to what its variant implies, so a figure is
// never reported for a run that took another path.
func checkOutcome(n, every int, variant string, r *poisonRun, out poisonOutcome) error {
	k := failing(n, every)
	wantDL, wantRetried := 0, 0
	switch variant {
	case varPoison:
		wantDL = k
	case varRetry:
		wantRetried = k
	}
	var errs []error
	if out.deadLetters != wantDL || out.deadLettered != int64(wantDL) {
		errs = append(errs, fmt.Errorf("%d dead letters in the database and %d in the stats, want %d", out.deadLetters, out.deadLettered, wantDL))
	}
	if out.retried != int64(wantRetried) {
		errs = append(errs, fmt.Errorf("%d retries, want %d", out.retried, wantRetried))
	}
	if d := r.extra.Load(); d > 0 {
		errs = append(errs, fmt.Errorf("%d duplicate arrivals at the sink", d))
	}
	return errors.Join(errs...)
}
