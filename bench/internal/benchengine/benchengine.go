// Package benchengine runs a Factflow container inside the benchmark's own
// process with the two benchmark adapters registered: bench_generator
// makes a run's messages from the init message {"n", "size", "rate"}, and
// bench_sink hands each arrival's birth time to the run being recorded.
// The harnesses keep their own recorders and pipelines; this package is
// only the engine they share.
package benchengine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/server/container"
)

// Recorder is one run's bookkeeping, fed by the benchmark adapters.
type Recorder interface {
	// Begin marks when the first message was generated; the first call
	// wins.
	Begin(t time.Time)
	// Arrive records one message at the sink, born at bornNs (unix ns).
	Arrive(bornNs int64)
}

// Engine is one container with the benchmark adapters registered. R is the
// harness's recorder type, so its own adapters can read the run back.
type Engine[R Recorder] struct {
	Container *container.Container
	// current is the run the adapters record into; nil between runs. It is
	// read once per message, so an atomic load rather than a lock.
	current atomic.Pointer[recording[R]]
}

type recording[R Recorder] struct{ r R }

// Start starts a container with cfg and registers bench_generator,
// bench_sink and the specs extra builds (adapters of the caller's own that
// read the run through Recording). The container's start error comes back
// as it is, for the caller to say which engine it was.
func Start[R Recorder](ctx context.Context, cfg container.Config, extra ...func(*Engine[R]) adapters.Spec) (*Engine[R], error) {
	c, err := container.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine[R]{Container: c}
	specs := []adapters.Spec{e.generatorSpec(), e.sinkSpec()}
	for _, f := range extra {
		specs = append(specs, f(e))
	}
	for _, s := range specs {
		if err := c.Registry.Register(s); err != nil {
			_ = e.Stop(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("registering %s: %w", s.Type, err)
		}
	}
	return e, nil
}

// Stop stops the container, giving it at most 30 seconds.
func (e *Engine[R]) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return e.Container.Stop(ctx)
}

// Record makes r the run the adapters record into until done is called.
func (e *Engine[R]) Record(r R) (done func()) {
	e.current.Store(&recording[R]{r: r})
	return func() { e.current.Store(nil) }
}

// Recording is the run being recorded, if any.
func (e *Engine[R]) Recording() (R, bool) {
	if cur := e.current.Load(); cur != nil {
		return cur.r, true
	}
	var zero R
	return zero, false
}

// The generator generates the run's messages from the init message
// {"n", "size", "rate"}; each carries its sequence number and birth time.
// With rate 0 it emits all n at once (the engine publishes them in chunks
// of max_fanout_pending); with a rate it emits one message per tick and a
// tick message back to its own route, sleeping until each message is due.
// A paced pipeline therefore routes kind "data" on and kind "tick" back.
func (e *Engine[R]) generatorSpec() adapters.Spec {
	return adapters.Define("bench_generator", "bench", "Generate benchmark messages",
		func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(e.generate), nil
		})
}

func (e *Engine[R]) generate(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	rec, ok := e.Recording()
	if !ok {
		return nil, adapters.Permanent(errors.New("no benchmark run is recording"))
	}
	p := in.Payload
	n, size, rate := IntField(p, "n"), IntField(p, "size"), FloatField(p, "rate")
	pad := strings.Repeat("x", max(size-64, 0)) // ~size bytes of JSON per message
	data := func(seq int) adapters.Payload {
		return adapters.Payload{"kind": "data", "seq": seq, "pad": pad,
			"born_ns": strconv.FormatInt(time.Now().UnixNano(), 10)}
	}
	if rate <= 0 {
		rec.Begin(time.Now())
		out := make([]adapters.Payload, n)
		for i := range out {
			out[i] = data(i)
		}
		return adapters.Emit(out...), nil
	}
	k := IntField(p, "k")
	t0, _ := strconv.ParseInt(StringField(p, "t0"), 10, 64)
	if t0 == 0 {
		t0 = time.Now().UnixNano()
		rec.Begin(time.Unix(0, t0))
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

// The sink counts each message and records its latency.
func (e *Engine[R]) sinkSpec() adapters.Spec {
	return adapters.Define("bench_sink", "bench", "Count benchmark messages at the sink",
		func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
				born, err := strconv.ParseInt(StringField(in.Payload, "born_ns"), 10, 64)
				if err != nil {
					return nil, adapters.Permanent(fmt.Errorf("born_ns: %w", err))
				}
				if rec, ok := e.Recording(); ok {
					rec.Arrive(born)
				}
				return nil, nil // the end of the line: nothing to publish
			}), nil
		})
}

// sleepUntil waits until t, reporting false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// IntField reads a whole number from a payload, which holds float64 once
// it has been through JSON and int before.
func IntField(p adapters.Payload, k string) int {
	switch v := p[k].(type) {
	case float64:
		return int(v)
	case int:
		return v
	case int64:
		return int(v)
	}
	return 0
}

// FloatField reads a number from a payload.
func FloatField(p adapters.Payload, k string) float64 {
	switch v := p[k].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return 0
}

// StringField reads a string from a payload; "" when absent.
func StringField(p adapters.Payload, k string) string {
	s, _ := p[k].(string)
	return s
}
