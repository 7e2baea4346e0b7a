package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/factflow/factflow/bench/internal/benchflag"
)

// config is what one benchmark invocation does.
type config struct {
	Rows       int
	N          int // runs per query kind
	HeavyN     int // runs of the whole-table aggregations
	IngestRows int // rows COPYed with and without the explorer's indexes (0: skip)
	Seed       int64
	// AdminURL is the administrative PostgreSQL URL (default: the
	// FACTFLOW_TEST_DATABASE_URL environment variable).
	AdminURL string
}

func defaultConfig() config {
	return config{Rows: 1_000_000, N: 200, HeavyN: 10, IngestRows: 50_000, Seed: 1}
}

// quickConfig is a fast smoke run.
func quickConfig() config {
	return config{Rows: 20_000, N: 20, HeavyN: 3, IngestRows: 2_000, Seed: 1}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("lineage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := defaultConfig()
	quick := fs.Bool("quick", false, "fast smoke run (20,000 rows, 20 runs per query); explicit flags still apply")
	rows := fs.Int("rows", d.Rows, "lineage rows to load")
	n := fs.Int("n", d.N, "runs per query kind")
	heavy := fs.Int("heavy-n", d.HeavyN, "runs of the whole-table aggregations (stats over every row)")
	ingest := fs.Int("ingest-rows", d.IngestRows, "rows COPYed with and without the explorer's indexes (0: skip)")
	seed := fs.Int64("seed", d.Seed, "seed of the generated data and query parameters")
	apply, err := benchflag.Parse(fs, args, quick)
	if err != nil {
		return config{}, err
	}
	c := d
	if *quick {
		c = quickConfig()
	}
	apply("rows", func() { c.Rows = *rows })
	apply("n", func() { c.N = *n })
	apply("heavy-n", func() { c.HeavyN = *heavy })
	apply("ingest-rows", func() { c.IngestRows = *ingest })
	apply("seed", func() { c.Seed = *seed })
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.Rows < 2*rowsPerExecution:
		return fmt.Errorf("-rows must be at least %d (two executions)", 2*rowsPerExecution)
	case c.N < 1:
		return errors.New("-n must be at least 1")
	case c.HeavyN < 1:
		return errors.New("-heavy-n must be at least 1")
	case c.IngestRows < 0:
		return errors.New("-ingest-rows must not be negative")
	}
	return nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lineage bench:", err)
		os.Exit(1)
	}
}
