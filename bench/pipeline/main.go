package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/factflow/factflow/bench/internal/benchflag"
)

// Variant names.
const (
	varBare1   = "bare1"
	varBare3   = "bare3"
	varEngine  = "ff"
	varLineage = "ff-lineage"
)

var allVariants = []string{varBare1, varBare3, varEngine, varLineage}

// config is what one benchmark invocation does.
type config struct {
	Rounds      int
	N           int
	Concurrency int
	Size        int
	Variants    []string
	// Brokers, when set, makes the run the broker comparison: Variants are
	// then <broker>/<kind> for each broker and each of Kinds it has.
	Brokers []string
	Kinds   []string
	// BrokerN overrides N for one broker's throughput runs (a slow broker
	// would take minutes per run at the common N).
	BrokerN map[string]int
	// WMWorkers is watermill's subscribers per stage (and publishing
	// goroutines).
	WMWorkers int
	Warmup    bool
	// Paced runs offer Rate messages/s for PacedN messages, PacedRounds
	// times per variant (0 rounds: none).
	Rate        float64
	PacedN      int
	PacedRounds int
	OutDir      string
	CPUProfile  string
	// AdminURL is the administrative PostgreSQL URL (default: the
	// FACTFLOW_TEST_DATABASE_URL environment variable).
	AdminURL string
}

func defaultConfig() config {
	return config{
		Rounds:      5,
		N:           20000,
		Concurrency: 64,
		Size:        1024,
		Variants:    allVariants,
		Kinds:       allKinds,
		WMWorkers:   64, // as the engine's routes (-concurrency)
		Warmup:      true,
		Rate:        200,
		PacedN:      1000,
		PacedRounds: 3,
		OutDir:      "bench/out",
	}
}

// quickConfig is a fast smoke run: every variant and mode, tiny counts.
func quickConfig() config {
	c := defaultConfig()
	c.Rounds, c.N, c.PacedN, c.PacedRounds = 1, 500, 40, 1
	return c
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := defaultConfig()
	quick := fs.Bool("quick", false, "fast smoke run (1 round, N=500, 40 paced messages); explicit flags still apply")
	rounds := fs.Int("rounds", d.Rounds, "measured throughput rounds per variant (after one warm-up round)")
	n := fs.Int("n", d.N, "messages per throughput run")
	conc := fs.Int("concurrency", d.Concurrency, "Factflow: concurrency of routes b and c (prefetch = 2×)")
	size := fs.Int("size", d.Size, "approximate message size in bytes")
	variants := fs.String("variants", strings.Join(d.Variants, ","), "comma-separated variants: "+strings.Join(allVariants, ", "))
	brokers := fs.String("brokers", "", "broker comparison: comma-separated brokers ("+strings.Join(allBrokers, ", ")+", or all: embedded and every one whose URL is set); replaces -variants")
	kinds := fs.String("kinds", strings.Join(d.Kinds, ","), "broker comparison: kinds of variant per broker: "+strings.Join(allKinds, ", "))
	wmWorkers := fs.Int("wm-workers", d.WMWorkers, "broker comparison: watermill subscribers per stage and publishing goroutines")
	brokerN := fs.String("broker-n", "", "broker comparison: messages per throughput run for some brokers, e.g. stomp=2000,pulsar=5000 (default -n)")
	warmup := fs.Bool("warmup", d.Warmup, "run (and discard) one throughput round first")
	rate := fs.Float64("rate", d.Rate, "paced runs: offered messages per second")
	pacedN := fs.Int("paced-n", d.PacedN, "paced runs: messages per run")
	pacedRounds := fs.Int("paced-rounds", d.PacedRounds, "paced runs per variant (0: none)")
	out := fs.String("out", d.OutDir, "directory for the raw CSV")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured rounds to this file")
	apply, err := benchflag.Parse(fs, args, quick)
	if err != nil {
		return config{}, err
	}
	c := d
	if *quick {
		c = quickConfig()
	}
	apply("rounds", func() { c.Rounds = *rounds })
	apply("n", func() { c.N = *n })
	apply("concurrency", func() { c.Concurrency = *conc })
	apply("size", func() { c.Size = *size })
	apply("variants", func() { c.Variants = benchflag.SplitList(*variants) })
	apply("warmup", func() { c.Warmup = *warmup })
	apply("kinds", func() { c.Kinds = benchflag.SplitList(*kinds) })
	apply("wm-workers", func() { c.WMWorkers = *wmWorkers })
	if c.BrokerN, err = parseBrokerN(*brokerN); err != nil {
		return config{}, err
	}
	c.Brokers = benchflag.SplitList(*brokers)
	if len(c.Brokers) > 0 {
		if c.Variants, err = expandBrokers(c.Brokers, c.Kinds, os.Getenv); err != nil {
			return config{}, err
		}
	}
	apply("rate", func() { c.Rate = *rate })
	apply("paced-n", func() { c.PacedN = *pacedN })
	apply("paced-rounds", func() { c.PacedRounds = *pacedRounds })
	apply("out", func() { c.OutDir = *out })
	c.CPUProfile = *cpuProfile
	return c, c.validate()
}

func parseBrokerN(s string) (map[string]int, error) {
	var out map[string]int
	for _, kv := range benchflag.SplitList(s) {
		if out == nil {
			out = map[string]int{}
		}
		b, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 || !slices.Contains(allBrokers, b) {
			return nil, fmt.Errorf("-broker-n: %q is not broker=messages", kv)
		}
		out[b] = n
	}
	return out, nil
}

// throughputN is the messages per throughput run of a variant.
func (c config) throughputN(variant string) int {
	if b, _, ok := splitVariant(variant); ok && c.BrokerN[b] > 0 {
		return c.BrokerN[b]
	}
	return c.N
}

func (c config) validate() error {
	var errs []error
	if c.Rounds < 1 {
		errs = append(errs, errors.New("-rounds must be at least 1"))
	}
	if c.N < 1 {
		errs = append(errs, errors.New("-n must be at least 1"))
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		errs = append(errs, errors.New("-concurrency must be between 1 and 10000"))
	}
	if c.Size < 64 || c.Size > 512<<10 {
		errs = append(errs, errors.New("-size must be between 64 and 524288"))
	}
	if c.WMWorkers < 1 || c.WMWorkers > 1000 {
		errs = append(errs, errors.New("-wm-workers must be between 1 and 1000"))
	}
	if len(c.Variants) == 0 {
		errs = append(errs, errors.New("-variants names none"))
	}
	for _, v := range c.Variants {
		if b, k, ok := splitVariant(v); ok {
			if !slices.Contains(allBrokers, b) || !slices.Contains(kindsOf(b), k) {
				errs = append(errs, fmt.Errorf("unknown variant %q", v))
			}
			continue
		}
		if !slices.Contains(allVariants, v) {
			errs = append(errs, fmt.Errorf("unknown variant %q (have %s)", v, strings.Join(allVariants, ", ")))
		}
	}
	if c.PacedRounds > 0 && (c.Rate <= 0 || c.PacedN < 1) {
		errs = append(errs, errors.New("paced runs need -rate > 0 and -paced-n ≥ 1"))
	}
	return errors.Join(errs...)
}

func main() { benchflag.Main(parseFlags, run) }
