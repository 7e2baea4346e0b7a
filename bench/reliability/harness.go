package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/factflow/factflow/bench/internal/hostload"
	"github.com/factflow/factflow/bench/internal/scratchdb"
	"github.com/factflow/factflow/bench/internal/serveproc"
)

// poisonResult is one run of one variant, as written to the CSV.
type poisonResult struct {
	Round   int // 0 = warm-up
	Mode    string
	Variant string
	N       int
	// Elapsed runs from the first generated message to the execution's
	// end; Rate is N / Elapsed. SinkElapsed ends at the last arrival.
	Elapsed, SinkElapsed time.Duration
	Rate                 float64
	Arrived              int
	DeadLetters          int
	Retried              int64
	P50, P99, Max        time.Duration
	CPU                  time.Duration // this process's CPU during the run
	Busy, Steal, Load1   float64

	lat []int64 // sorted latencies, for pooling
}

type harness struct {
	cfg   config
	root  string
	bin   string
	admin string
	log   io.Writer
}

// run is the whole benchmark: provision, run the scenarios, report.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	h := &harness{cfg: cfg, log: stderr, admin: cfg.AdminURL}
	if h.admin == "" {
		if h.admin, err = scratchdb.AdminURL("bench-reliability"); err != nil {
			return err
		}
	}
	if h.root, err = os.MkdirTemp("", "factflow-bench-reliability-"); err != nil {
		return fmt.Errorf("creating a scratch directory: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(h.root); err != nil {
			fmt.Fprintln(stderr, "removing the scratch directory:", err)
		}
	}()
	if err := os.Mkdir(filepath.Join(h.root, "logs"), 0o755); err != nil {
		return fmt.Errorf("creating the log directory: %w", err)
	}
	if cfg.has(scenShutdown) {
		if h.bin = cfg.Bin; h.bin == "" {
			if h.bin, err = serveproc.BuildBinary(ctx, h.root, stderr); err != nil {
				return err
			}
		} else if h.bin, err = filepath.Abs(h.bin); err != nil {
			return fmt.Errorf("resolving -bin: %w", err)
		}
		if _, err := os.Stat(h.bin); err != nil {
			return fmt.Errorf("the factflow binary: %w", err)
		}
	}

	env := describeEnvironment(h.bin)
	printHeader(stdout, env, cfg)
	var (
		poison []poisonResult
		stops  []shutdownResult
	)
	if cfg.has(scenPoison) {
		if poison, err = h.poisonPhase(ctx); err != nil {
			return err
		}
	}
	if cfg.has(scenShutdown) {
		if stops, err = h.shutdownPhase(ctx); err != nil {
			return err
		}
	}
	csvPath, err := writeCSV(cfg.OutDir, env.Started, poison, stops)
	if err != nil {
		return err
	}
	printReport(stdout, cfg, poison, stops)
	fmt.Fprintf(stdout, "\nraw rounds: %s\n", csvPath)
	return nil
}

// newDatabase creates a database for part of the run.
func (h *harness) newDatabase(ctx context.Context, prefix string) (string, func(), error) {
	return scratchdb.Create(ctx, h.admin, prefix)
}

// poisonPhase runs every variant through one engine: a warm-up each, then
// Rounds rounds with the order rotated.
func (h *harness) poisonPhase(ctx context.Context) ([]poisonResult, error) {
	dbURL, drop, err := h.newDatabase(ctx, "factflow_bench_rel_")
	if err != nil {
		return nil, err
	}
	defer drop()
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelError}))
	e, err := startEngine(ctx, filepath.Join(h.root, "engine"), dbURL, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := e.Stop(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintln(h.log, "stopping the engine:", err)
		}
	}()
	var results []poisonResult
	first := 1
	if h.cfg.Warmup {
		first = 0
	}
	for round := first; round <= h.cfg.Rounds; round++ {
		for _, v := range rotate(h.cfg.Variants, max(round-1, 0)) {
			res, err := h.poisonOnce(ctx, e, round, v, modeThroughput)
			if err != nil {
				return nil, fmt.Errorf("poison round %d, %s: %w", round, v, err)
			}
			if round > 0 {
				results = append(results, res)
			}
		}
	}
	for round := 1; round <= h.cfg.PacedRounds; round++ {
		for _, v := range rotate(h.cfg.Variants, round-1) {
			res, err := h.poisonOnce(ctx, e, round, v, modePaced)
			if err != nil {
				return nil, fmt.Errorf("paced round %d, %s: %w", round, v, err)
			}
			results = append(results, res)
		}
	}
	return results, nil
}

func (h *harness) poisonOnce(ctx context.Context, e *engine, round int, variant, mode string) (poisonResult, error) {
	n, rate := h.cfg.N, 0.0
	if mode == modePaced {
		n, rate = h.cfg.PacedN, h.cfg.Rate
	}
	// Generous: well below any rate seen, plus the schedule and the retry
	// delays.
	timeout := time.Minute + time.Duration(n)*time.Second/200 + 10*h.cfg.RetryDelay
	if rate > 0 {
		timeout += time.Duration(float64(n) / rate * float64(time.Second))
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Every run starts from a collected heap, so one variant's garbage is
	// not collected on the next one's time.
	runtime.GC()
	res := poisonResult{Round: round, Mode: mode, Variant: variant, N: n, Load1: hostload.LoadAvg1()}
	cpu0, stat0 := hostload.SelfCPU(), hostload.ReadCPUStat()
	r, out, err := e.runOnce(rctx, h.cfg, variant, n, rate)
	res.CPU = hostload.SelfCPU() - cpu0
	load := hostload.Between(stat0, hostload.ReadCPUStat())
	res.Busy, res.Steal = load.Busy, load.Steal
	if err != nil {
		return res, err
	}
	res.Elapsed, res.SinkElapsed = out.elapsed, out.sinkElapsed
	res.Rate = float64(n) / res.Elapsed.Seconds()
	res.Arrived, res.DeadLetters, res.Retried = int(r.count.Load()), out.deadLetters, out.retried
	res.lat = r.latencies()
	res.P50, res.P99, res.Max = hostload.Percentile(res.lat, 0.50), hostload.Percentile(res.lat, 0.99), hostload.Percentile(res.lat, 1)

	label := fmt.Sprintf("round %d", round)
	if round == 0 {
		label = "warm-up"
	}
	fmt.Fprintf(h.log, "%-8s %-10s %-7s %6d msgs %8.0f msg/s (sink %8.0f)  p50 %8s ms  p99 %8s ms  %4d dead letters %4d retries  cpu %4.0f µs/msg  machine busy %3.0f%% steal %2.0f%%\n",
		label, mode, variant, n, res.Rate, float64(res.Arrived)/res.SinkElapsed.Seconds(), ms(res.P50), ms(res.P99),
		res.DeadLetters, res.Retried, float64(res.CPU.Microseconds())/float64(n), 100*res.Busy, 100*res.Steal)
	return res, nil
}

// shutdownPhase sends SIGTERM to a loaded server ShutdownRounds times.
func (h *harness) shutdownPhase(ctx context.Context) ([]shutdownResult, error) {
	pages, err := startPageServer(h.cfg.PageDelay)
	if err != nil {
		return nil, err
	}
	defer pages.close()
	var results []shutdownResult
	for round := 1; round <= h.cfg.ShutdownRounds; round++ {
		res, err := h.shutdownOnce(ctx, round, pages)
		if err != nil {
			return nil, fmt.Errorf("shutdown round %d: %w", round, err)
		}
		results = append(results, res)
	}
	return results, nil
}

// rotate starts the order at a different element each round, so no
// variant always runs first.
func rotate(vs []string, k int) []string {
	k %= len(vs)
	return append(slices.Clone(vs[k:]), vs[:k]...)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
