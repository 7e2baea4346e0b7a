package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/factflow/factflow/bench/internal/benchenv"
	"github.com/factflow/factflow/bench/internal/hostload"
	"github.com/factflow/factflow/bench/internal/scratchdb"
	"github.com/factflow/factflow/store"
)

const slot = "bench"

// mixture draws normalised vectors from a gaussian mixture: unit-norm
// centres, each vector its centre plus an isotropic offset of norm about
// spread, normalised again. Real embeddings cluster by topic; uniform
// random vectors are all nearly orthogonal and make every index look bad
// (or, with few dimensions, trivially good).
type mixture struct {
	centres [][]float32
	spread  float64
	words   [][]string // per cluster: its topic words, for the text part
}

func newMixture(rng *rand.Rand, k, dims int, spread float64) *mixture {
	m := &mixture{spread: spread}
	for c := 0; c < k; c++ {
		v := make([]float32, dims)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		m.centres = append(m.centres, normalise(v))
		var w []string
		for j := 0; j < 20; j++ {
			w = append(w, fmt.Sprintf("topic%dword%d", c, j))
		}
		m.words = append(m.words, w)
	}
	return m
}

func (m *mixture) draw(rng *rand.Rand) ([]float32, int) {
	c := rng.IntN(len(m.centres))
	centre := m.centres[c]
	v := make([]float32, len(centre))
	sd := m.spread / math.Sqrt(float64(len(centre)))
	for i := range v {
		v[i] = centre[i] + float32(rng.NormFloat64()*sd)
	}
	return normalise(v), c
}

// text is a segment of twelve words: mostly its cluster's topic words,
// some common ones.
func (m *mixture) text(rng *rand.Rand, c int) string {
	common := []string{"data", "system", "report", "value", "process", "result", "method", "model"}
	var b strings.Builder
	for i := 0; i < 12; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		if rng.IntN(3) == 0 {
			b.WriteString(common[rng.IntN(len(common))])
		} else {
			b.WriteString(m.words[c][rng.IntN(len(m.words[c]))])
		}
	}
	return b.String()
}

func normalise(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

type latency struct {
	n                  int
	p50, p95, p99, max time.Duration
	qps                float64
}

// timeQueries runs total searches over clients goroutines and reports the
// latency distribution.
func timeQueries(ctx context.Context, clients, total int, do func(ctx context.Context, i int) error) (latency, error) {
	times := make([]int64, total)
	var next int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	begin := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := firstErr != nil
				mu.Unlock()
				if stop || int(i) >= total || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := do(ctx, int(i))
				times[i] = int64(time.Since(t0))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if firstErr != nil {
		return latency{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return latency{}, err
	}
	slices.Sort(times)
	return latency{n: total, p50: hostload.Percentile(times, 0.5), p95: hostload.Percentile(times, 0.95),
		p99: hostload.Percentile(times, 0.99), max: time.Duration(times[len(times)-1]),
		qps: float64(total) / elapsed.Seconds()}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	admin := cfg.AdminURL
	if admin == "" {
		var err error
		if admin, err = scratchdb.AdminURL("bench-vector"); err != nil {
			return err
		}
	}
	env := benchenv.Describe(true)
	dbURL, drop, err := scratchdb.Create(ctx, admin, "ffbench_vector_")
	if err != nil {
		return err
	}
	defer drop()
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: int32(max(slices.Max(cfg.Clients)+2, 4))})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	ok, err := db.EnsureVectorSchema(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the server has no pgvector: run `scripts/services.sh up postgres`, which installs it")
	}
	v := db.Vectors()
	if err := v.RegisterModel(ctx, store.EmbeddingModel{Name: slot, Profile: "synthetic", Dims: cfg.Dims}); err != nil {
		return err
	}
	exec := &store.Execution{}
	if err := db.Executions().Create(ctx, exec); err != nil {
		return err
	}
	var pgVersion, vecVersion string
	_ = db.Pool().QueryRow(ctx, "SHOW server_version").Scan(&pgVersion)
	_ = db.Pool().QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&vecVersion)

	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	mix := newMixture(rng, cfg.Clusters, cfg.Dims, cfg.Spread)

	// Ingest, in batches through Vectors.Save, no vector index yet.
	fmt.Fprintf(stderr, "ingesting %d %d-d vectors in batches of %d…\n", cfg.N, cfg.Dims, cfg.Batch)
	cpu0 := hostload.SelfCPU()
	begin := time.Now()
	var recs []store.SegmentRecord
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		_, err := v.Save(ctx, recs)
		recs = recs[:0]
		return err
	}
	for i := 0; i < cfg.N; i++ {
		vec, c := mix.draw(rng)
		recs = append(recs, store.SegmentRecord{ExecutionID: exec.ID, DocumentKey: fmt.Sprintf("https://bench.test/doc/%d", i/10),
			Title: fmt.Sprintf("Document %d", i/10), Index: i % 10, Text: mix.text(rng, c), Tokens: 12,
			Metadata: map[string]any{"cluster": c}, Embeddings: map[string][]float32{slot: vec}})
		if len(recs) == cfg.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
		if (i+1)%(max(cfg.N/10, 1)) == 0 {
			fmt.Fprintf(stderr, "  %d\n", i+1)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	ingest := time.Since(begin)
	ingestCPU := hostload.SelfCPU() - cpu0
	if _, err := db.Pool().Exec(ctx, "VACUUM (ANALYZE) embeddings, segments, documents"); err != nil {
		return fmt.Errorf("vacuuming: %w", err)
	}

	// Queries: fresh draws of the same mixture, with the text of their
	// cluster.
	nq := max(cfg.Recall, 1)
	qvecs := make([][]float32, nq)
	qtext := make([]string, nq)
	for i := range qvecs {
		vec, c := mix.draw(rng)
		qvecs[i] = vec
		qtext[i] = mix.words[c][rng.IntN(20)] + " " + mix.words[c][rng.IntN(20)]
	}

	fmt.Fprintf(stderr, "exact search for the ground truth of %d queries…\n", nq)
	truth := make([][]string, nq)
	exactLat, err := timeQueries(ctx, 1, nq, func(ctx context.Context, i int) error {
		hits, err := v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: qvecs[i], Limit: 10, Exact: true})
		if err != nil {
			return err
		}
		for _, h := range hits {
			truth[i] = append(truth[i], h.SegmentID)
		}
		return nil
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "building the HNSW index…\n")
	begin = time.Now()
	info, err := v.CreateIndex(ctx, store.IndexSpec{Model: slot, Type: "hnsw"})
	if err != nil {
		return err
	}
	build := time.Since(begin)
	if _, err := db.Pool().Exec(ctx, "ANALYZE embeddings"); err != nil {
		return err
	}

	recallAt := func(ef int) (float64, latency, error) {
		found := 0
		lat, err := timeQueries(ctx, 1, nq, func(ctx context.Context, i int) error {
			hits, err := v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: qvecs[i], Limit: 10, EfSearch: ef})
			if err != nil {
				return err
			}
			for _, h := range hits {
				if slices.Contains(truth[i], h.SegmentID) {
					found++
				}
			}
			return nil
		})
		total := 0
		for _, t := range truth {
			total += len(t)
		}
		return float64(found) / float64(max(total, 1)), lat, err
	}
	fmt.Fprintf(stderr, "recall sweep over ef_search %v…\n", cfg.EfSweep)
	type sweepRow struct {
		ef     int
		recall float64
		lat    latency
	}
	var sweep []sweepRow
	// A warm-up pass reads the index into the buffer cache.
	if _, _, err := recallAt(store.DefaultEfSearch); err != nil {
		return err
	}
	for _, ef := range cfg.EfSweep {
		r, lat, err := recallAt(ef)
		if err != nil {
			return err
		}
		sweep = append(sweep, sweepRow{ef, r, lat})
	}
	defRecall, _, err := recallAt(0)
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "latency runs…\n")
	type latRow struct {
		name    string
		clients int
		lat     latency
	}
	var lats []latRow
	pick := func(i int) int { return i % nq }
	for _, c := range cfg.Clients {
		lat, err := timeQueries(ctx, c, cfg.Queries, func(ctx context.Context, i int) error {
			_, err := v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: qvecs[pick(i)], Limit: 10})
			return err
		})
		if err != nil {
			return err
		}
		lats = append(lats, latRow{"semantic top-10", c, lat})
	}
	filtered := store.SearchFilter{Metadata: map[string]any{"cluster": 3}}
	hybridN := max(cfg.Queries/4, 1)
	for _, q := range []struct {
		name string
		do   func(ctx context.Context, i int) error
	}{
		{"semantic top-10, metadata filter (1 cluster)", func(ctx context.Context, i int) error {
			_, err := v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: qvecs[pick(i)], Limit: 10, Filter: filtered})
			return err
		}},
		{"semantic top-10, execution filter (every row)", func(ctx context.Context, i int) error {
			_, err := v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: qvecs[pick(i)], Limit: 10,
				Filter: store.SearchFilter{ExecutionIDs: []string{exec.ID}}})
			return err
		}},
		{"full text top-10", func(ctx context.Context, i int) error {
			_, err := v.FullText(ctx, store.TextQuery{Query: qtext[pick(i)], Limit: 10})
			return err
		}},
		{"hybrid top-10 (0.7)", func(ctx context.Context, i int) error {
			_, err := v.Hybrid(ctx, store.VectorQuery{Model: slot, Vector: qvecs[pick(i)], Limit: 10},
				store.TextQuery{Query: qtext[pick(i)]}, 0)
			return err
		}},
		{"RRF top-10 (vector + text)", func(ctx context.Context, i int) error {
			_, err := v.RRF(ctx, []store.VectorQuery{{Model: slot, Vector: qvecs[pick(i)]}},
				&store.TextQuery{Query: qtext[pick(i)]}, 0, 10)
			return err
		}},
	} {
		lat, err := timeQueries(ctx, 1, hybridN, q.do)
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		lats = append(lats, latRow{q.name, 1, lat})
	}

	// Ingest with the HNSW index in place: what a live index costs writers.
	extra := min(cfg.N/10, 2000)
	begin = time.Now()
	for i := 0; i < extra; i++ {
		vec, c := mix.draw(rng)
		recs = append(recs, store.SegmentRecord{ExecutionID: exec.ID, DocumentKey: fmt.Sprintf("https://bench.test/late/%d", i/10),
			Index: i % 10, Text: mix.text(rng, c), Embeddings: map[string][]float32{slot: vec}})
		if len(recs) == cfg.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	ingestIndexed := time.Since(begin)

	// Report.
	fmt.Fprintf(stdout, "Vector search: %d synthetic %d-d vectors, gaussian mixture of %d clusters (offset norm %.2f, normalised; not uniform random)\n",
		cfg.N, cfg.Dims, cfg.Clusters, cfg.Spread)
	fmt.Fprintf(stdout, "PostgreSQL %s, pgvector %s; %s, %d CPUs, %s; Go %s; commit %s; load at start %s\n\n",
		pgVersion, vecVersion, env.CPUModel, runtime.NumCPU(), env.Memory, env.GoVersion, env.Commit, env.Load)
	fmt.Fprintf(stdout, "ingest (Vectors.Save, %d records per call, no vector index): %d in %s = %.0f embeddings/s (harness CPU %.0f µs/embedding)\n",
		cfg.Batch, cfg.N, ingest.Round(time.Millisecond), float64(cfg.N)/ingest.Seconds(), float64(ingestCPU.Microseconds())/float64(cfg.N))
	fmt.Fprintf(stdout, "ingest with the HNSW index in place: %d in %s = %.0f embeddings/s\n",
		extra, ingestIndexed.Round(time.Millisecond), float64(extra)/ingestIndexed.Seconds())
	fmt.Fprintf(stdout, "HNSW build (m=16, ef_construction=64, CONCURRENTLY, maintenance_work_mem %d MB): %s, index %s\n",
		store.DefaultIndexBuildMemoryMB, build.Round(time.Millisecond), info.SizePretty)
	fmt.Fprintf(stdout, "exact search (sequential scan, the ground truth): p50 %.1f ms, p95 %.1f ms\n\n", ms(exactLat.p50), ms(exactLat.p95))

	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ef_search\trecall@10\tp50 ms\tp95 ms\tp99 ms\t")
	for _, s := range sweep {
		fmt.Fprintf(tw, "%d\t%.3f\t%.2f\t%.2f\t%.2f\t\n", s.ef, s.recall, ms(s.lat.p50), ms(s.lat.p95), ms(s.lat.p99))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recall@10 at the default ef_search (%d): %.3f over %d queries\n\n", store.DefaultEfSearch, defRecall, nq)

	tw = tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tclients\truns\tp50 ms\tp95 ms\tp99 ms\tmax ms\tq/s\t")
	for _, l := range lats {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t\n", l.name, l.clients, l.lat.n,
			ms(l.lat.p50), ms(l.lat.p95), ms(l.lat.p99), ms(l.lat.max), l.lat.qps)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "searches through the store API (transaction, SET LOCAL, query); 1-min load at the end %.2f\n", hostload.LoadAvg1())
	return nil
}
