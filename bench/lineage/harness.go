package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/factflow/factflow/bench/internal/hostload"
	"github.com/factflow/factflow/bench/internal/scratchdb"
	"github.com/factflow/factflow/store"
)

// query is one kind of explorer request; do runs it once with parameters
// drawn from rng and returns how many rows it returned.
type query struct {
	name  string
	heavy bool // whole-table aggregation: runs -heavy-n times
	do    func(ctx context.Context, rng *rand.Rand) (int, error)
}

// result are the timings of one query kind.
type result struct {
	name               string
	n                  int
	p50, p95, p99, max time.Duration
	meanRows           float64
}

func pick[T any](rng *rand.Rand, v []T) T { return v[rng.IntN(len(v))] }

func queries(l *store.Lineage, s *samples) []query {
	exec := func(rng *rand.Rand) string { return pick(rng, s.executions).String() }
	window := func(rng *rand.Rand, d time.Duration) (time.Time, time.Time) {
		span := s.end.Sub(s.start) - d
		from := s.start.Add(time.Duration(rng.Int64N(int64(max(span, 1)))))
		return from, from.Add(d)
	}
	list := func(f func(rng *rand.Rand) store.LineageFilter) func(context.Context, *rand.Rand) (int, error) {
		return func(ctx context.Context, rng *rand.Rand) (int, error) {
			p, err := l.List(ctx, f(rng))
			return len(p.Items), err
		}
	}
	page := func(p store.Page[store.LineageEntry], err error) (int, error) { return len(p.Items), err }
	return []query{
		{name: "list newest", do: list(func(*rand.Rand) store.LineageFilter { return store.LineageFilter{Limit: 50} })},
		{name: "list newest, page 20", do: list(func(*rand.Rand) store.LineageFilter { return store.LineageFilter{Limit: 50, Offset: 950} })},
		{name: "list by execution", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{ExecutionID: exec(rng), Limit: 50}
		})},
		{name: "list by execution+route+status", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{ExecutionID: exec(rng), RouteID: "fetch", StageStatus: store.StageCompleted, Limit: 50}
		})},
		{name: "list by adapter+status", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{AdapterName: pick(rng, []string{"http_fetch", "embedder", "chunker"}), StageStatus: store.StageFailed, Limit: 50}
		})},
		{name: "list 1h window by duration", do: list(func(rng *rand.Rand) store.LineageFilter {
			from, to := window(rng, time.Hour)
			return store.LineageFilter{StartedFrom: from, StartedTo: to, Sort: store.LineageSortDuration, Limit: 50}
		})},
		{name: "list completed 1h window", do: list(func(rng *rand.Rand) store.LineageFilter {
			from, to := window(rng, time.Hour)
			return store.LineageFilter{CompletedFrom: from, CompletedTo: to, Sort: store.LineageSortCompletedAt, Limit: 50}
		})},
		{name: "list min duration (slow rows)", do: list(func(*rand.Rand) store.LineageFilter {
			return store.LineageFilter{MinDurationMS: ptr(1000.0), Limit: 50}
		})},
		{name: "list by correlation", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{CorrelationID: pick(rng, s.pages), Limit: 50}
		})},
		{name: "list by parent", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{ParentCorrelationID: pick(rng, s.seeds), Limit: 50}
		})},
		{name: "list metadata url=exact", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{MetadataEquals: map[string]string{"url": pick(rng, s.urls)}, Limit: 50}
		})},
		{name: "list metadata url~fragment", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{MetadataContains: map[string]string{"url": pick(rng, s.fragments)}, Limit: 50}
		})},
		{name: "list metadata url~guides (1/6)", do: list(func(*rand.Rand) store.LineageFilter {
			return store.LineageFilter{MetadataContains: map[string]string{"url": "GUIDES"}, Limit: 50}
		})},
		{name: "list metadata url~guides + exec", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{ExecutionID: exec(rng), MetadataContains: map[string]string{"url": "guides"}, Limit: 50}
		})},
		{name: "list q=fragment", do: list(func(rng *rand.Rand) store.LineageFilter {
			return store.LineageFilter{Query: pick(rng, s.fragments), Limit: 50}
		})},
		{name: "get message", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			rows, err := l.Get(ctx, pick(rng, s.pages))
			return len(rows), err
		}},
		{name: "chain from leaf (up 2)", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			c, err := l.Chain(ctx, pick(rng, s.leaves), 0)
			if err != nil {
				return 0, err
			}
			return len(c.Entries), nil
		}},
		{name: "chain from root (down 400)", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			c, err := l.Chain(ctx, pick(rng, s.seeds), 0)
			if err != nil {
				return 0, err
			}
			return len(c.Entries), nil
		}},
		{name: "children of root", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			return page(l.Children(ctx, pick(rng, s.seeds), 50, 0))
		}},
		{name: "failures newest", do: func(ctx context.Context, _ *rand.Rand) (int, error) {
			return page(l.Failures(ctx, store.LineageFilter{Limit: 50}))
		}},
		{name: "failures by execution", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			return page(l.Failures(ctx, store.LineageFilter{ExecutionID: exec(rng), Limit: 50}))
		}},
		{name: "batch", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			batch := "no-batch" // runs with fewer than 20 executions have none
			if len(s.batches) > 0 {
				batch = pick(rng, s.batches)
			}
			return page(l.ByBatch(ctx, batch, 50, 0))
		}},
		{name: "stats by execution", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			st, err := l.Stats(ctx, store.LineageStatsFilter{ExecutionID: exec(rng)})
			if err != nil {
				return 0, err
			}
			return len(st.Groups), nil
		}},
		{name: "stats 1h window", do: func(ctx context.Context, rng *rand.Rand) (int, error) {
			from, to := window(rng, time.Hour)
			st, err := l.Stats(ctx, store.LineageStatsFilter{StartedFrom: from, StartedTo: to})
			if err != nil {
				return 0, err
			}
			return len(st.Groups), nil
		}},
		{name: "stats whole table", heavy: true, do: func(ctx context.Context, _ *rand.Rand) (int, error) {
			st, err := l.Stats(ctx, store.LineageStatsFilter{})
			if err != nil {
				return 0, err
			}
			return len(st.Groups), nil
		}},
	}
}

func ptr[T any](v T) *T { return &v }

// measure runs every query kind: one discarded warm-up run, then n (or
// heavyN) timed runs.
func measure(ctx context.Context, qs []query, n, heavyN int, seed int64) ([]result, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	var out []result
	for _, q := range qs {
		runs := n
		if q.heavy {
			runs = heavyN
		}
		if _, err := q.do(ctx, rng); err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		times := make([]int64, 0, runs)
		rows := 0
		for range runs {
			begin := time.Now()
			got, err := q.do(ctx, rng)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
			times = append(times, int64(time.Since(begin)))
			rows += got
		}
		slices.Sort(times)
		out = append(out, result{name: q.name, n: runs, p50: hostload.Percentile(times, 0.5),
			p95: hostload.Percentile(times, 0.95), p99: hostload.Percentile(times, 0.99),
			max: time.Duration(times[len(times)-1]), meanRows: float64(rows) / float64(runs)})
	}
	return out, nil
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	admin := cfg.AdminURL
	if admin == "" {
		var err error
		if admin, err = scratchdb.AdminURL("services-up"); err != nil {
			return err
		}
	}
	dbURL, drop, err := scratchdb.Create(ctx, admin, "ffbench_lineage_")
	if err != nil {
		return err
	}
	defer drop()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connecting to the scratch database: %w", err)
	}
	defer conn.Close(context.Background())

	var version string
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&version)
	var trgm bool
	_ = conn.QueryRow(ctx, "SELECT to_regclass('lineage_metadata_trgm_idx') IS NOT NULL").Scan(&trgm)

	s := &samples{}
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * time.Hour
	s.start, s.end = base, base.Add(span)
	fmt.Fprintf(stderr, "loading %d lineage rows…\n", cfg.Rows)
	n, took, err := load(ctx, conn, newGenerator(cfg.Seed, cfg.Rows, 0, base, span, s))
	if err != nil {
		return err
	}
	beginAnalyze := time.Now()
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) lineage"); err != nil {
		return fmt.Errorf("vacuuming lineage: %w", err)
	}
	analyzed := time.Since(beginAnalyze)
	var tableSize, indexSize string
	_ = conn.QueryRow(ctx, `SELECT pg_size_pretty(pg_table_size('lineage')), pg_size_pretty(pg_indexes_size('lineage'))`).Scan(&tableSize, &indexSize)

	fmt.Fprintf(stdout, "Lineage explorer on %d rows (%d executions × %d rows; PostgreSQL %s; %d CPUs; pg_trgm index: %v)\n",
		n, (n+rowsPerExecution-1)/rowsPerExecution, rowsPerExecution, version, runtime.NumCPU(), trgm)
	fmt.Fprintf(stdout, "loaded with COPY (all indexes in place) in %s (%.0f rows/s); VACUUM ANALYZE %s; table %s, indexes %s\n\n",
		took.Round(time.Millisecond), float64(n)/took.Seconds(), analyzed.Round(time.Millisecond), tableSize, indexSize)

	before := hostload.ReadCPUStat()
	results, err := measure(ctx, queries(db.Lineage(), s), cfg.N, cfg.HeavyN, cfg.Seed)
	if err != nil {
		return err
	}
	load := hostload.Between(before, hostload.ReadCPUStat())
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\truns\tp50 ms\tp95 ms\tp99 ms\tmax ms\trows\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t\n", r.name, r.n, ms(r.p50), ms(r.p95), ms(r.p99), ms(r.max), r.meanRows)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "queries one at a time through the store; machine busy %.0f%%, steal %.1f%%, 1-min load %.2f\n",
		100*load.Busy, 100*load.Steal, hostload.LoadAvg1())

	if cfg.IngestRows > 0 {
		costs, err := ingestCost(ctx, conn, cfg, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nIngest: COPY of %d more rows per step, one connection\n", cfg.IngestRows)
		for i, c := range costs {
			fmt.Fprintf(stdout, "  %-36s %7.2f µs/row  (%.0f rows/s)\n", ingestSteps[i].label, c, 1e6/c)
		}
	}
	return nil
}

// ingestSteps drop the explorer's indexes a group at a time, most costly
// first, so that each step's COPY shows what the dropped group cost.
var ingestSteps = []struct {
	label   string
	indexes []string
}{
	{"with every explorer index", nil},
	{"without the metadata GIN index", []string{"lineage_metadata_path_idx"}},
	{"without any explorer index", []string{"lineage_started_id_idx", "lineage_completed_idx", "lineage_replay_batch_idx",
		"lineage_failed_started_idx", "lineage_failed_execution_idx"}},
}

// ingestCost times COPY of fresh rows with the explorer's indexes, then
// again after dropping each group of them: the indexes' price on the
// lineage writer.
func ingestCost(ctx context.Context, conn *pgx.Conn, cfg config, loaded int64) ([]float64, error) {
	execBase := int(loaded+rowsPerExecution-1) / rowsPerExecution
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var out []float64
	for i, step := range ingestSteps {
		for _, idx := range step.indexes {
			if _, err := conn.Exec(ctx, "DROP INDEX IF EXISTS "+pgx.Identifier{idx}.Sanitize()); err != nil {
				return nil, fmt.Errorf("dropping %s: %w", idx, err)
			}
		}
		g := newGenerator(cfg.Seed+int64(i)+1, cfg.IngestRows, execBase, at, time.Hour, &samples{})
		n, took, err := load(ctx, conn, g)
		if err != nil {
			return nil, err
		}
		execBase += cfg.IngestRows/rowsPerExecution + 1
		at = at.Add(time.Hour)
		out = append(out, float64(took.Microseconds())/float64(n))
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
