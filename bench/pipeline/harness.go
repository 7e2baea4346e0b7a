package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/factflow/factflow/bench/internal/hostload"
	"github.com/factflow/factflow/bench/internal/scratchdb"
)

// Modes of a run.
const (
	modeThroughput = "throughput"
	modePaced      = "paced"
)

// result is one run of one variant, as written to the CSV.
type result struct {
	Round   int // 0 = warm-up
	Mode    string
	Variant string
	N       int
	// Elapsed runs from the first generated message to the N-th arrival at
	// the sink; Rate is N / Elapsed.
	Elapsed time.Duration
	Rate    float64
	// End-to-end latency: sink arrival minus the message's birth time.
	P50, P99, Max time.Duration
	// CPU is this process's CPU time during the run (broker, engine,
	// clients); Busy and Steal are machine-wide fractions meanwhile.
	CPU time.Duration
	// DBCPU is the CPU of the PostgreSQL backends of the benchmark's
	// database (0 when the server is not on this machine).
	DBCPU time.Duration
	// BrokerCPU is the CPU of an external broker's process on this
	// machine (0 for the embedded one, which CPU includes).
	BrokerCPU   time.Duration
	Busy, Steal float64
	Load1       float64
	Duplicates  int64
	// ClientErrors counts errors the bare clients reported.
	ClientErrors int64
	// Factflow only: Manager.Start until the execution is done, and the
	// lineage rows written and dropped, and how long after the last
	// arrival the lineage was all written.
	Wall           time.Duration
	LineageWritten int64
	LineageDropped int64
	FlushTail      time.Duration

	lat []int64 // sorted latencies, for pooling
}

type harness struct {
	cfg     config
	db      *dbCPU
	bare    *bareServer
	engines map[string]*engine
	// runners run the broker comparison's variants.
	runners map[string]runner
	// brokerURL is each external broker's URL, to find its process by.
	brokerURL map[string]string
	log       io.Writer // progress lines
}

// run is the whole benchmark: provision, warm up, measure, report.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	admin := cfg.AdminURL
	if admin == "" {
		var err error
		if admin, err = scratchdb.AdminURL("bench"); err != nil {
			return err
		}
	}
	dbURL, dropDB, err := scratchdb.Create(ctx, admin, "factflow_bench_")
	if err != nil {
		return err
	}
	defer dropDB()
	root, err := os.MkdirTemp("", "factflow-bench-")
	if err != nil {
		return fmt.Errorf("creating a scratch directory: %w", err)
	}
	defer os.RemoveAll(root)

	h := &harness{cfg: cfg, engines: map[string]*engine{}, runners: map[string]runner{}, brokerURL: map[string]string{}, log: stderr}
	if h.db, err = openDBCPU(ctx, admin, dbURL); err != nil {
		return err
	}
	defer h.db.close()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, v := range cfg.Variants {
		if broker, kind, ok := splitVariant(v); ok {
			stop, err := h.startRunner(ctx, root, dbURL, broker, kind, logger)
			if err != nil {
				return fmt.Errorf("%s: %w", v, err)
			}
			defer stop()
			continue
		}
		switch v {
		case varBare1, varBare3:
			if h.bare == nil {
				if h.bare, err = startBareServer(filepath.Join(root, "bare")); err != nil {
					return err
				}
				defer h.bare.shutdown()
			}
		case varEngine, varLineage:
			lineage := v == varLineage
			e, err := startEngine(ctx, engineDataDir(root, lineage), dbURL, "", lineage, logger)
			if err != nil {
				return err
			}
			defer func() {
				if err := e.Stop(context.WithoutCancel(ctx)); err != nil {
					fmt.Fprintln(stderr, "stopping engine:", err)
				}
			}()
			h.engines[v] = e
		}
	}

	if err := h.ready(ctx); err != nil {
		return err
	}

	env := describeEnvironment()
	printHeader(stdout, env, cfg)

	if cfg.Warmup {
		for _, v := range cfg.Variants {
			if _, err := h.runOne(ctx, 0, v, modeThroughput); err != nil {
				return fmt.Errorf("warm-up of %s: %w", v, err)
			}
		}
	}

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("creating CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("starting CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	var results []result
	for r := 1; r <= cfg.Rounds; r++ {
		for _, v := range rotate(cfg.Variants, r-1) {
			res, err := h.runOne(ctx, r, v, modeThroughput)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r, v, err)
			}
			results = append(results, res)
		}
	}
	for r := 1; r <= cfg.PacedRounds; r++ {
		for _, v := range rotate(cfg.Variants, r-1) {
			res, err := h.runOne(ctx, r, v, modePaced)
			if err != nil {
				return fmt.Errorf("paced round %d, %s: %w", r, v, err)
			}
			results = append(results, res)
		}
	}
	pprof.StopCPUProfile()

	csvPath, err := writeCSV(cfg.OutDir, env.Started, results)
	if err != nil {
		return err
	}
	printReport(stdout, cfg, results)
	fmt.Fprintf(stdout, "\nraw rounds: %s\n", csvPath)
	if cfg.CPUProfile != "" {
		fmt.Fprintf(stdout, "CPU profile: %s (go tool pprof -top %s)\n", cfg.CPUProfile, cfg.CPUProfile)
	}
	return nil
}

// rotate starts the variant order at a different variant each round, so no
// variant always runs first (or right after the heaviest one).
func rotate(vs []string, k int) []string {
	k %= len(vs)
	return append(slices.Clone(vs[k:]), vs[:k]...)
}

// runOne runs one variant once and measures it.
func (h *harness) runOne(ctx context.Context, round int, variant, mode string) (result, error) {
	n, rate := h.cfg.throughputN(variant), 0.0
	if mode == modePaced {
		n, rate = h.cfg.PacedN, h.cfg.Rate
	}
	// Generous: well below any rate seen, plus the paced schedule.
	timeout := time.Minute + time.Duration(n)*time.Second/200
	if rate > 0 {
		timeout += time.Duration(float64(n) / rate * float64(time.Second))
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// Start every run from a collected heap, so one variant's garbage is
	// not collected on the next one's time.
	runtime.GC()
	res := result{Round: round, Mode: mode, Variant: variant, N: n, Load1: hostload.LoadAvg1()}
	dbBefore := h.db.sample(rctx)
	// Looked up each run: another client of the broker may restart it.
	var brokerPID int
	if broker, _, ok := splitVariant(variant); ok && h.brokerURL[broker] != "" {
		brokerPID = brokerProc(h.brokerURL[broker])
	}
	brokerBefore := procCPU(brokerPID)
	s := startSampler()
	var rec *recorder
	var err error
	switch variant {
	default:
		r, ok := h.runners[variant]
		if !ok {
			err = fmt.Errorf("unknown variant %q", variant)
			break
		}
		var out engineOutcome
		rec, out, err = r.run(rctx, runSpec{n: n, size: h.cfg.Size, rate: rate})
		res.Wall = out.wall
	case varBare1, varBare3:
		stages := 1
		if variant == varBare3 {
			stages = 3
		}
		rec, err = bareRun{srv: h.bare, stages: stages, n: n, size: h.cfg.Size, rate: rate, log: h.log}.run(rctx)
	case varEngine, varLineage:
		var out engineOutcome
		rec, out, err = engineRun{e: h.engines[variant], tuning: tuningFor(h.cfg.Concurrency),
			n: n, size: h.cfg.Size, rate: rate}.run(rctx)
		res.Wall, res.LineageWritten, res.LineageDropped, res.FlushTail =
			out.wall, out.lineageWritten, out.lineageDropped, out.flushTail
	}
	cpu, load := s.stop()
	if brokerPID > 0 {
		if after := procCPU(brokerPID); after >= brokerBefore {
			res.BrokerCPU = after - brokerBefore
		}
	}
	res.CPU, res.Busy, res.Steal = cpu, load.Busy, load.Steal
	res.DBCPU = dbCPUBetween(dbBefore, h.db.sample(rctx))
	if err != nil {
		return res, err
	}
	if rec == nil {
		return res, errors.New("no recorder")
	}
	res.Elapsed = rec.elapsed()
	if res.Elapsed > 0 {
		res.Rate = float64(n) / res.Elapsed.Seconds()
	}
	res.lat = rec.latencies()
	res.P50, res.P99 = hostload.Percentile(res.lat, 0.50), hostload.Percentile(res.lat, 0.99)
	res.Max = hostload.Percentile(res.lat, 1)
	res.Duplicates = rec.extra.Load()
	res.ClientErrors = rec.clientErrors.Load()

	label := fmt.Sprintf("round %d", round)
	if round == 0 {
		label = "warm-up"
	}
	fmt.Fprintf(h.log, "%-8s %-10s %-12s %7d msgs %9.0f msg/s  p50 %7s ms  p99 %7s ms  cpu %4.0f+%3.0f+%3.0f µs/msg  machine busy %3.0f%% steal %2.0f%%\n",
		label, mode, variant, n, res.Rate, ms(res.P50), ms(res.P99),
		perMsg(res.CPU, n), perMsg(res.DBCPU, n), perMsg(res.BrokerCPU, n), 100*res.Busy, 100*res.Steal)
	return res, nil
}

// perMsg is d per message in microseconds.
func perMsg(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }

// startRunner starts what one variant of the broker comparison needs and
// returns how to stop it.
func (h *harness) startRunner(ctx context.Context, root, dbURL, broker, kind string, logger *slog.Logger) (func(), error) {
	url, err := brokerURL(broker)
	if err != nil {
		return nil, err
	}
	v := brokerVariant(broker, kind)
	noop := func() {}
	if url != "" {
		h.brokerURL[broker] = url
	}
	switch kind {
	case kindEngine:
		e, err := startEngine(ctx, filepath.Join(root, "engine-"+broker), dbURL, url, false, logger)
		if err != nil {
			return nil, err
		}
		h.runners[v] = engineRunner{e: e, tuning: tuningFor(h.cfg.Concurrency)}
		return func() {
			if err := e.Stop(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintf(h.log, "stopping the engine on %s: %v\n", broker, err)
			}
		}, nil
	case kindWatermill:
		h.runners[v] = wmRun{broker: broker, url: url, log: h.log, logger: logger, workers: h.cfg.WMWorkers}
		return noop, nil
	}
	switch broker {
	case brokerEmbedded:
		if h.bare == nil {
			if h.bare, err = startBareServer(filepath.Join(root, "bare")); err != nil {
				return nil, err
			}
		}
		h.runners[v] = bareNATS{srv: h.bare, log: h.log}
		return h.bare.shutdown, nil
	case brokerNATS:
		h.runners[v] = bareNATS{srv: externalNATS(url), log: h.log}
	case brokerAMQP:
		h.runners[v] = bareAMQP{url: url, log: h.log}
	case brokerSTOMP:
		b, err := newBareSTOMP(ctx, url, h.log, logger)
		if err != nil {
			return nil, err
		}
		h.runners[v] = b
		return func() { _ = b.close(context.WithoutCancel(ctx)) }, nil
	case brokerPulsar:
		b, err := newBarePulsar(ctx, url, h.log, logger)
		if err != nil {
			return nil, err
		}
		h.runners[v] = b
		return func() { _ = b.close(context.WithoutCancel(ctx)) }, nil
	default:
		return nil, fmt.Errorf("no bare client loop for broker %s", broker)
	}
	return noop, nil
}

// ready checks before anything is measured that every broker of the
// comparison answers, so a broken one fails the run at once.
func (h *harness) ready(ctx context.Context) error {
	for _, v := range h.cfg.Variants {
		if _, ok := h.runners[v]; !ok {
			continue
		}
		if _, kind, _ := splitVariant(v); kind != kindBare {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, _, err := h.runners[v].run(rctx, runSpec{n: 1, size: 64})
		cancel()
		if err != nil {
			return fmt.Errorf("%s: one message through the broker: %w", v, err)
		}
	}
	return nil
}
