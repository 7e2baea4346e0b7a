package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/factflow/factflow/bench/internal/benchflag"
)

// Scenarios.
const (
	scenPoison   = "poison"
	scenShutdown = "shutdown"
)

var allScenarios = []string{scenPoison, scenShutdown}

// Variants of the poison scenario.
const (
	varClean  = "clean"
	varPoison = "poison"
	varRetry  = "retry"
)

var allVariants = []string{varClean, varPoison, varRetry}

// Modes of a poison run.
const (
	modeThroughput = "throughput"
	modePaced      = "paced"
)

// config is what one benchmark invocation does.
type config struct {
	Scenarios []string

	// Poison scenario.
	Variants    []string
	Rounds      int
	N           int
	Every       int // every Every-th message fails
	RetryDelay  time.Duration
	Concurrency int
	Size        int
	Warmup      bool
	// Paced runs offer Rate messages/s for PacedN messages, PacedRounds
	// times per variant (0 rounds: none), for latency below saturation.
	Rate        float64
	PacedN      int
	PacedRounds int

	// Shutdown scenario. Bin is the factflow binary; empty builds
	// ./cmd/factflow into the scratch directory.
	Bin              string
	ShutdownRounds   int
	Pages            int
	PageDelay        time.Duration
	FetchConcurrency int
	// Flowing is how many pages must be fetched before the signal.
	Flowing int
	// Budget, when set, is passed to the server as its shutdown budget.
	Budget       time.Duration
	StartTimeout time.Duration
	// StopTimeout bounds the wait for the exit before SIGKILL; longer than
	// the server's budget.
	StopTimeout time.Duration

	OutDir string
	// AdminURL is the administrative PostgreSQL URL (default: the
	// FACTFLOW_TEST_DATABASE_URL environment variable).
	AdminURL string
}

// defaultBudget is server.shutdown_timeout's default.
const defaultBudget = 30 * time.Second

func defaultConfig() config {
	return config{
		Scenarios:        allScenarios,
		Variants:         allVariants,
		Rounds:           5,
		N:                20000,
		Every:            100,
		RetryDelay:       50 * time.Millisecond,
		Concurrency:      64,
		Size:             1024,
		Warmup:           true,
		Rate:             200,
		PacedN:           2000,
		PacedRounds:      2,
		ShutdownRounds:   5,
		Pages:            5000,
		PageDelay:        100 * time.Millisecond,
		FetchConcurrency: 16,
		Flowing:          200,
		StartTimeout:     2 * time.Minute,
		StopTimeout:      45 * time.Second,
		OutDir:           "bench/out",
	}
}

// quickConfig is a fast smoke run: every scenario and variant once, tiny
// counts.
func quickConfig() config {
	c := defaultConfig()
	c.Rounds, c.N, c.Warmup = 1, 500, false
	c.PacedRounds, c.PacedN, c.Rate = 1, 100, 500
	c.ShutdownRounds, c.Pages, c.PageDelay, c.Flowing = 1, 400, 20*time.Millisecond, 20
	return c
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("reliability", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := defaultConfig()
	quick := fs.Bool("quick", false, "fast smoke run (1 round each, N=500, 400 pages, no warm-up); explicit flags still apply")
	scenarios := fs.String("scenarios", strings.Join(d.Scenarios, ","), "comma-separated scenarios: "+strings.Join(allScenarios, ", "))
	variants := fs.String("variants", strings.Join(d.Variants, ","), "poison: comma-separated variants: "+strings.Join(allVariants, ", "))
	rounds := fs.Int("rounds", d.Rounds, "poison: measured rounds per variant (after one warm-up round)")
	n := fs.Int("n", d.N, "poison: messages per run")
	every := fs.Int("every", d.Every, "poison: every N-th message fails (100: 1 %)")
	retryDelay := fs.Duration("retry-delay", d.RetryDelay, "poison: retry_delay of the retry variant (fixed backoff)")
	conc := fs.Int("concurrency", d.Concurrency, "poison: concurrency of routes b and c (prefetch = 2×)")
	size := fs.Int("size", d.Size, "poison: approximate message size in bytes")
	warmup := fs.Bool("warmup", d.Warmup, "poison: run (and discard) one round first")
	rate := fs.Float64("rate", d.Rate, "poison: paced runs' offered messages per second")
	pacedN := fs.Int("paced-n", d.PacedN, "poison: messages per paced run")
	pacedRounds := fs.Int("paced-rounds", d.PacedRounds, "poison: paced runs per variant (0: none)")
	bin := fs.String("bin", "", "shutdown: factflow binary (default: build ./cmd/factflow into a scratch directory)")
	sRounds := fs.Int("shutdown-rounds", d.ShutdownRounds, "shutdown: measured SIGTERMs")
	pages := fs.Int("pages", d.Pages, "shutdown: pages the execution would fetch")
	pageDelay := fs.Duration("page-delay", d.PageDelay, "shutdown: how long the page server takes per page")
	fetchConc := fs.Int("fetch-concurrency", d.FetchConcurrency, "shutdown: concurrency of the fetch route")
	flowing := fs.Int("flowing", d.Flowing, "shutdown: pages fetched before the signal")
	budget := fs.Duration("shutdown-budget", 0, "shutdown: the server's shutdown budget (default: its own, 30s)")
	startTimeout := fs.Duration("start-timeout", d.StartTimeout, "shutdown: give up on a start after this long")
	stopTimeout := fs.Duration("stop-timeout", d.StopTimeout, "shutdown: SIGKILL a server that has not exited this long after SIGTERM")
	out := fs.String("out", d.OutDir, "directory for the raw CSV")
	apply, err := benchflag.Parse(fs, args, quick)
	if err != nil {
		return config{}, err
	}
	c := d
	if *quick {
		c = quickConfig()
	}
	apply("scenarios", func() { c.Scenarios = benchflag.SplitList(*scenarios) })
	apply("variants", func() { c.Variants = benchflag.SplitList(*variants) })
	apply("rounds", func() { c.Rounds = *rounds })
	apply("n", func() { c.N = *n })
	apply("every", func() { c.Every = *every })
	apply("retry-delay", func() { c.RetryDelay = *retryDelay })
	apply("concurrency", func() { c.Concurrency = *conc })
	apply("size", func() { c.Size = *size })
	apply("warmup", func() { c.Warmup = *warmup })
	apply("rate", func() { c.Rate = *rate })
	apply("paced-n", func() { c.PacedN = *pacedN })
	apply("paced-rounds", func() { c.PacedRounds = *pacedRounds })
	apply("shutdown-rounds", func() { c.ShutdownRounds = *sRounds })
	apply("pages", func() { c.Pages = *pages })
	apply("page-delay", func() { c.PageDelay = *pageDelay })
	apply("fetch-concurrency", func() { c.FetchConcurrency = *fetchConc })
	apply("flowing", func() { c.Flowing = *flowing })
	apply("start-timeout", func() { c.StartTimeout = *startTimeout })
	apply("stop-timeout", func() { c.StopTimeout = *stopTimeout })
	apply("out", func() { c.OutDir = *out })
	c.Budget, c.Bin = *budget, *bin
	return c, c.validate()
}

func (c config) has(scenario string) bool { return slices.Contains(c.Scenarios, scenario) }

// budget is the shutdown budget the server runs with.
func (c config) budget() time.Duration {
	if c.Budget > 0 {
		return c.Budget
	}
	return defaultBudget
}

func (c config) validate() error {
	var errs []error
	if len(c.Scenarios) == 0 {
		errs = append(errs, errors.New("-scenarios names none"))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(allScenarios, s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q (have %s)", s, strings.Join(allScenarios, ", ")))
		}
	}
	if c.has(scenPoison) {
		if len(c.Variants) == 0 {
			errs = append(errs, errors.New("-variants names none"))
		}
		for _, v := range c.Variants {
			if !slices.Contains(allVariants, v) {
				errs = append(errs, fmt.Errorf("unknown variant %q (have %s)", v, strings.Join(allVariants, ", ")))
			}
		}
		if c.Rounds < 1 {
			errs = append(errs, errors.New("-rounds must be at least 1"))
		}
		if c.Every < 2 {
			errs = append(errs, errors.New("-every must be at least 2"))
		}
		if c.N < c.Every {
			errs = append(errs, errors.New("-n must be at least -every, or nothing fails"))
		}
		if c.RetryDelay < time.Millisecond {
			errs = append(errs, errors.New("-retry-delay must be at least 1ms"))
		}
		if c.Concurrency < 1 || c.Concurrency > 10000 {
			errs = append(errs, errors.New("-concurrency must be between 1 and 10000"))
		}
		if c.Size < 64 || c.Size > 512<<10 {
			errs = append(errs, errors.New("-size must be between 64 and 524288"))
		}
		if c.PacedRounds < 0 || (c.PacedRounds > 0 && (c.Rate <= 0 || c.PacedN < c.Every)) {
			errs = append(errs, errors.New("paced runs need -rate > 0 and -paced-n ≥ -every (-paced-rounds 0: none)"))
		}
	}
	if c.has(scenShutdown) {
		if c.ShutdownRounds < 1 {
			errs = append(errs, errors.New("-shutdown-rounds must be at least 1"))
		}
		if c.Flowing < 1 || c.Pages < 2*c.Flowing {
			errs = append(errs, errors.New("-flowing must be at least 1 and -pages at least twice -flowing, so the signal comes mid-run"))
		}
		if c.PageDelay < 0 {
			errs = append(errs, errors.New("-page-delay must not be negative"))
		}
		if c.FetchConcurrency < 1 || c.FetchConcurrency > 1000 {
			errs = append(errs, errors.New("-fetch-concurrency must be between 1 and 1000"))
		}
		if c.Budget < 0 {
			errs = append(errs, errors.New("-shutdown-budget must not be negative"))
		}
		if c.StartTimeout <= 0 || c.StopTimeout <= c.budget() {
			errs = append(errs, errors.New("-start-timeout must be positive and -stop-timeout longer than the shutdown budget"))
		}
	}
	return errors.Join(errs...)
}

func main() { benchflag.Main(parseFlags, run) }
