package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// pagesPerExecution is the fan-out of one seed message; with five adapter
// rows per page an execution has 1 + 5×200 = 1001 rows.
const pagesPerExecution = 200

const rowsPerExecution = 1 + 5*pagesPerExecution

var lineageColumns = []string{"id", "correlation_id", "parent_correlation_id", "replay_batch_id",
	"execution_id", "route_id", "adapter_name", "adapter_index", "stage_name", "stage_status",
	"input_hash", "started_at", "completed_at", "duration_ms", "metadata", "error_info"}

var sections = []string{"guides", "api", "blog", "docs", "reference", "tutorials"}

var words = strings.Fields(`alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega
install configure deploy monitor scale secure migrate backup restore upgrade debug profile
pipeline route adapter queue broker storage lineage replay archive search index vector
cluster node shard replica primary standby failover latency throughput budget quota limit
token session cookie header payload schema field record table column query plan cache
markdown html crawler sitemap robots chunk segment embed model prompt answer thread`)

// stage is one adapter of a route of the generated pipeline.
type stage struct {
	route, adapter string
	index          int
	meanMS         float64
}

var (
	seedStage  = stage{"seed", "url_expander", 0, 2}
	pageStages = []stage{{"fetch", "http_fetch", 0, 120}, {"fetch", "html_to_markdown", 1, 15}}
	chunkStage = []stage{{"chunk", "chunker", 0, 4}, {"chunk", "embedder", 1, 60}, {"chunk", "markdown_storage_writer", 2, 8}}
)

// samples are real values of the loaded data, for query parameters.
type samples struct {
	executions []uuid.UUID
	seeds      []string // root messages (fan out to 200 pages)
	pages      []string // middle messages (one child each)
	leaves     []string // chunk messages (no children)
	urls       []string
	fragments  []string // parts of URLs, e.g. "guides/alpha-12"
	words      []string
	batches    []string
	start, end time.Time
}

// generator yields lineage rows in start order, execution by execution.
type generator struct {
	rng      *rand.Rand
	base     time.Time
	span     time.Duration
	total    int // rows to yield
	execs    int // executions the rows are spread over
	execBase int // number of the first execution (the ingest phase continues the numbering)
	emitted  int
	s        *samples

	buf []([]any)
}

func newGenerator(seed int64, rows, execBase int, base time.Time, span time.Duration, s *samples) *generator {
	return &generator{rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)), base: base, span: span,
		total: rows, execs: (rows + rowsPerExecution - 1) / rowsPerExecution, execBase: execBase, s: s}
}

// duration draws a log-normal duration around mean milliseconds.
func (g *generator) duration(mean float64) float64 {
	return math.Round(mean*math.Exp(g.rng.NormFloat64()*0.6)*1000) / 1000
}

func (g *generator) title() string {
	return strings.ToUpper(words[g.rng.IntN(len(words))][:1]) + words[g.rng.IntN(len(words))][1:] + " " +
		words[g.rng.IntN(len(words))] + " " + words[g.rng.IntN(len(words))]
}

// execution appends the rows of execution number e to g.buf.
func (g *generator) execution(e int) {
	execID := uuid.New()
	batch := any(nil)
	if (g.execBase+e)%20 == 19 {
		b := uuid.NewString()
		batch = b
		g.s.batches = append(g.s.batches, b)
	}
	t0 := g.base.Add(time.Duration(float64(g.span) * float64(e) / float64(g.execs)))
	step := g.span / time.Duration(g.execs) / rowsPerExecution
	at := t0
	row := func(corr string, parent any, st stage, meta map[string]any) {
		status, errInfo := "completed", any(nil)
		switch r := g.rng.Float64(); {
		case r < 0.02:
			status, errInfo = "failed", map[string]any{"class": "transient", "message": "upstream answered 503", "attempt": 3}
		case r < 0.03:
			status = "skipped"
		}
		d := g.duration(st.meanMS)
		g.buf = append(g.buf, []any{uuid.New(), corr, parent, batch, execID, st.route, st.adapter, st.index,
			st.adapter, status, fmt.Sprintf("%016x", g.rng.Uint64()), at, at.Add(time.Duration(d * float64(time.Millisecond))),
			d, meta, errInfo})
		at = at.Add(step)
	}
	seed := uuid.NewString()
	row(seed, nil, seedStage, map[string]any{"emitted": pagesPerExecution})
	host := fmt.Sprintf("site%d.example.com", (g.execBase+e)%40)
	// Only complete executions give samples: the last may be cut short.
	keep := len(g.s.executions) < 5000 && (e+1)*rowsPerExecution <= g.total
	if keep {
		g.s.executions = append(g.s.executions, execID)
		g.s.seeds = append(g.s.seeds, seed)
	}
	for i := range pagesPerExecution {
		sec := sections[g.rng.IntN(len(sections))]
		slug := fmt.Sprintf("%s-%d-%d", words[g.rng.IntN(len(words))], g.execBase+e, i)
		url := "https://" + host + "/" + sec + "/" + slug
		title := g.title()
		page := uuid.NewString()
		meta := map[string]any{"url": url, "title": title, "depth": 1}
		for _, st := range pageStages {
			row(page, seed, st, meta)
		}
		chunk := uuid.NewString()
		cmeta := map[string]any{"url": url, "title": title, "chunk": 0, "key": sec + "/" + slug + ".md"}
		for _, st := range chunkStage {
			row(chunk, page, st, cmeta)
		}
		if keep && i < 3 {
			g.s.pages = append(g.s.pages, page)
			g.s.leaves = append(g.s.leaves, chunk)
			g.s.urls = append(g.s.urls, url)
			g.s.fragments = append(g.s.fragments, strings.ToUpper(sec[:1])+sec[1:]+"/"+slug[:len(slug)-2])
		}
	}
}

// Next, Values and Err make generator a pgx.CopyFromSource.
func (g *generator) Next() bool {
	if g.emitted >= g.total {
		return false
	}
	if len(g.buf) == 0 {
		e := g.emitted / rowsPerExecution
		g.execution(e)
		if rest := g.total - g.emitted; len(g.buf) > rest {
			g.buf = g.buf[:rest]
		}
	}
	return true
}

func (g *generator) Values() ([]any, error) {
	v := g.buf[0]
	g.buf = g.buf[1:]
	g.emitted++
	return v, nil
}

func (g *generator) Err() error { return nil }

// load COPYs rows into the lineage table.
func load(ctx context.Context, conn *pgx.Conn, g *generator) (int64, time.Duration, error) {
	begin := time.Now()
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"lineage"}, lineageColumns, g)
	if err != nil {
		return n, 0, fmt.Errorf("copying lineage rows: %w", err)
	}
	return n, time.Since(begin), nil
}
