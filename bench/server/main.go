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

// Start modes.
const (
	modeCold     = "cold"
	modeWarm     = "warm"
	modeExternal = "external"
)

var allModes = []string{modeCold, modeWarm, modeExternal}

// Load variants.
const (
	varAPI = "api"
	// varToken is the API in auth mode token: every request carries a
	// bearer token the server looks up in the database.
	varToken = "api-token"
	varBare  = "bare"
)

var allVariants = []string{varAPI, varToken, varBare}

// config is what one benchmark invocation does.
type config struct {
	// Bin is the factflow binary; empty builds ./cmd/factflow into the
	// scratch directory.
	Bin    string
	Modes  []string
	Rounds int
	// Idle is how long a healthy server sits idle before its memory is read.
	Idle         time.Duration
	StartTimeout time.Duration
	// StopTimeout bounds a graceful stop before SIGKILL; longer than the
	// server's own 30 s shutdown budget.
	StopTimeout time.Duration
	// LoadRounds of Duration per variant after a Warmup run each (0 rounds:
	// no request benchmark).
	LoadRounds  int
	Duration    time.Duration
	Warmup      time.Duration
	Concurrency int
	// Variants are the request variants to run (a subset of allVariants).
	Variants []string
	// Docker lets embedded mode use a Docker engine if one answers.
	Docker bool
	OutDir string
	// AdminURL is the administrative PostgreSQL URL (default: the
	// FACTFLOW_TEST_DATABASE_URL environment variable).
	AdminURL string
}

func defaultConfig() config {
	return config{
		Modes:        allModes,
		Rounds:       5,
		Idle:         5 * time.Second,
		StartTimeout: 2 * time.Minute,
		StopTimeout:  45 * time.Second,
		LoadRounds:   5,
		Duration:     10 * time.Second,
		Warmup:       2 * time.Second,
		Concurrency:  16,
		Variants:     allVariants,
		OutDir:       "bench/out",
	}
}

// quickConfig is a fast smoke run: every mode and variant once, tiny waits.
func quickConfig() config {
	c := defaultConfig()
	c.Rounds, c.Idle = 1, 500*time.Millisecond
	c.LoadRounds, c.Duration, c.Warmup = 1, time.Second, 300*time.Millisecond
	return c
}

// needsDatabase says whether the run needs the administrative URL.
func (c config) needsDatabase() bool {
	return c.LoadRounds > 0 || slices.Contains(c.Modes, modeExternal)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := defaultConfig()
	quick := fs.Bool("quick", false, "fast smoke run (1 round, 0.5 s idle, 1 s load rounds); explicit flags still apply")
	bin := fs.String("bin", "", "factflow binary to measure (default: build ./cmd/factflow into a scratch directory)")
	modes := fs.String("modes", strings.Join(d.Modes, ","), "comma-separated start modes: "+strings.Join(allModes, ", "))
	rounds := fs.Int("rounds", d.Rounds, "measured starts per mode (after one discarded start each)")
	idle := fs.Duration("idle", d.Idle, "idle time after healthy before memory is read")
	startTimeout := fs.Duration("start-timeout", d.StartTimeout, "give up on a start after this long")
	stopTimeout := fs.Duration("stop-timeout", d.StopTimeout, "SIGKILL a server that has not exited this long after SIGTERM")
	loadRounds := fs.Int("load-rounds", d.LoadRounds, "measured request rounds per variant (0: no request benchmark)")
	duration := fs.Duration("duration", d.Duration, "length of one request round")
	warmup := fs.Duration("warmup", d.Warmup, "discarded request run per variant before the rounds")
	conc := fs.Int("concurrency", d.Concurrency, "concurrent keep-alive clients of the load generator")
	variants := fs.String("variants", strings.Join(d.Variants, ","), "comma-separated request variants: "+strings.Join(allVariants, ", "))
	docker := fs.Bool("docker", d.Docker, "let embedded mode use a Docker engine if one answers (default: local PostgreSQL binaries)")
	out := fs.String("out", d.OutDir, "directory for the raw CSV")
	apply, err := benchflag.Parse(fs, args, quick)
	if err != nil {
		return config{}, err
	}
	c := d
	if *quick {
		c = quickConfig()
	}
	apply("modes", func() { c.Modes = benchflag.SplitList(*modes) })
	apply("rounds", func() { c.Rounds = *rounds })
	apply("idle", func() { c.Idle = *idle })
	apply("start-timeout", func() { c.StartTimeout = *startTimeout })
	apply("stop-timeout", func() { c.StopTimeout = *stopTimeout })
	apply("load-rounds", func() { c.LoadRounds = *loadRounds })
	apply("duration", func() { c.Duration = *duration })
	apply("warmup", func() { c.Warmup = *warmup })
	apply("concurrency", func() { c.Concurrency = *conc })
	apply("variants", func() { c.Variants = benchflag.SplitList(*variants) })
	apply("docker", func() { c.Docker = *docker })
	apply("out", func() { c.OutDir = *out })
	c.Bin = *bin
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	if c.Rounds < 1 {
		errs = append(errs, errors.New("-rounds must be at least 1"))
	}
	if len(c.Modes) == 0 {
		errs = append(errs, errors.New("-modes names none"))
	}
	for _, m := range c.Modes {
		if !slices.Contains(allModes, m) {
			errs = append(errs, fmt.Errorf("unknown mode %q (have %s)", m, strings.Join(allModes, ", ")))
		}
	}
	if c.Idle < 0 {
		errs = append(errs, errors.New("-idle must not be negative"))
	}
	if c.StartTimeout <= 0 || c.StopTimeout <= 0 {
		errs = append(errs, errors.New("-start-timeout and -stop-timeout must be positive"))
	}
	if c.LoadRounds < 0 {
		errs = append(errs, errors.New("-load-rounds must not be negative"))
	}
	if c.LoadRounds > 0 {
		if c.Duration < 100*time.Millisecond {
			errs = append(errs, errors.New("-duration must be at least 100ms"))
		}
		if c.Warmup < 0 {
			errs = append(errs, errors.New("-warmup must not be negative"))
		}
		if c.Concurrency < 1 || c.Concurrency > 1000 {
			errs = append(errs, errors.New("-concurrency must be between 1 and 1000"))
		}
		if len(c.Variants) == 0 {
			errs = append(errs, errors.New("-variants names none"))
		}
		for _, v := range c.Variants {
			if !slices.Contains(allVariants, v) {
				errs = append(errs, fmt.Errorf("unknown variant %q (have %s)", v, strings.Join(allVariants, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

func main() { benchflag.Main(parseFlags, run) }
