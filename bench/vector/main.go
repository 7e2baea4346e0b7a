package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/factflow/factflow/bench/internal/benchflag"
)

// config is what one benchmark invocation does.
type config struct {
	N        int // vectors loaded
	Dims     int // their dimension
	Clusters int // gaussian mixture components
	Spread   float64
	Batch    int   // records per Save
	Clients  []int // concurrent searchers of the latency runs
	Queries  int   // searches per latency run
	Recall   int   // queries of the recall measurement
	EfSweep  []int // hnsw.ef_search values whose recall and latency are measured
	Seed     uint64
	// AdminURL is the administrative PostgreSQL URL (default: the
	// FACTFLOW_TEST_DATABASE_URL environment variable).
	AdminURL string
}

func defaultConfig() config {
	return config{N: 100_000, Dims: 384, Clusters: 100, Spread: 0.75, Batch: 1000, Clients: []int{1, 8},
		Queries: 2000, Recall: 200, EfSweep: []int{20, 40, 64, 100, 200}, Seed: 1}
}

// quickConfig is a fast smoke run.
func quickConfig() config {
	return config{N: 3000, Dims: 32, Clusters: 10, Spread: 0.75, Batch: 500, Clients: []int{1, 2},
		Queries: 50, Recall: 20, EfSweep: []int{40, 100}, Seed: 1}
}

func parseInts(s, name string) ([]int, error) {
	var out []int
	for _, f := range benchflag.SplitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s: %q is not a positive integer", name, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s is empty", name)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := ""
	for i, n := range v {
		if i > 0 {
			s += ","
		}
		s += strconv.Itoa(n)
	}
	return s
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("vector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := defaultConfig()
	quick := fs.Bool("quick", false, "fast smoke run (3,000 32-d vectors, few queries); explicit flags still apply")
	n := fs.Int("n", d.N, "vectors to load")
	dims := fs.Int("dims", d.Dims, "vector dimension")
	clusters := fs.Int("clusters", d.Clusters, "gaussian mixture components of the synthetic vectors")
	spread := fs.Float64("spread", d.Spread, "norm of a vector's offset from its cluster centre (before normalising)")
	batch := fs.Int("batch", d.Batch, "records per Vectors.Save")
	clients := fs.String("clients", joinInts(d.Clients), "concurrent searchers of the latency runs, comma-separated")
	queries := fs.Int("queries", d.Queries, "searches per latency run")
	recall := fs.Int("recall-queries", d.Recall, "queries of the recall@10 measurement")
	ef := fs.String("ef", joinInts(d.EfSweep), "hnsw.ef_search values to measure recall and latency at")
	seed := fs.Uint64("seed", d.Seed, "seed of the generated vectors and queries")
	database := fs.String("database", os.Getenv("FACTFLOW_TEST_DATABASE_URL"),
		"administrative PostgreSQL URL; a scratch database is created there and dropped at the end")
	apply, err := benchflag.Parse(fs, args, quick)
	if err != nil {
		return config{}, err
	}
	c := d
	if *quick {
		c = quickConfig()
	}
	apply("n", func() { c.N = *n })
	apply("dims", func() { c.Dims = *dims })
	apply("clusters", func() { c.Clusters = *clusters })
	apply("spread", func() { c.Spread = *spread })
	apply("batch", func() { c.Batch = *batch })
	apply("queries", func() { c.Queries = *queries })
	apply("recall-queries", func() { c.Recall = *recall })
	apply("seed", func() { c.Seed = *seed })
	var perr error
	apply("clients", func() { c.Clients, perr = parseInts(*clients, "clients") })
	if perr != nil {
		return config{}, perr
	}
	apply("ef", func() { c.EfSweep, perr = parseInts(*ef, "ef") })
	if perr != nil {
		return config{}, perr
	}
	c.AdminURL = *database
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.N < 100:
		return errors.New("-n must be at least 100")
	case c.Dims < 2 || c.Dims > 2000:
		return errors.New("-dims must be within 2..2000 (pgvector indexes at most 2000)")
	case c.Clusters < 1:
		return errors.New("-clusters must be at least 1")
	case c.Batch < 1:
		return errors.New("-batch must be at least 1")
	case c.Queries < 1 || c.Recall < 1:
		return errors.New("-queries and -recall-queries must be at least 1")
	}
	return nil
}

func main() { benchflag.Main(parseFlags, run) }
