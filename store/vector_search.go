package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Search limits and defaults.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 1000
	// DefaultEfSearch is hnsw.ef_search when a query does not set one
	// (raised to twice the limit for large limits). On clustered 384-d
	// vectors it keeps recall@10 at or above 0.95; see bench/RESULTS.md.
	DefaultEfSearch = 100
	// DefaultProbes is ivfflat.probes when a query does not set one.
	DefaultProbes = 10
	// DefaultVectorWeight is Hybrid's share of the vector score.
	DefaultVectorWeight = 0.7
	// DefaultRRFK is the k of reciprocal rank fusion.
	DefaultRRFK = 60
	// candidateFactor: fused modes rank limit×4 candidates of each list.
	candidateFactor = 4
	// FilteredExactMax: a filtered search whose filter leaves at most this
	// many vectors of the slot ranks them exactly, through the filter's
	// own indexes, instead of walking the vector index: a selective filter
	// far from the query would make an HNSW scan visit most of the graph
	// (hnsw.max_scan_tuples) for a handful of matches. Exact distances of
	// 5,000 384-d vectors take about as long as a short index walk.
	FilteredExactMax = 5000
)

const hitColumns = `s.id::text, s.document_id::text, s.execution_id::text, s.segment_index, s.text, s.heading,
    s.heading_path, s.metadata, d.source_key, d.url, d.title, d.storage_key, d.markdown_key`

func scanHit(row pgx.Row, extra ...any) (SearchHit, error) {
	var h SearchHit
	dest := append([]any{&h.SegmentID, &h.DocumentID, &h.ExecutionID, &h.SegmentIndex, &h.Text, &h.Heading,
		&h.HeadingPath, &h.Metadata, &h.DocumentKey, &h.URL, &h.Title, &h.StorageKey, &h.MarkdownKey}, extra...)
	err := row.Scan(dest...)
	if len(h.HeadingPath) == 0 {
		h.HeadingPath = nil
	}
	if len(h.Metadata) == 0 {
		h.Metadata = nil
	}
	return h, err
}

// filterSQL renders a filter as AND-ed conditions on segments s,
// documents d and (when execCol names it) the execution id column to
// test, appending arguments after the existing ones.
func filterSQL(f SearchFilter, execCol string, args []any) (string, []any, error) {
	var conds []string
	if len(f.ExecutionIDs) > 0 {
		ids, err := uuids(f.ExecutionIDs, "execution id")
		if err != nil {
			return "", nil, err
		}
		args = append(args, ids)
		conds = append(conds, fmt.Sprintf("%s = ANY($%d::uuid[])", execCol, len(args)))
	}
	if len(f.ConfigIDs) > 0 {
		ids, err := uuids(f.ConfigIDs, "config id")
		if err != nil {
			return "", nil, err
		}
		args = append(args, ids)
		conds = append(conds, fmt.Sprintf("%s IN (SELECT x.id FROM executions x WHERE x.config_id = ANY($%d::uuid[]))", execCol, len(args)))
	}
	if len(f.Metadata) > 0 {
		b, err := json.Marshal(f.Metadata)
		if err != nil {
			return "", nil, invalidArg("metadata filter: "+err.Error(), "pass a JSON object")
		}
		args = append(args, string(b))
		conds = append(conds, fmt.Sprintf("s.metadata @> $%d::jsonb", len(args)))
	}
	if len(f.DocumentMetadata) > 0 {
		b, err := json.Marshal(f.DocumentMetadata)
		if err != nil {
			return "", nil, invalidArg("document metadata filter: "+err.Error(), "pass a JSON object")
		}
		args = append(args, string(b))
		conds = append(conds, fmt.Sprintf("d.metadata @> $%d::jsonb", len(args)))
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " AND " + strings.Join(conds, " AND "), args, nil
}

func uuids(in []string, what string) ([]string, error) {
	out := make([]string, len(in))
	for i, s := range in {
		id, ok := validID(s)
		if !ok {
			return nil, invalidArg(fmt.Sprintf("%s %q is not a UUID", what, s), "filter by ids as returned by the API")
		}
		out[i] = id
	}
	return out, nil
}

func clampLimit(n int) int {
	if n <= 0 {
		return DefaultSearchLimit
	}
	return min(n, MaxSearchLimit)
}

// semanticSQL is the nearest-neighbour query of one slot. The distance
// expression and the slot predicate are those of the slot's indexes, so
// the planner can walk one; exact search orders by the uncast column,
// which no index matches.
func semanticSQL(m EmbeddingModel, exact bool, filter string, limitArg int) string {
	col := fmt.Sprintf("e.embedding::vector(%d)", m.Dims)
	qv := fmt.Sprintf("$1::real[]::vector(%d)", m.Dims)
	if exact {
		col, qv = "e.embedding", "$1::real[]::vector"
	}
	dist := col + " <=> " + qv
	return `SELECT ` + hitColumns + `, 1 - (` + dist + `) AS score
FROM embeddings e
JOIN segments s ON s.id = e.segment_id
JOIN documents d ON d.id = s.document_id
WHERE e.model_name = ` + quoteLiteral(m.Name) + filter + `
ORDER BY ` + dist + `
LIMIT $` + strconv.Itoa(limitArg)
}

// Semantic returns the segments of the query's slot nearest to its vector
// by cosine distance; Score is the cosine similarity (1 - distance).
// Filtered queries on pgvector 0.8+ scan HNSW iteratively, so a selective
// filter still fills the limit.
func (v *Vectors) Semantic(ctx context.Context, q VectorQuery) ([]SearchHit, error) {
	if err := v.ready(ctx); err != nil {
		return nil, err
	}
	m, err := v.slot(ctx, q.Model)
	if err != nil {
		return nil, err
	}
	if err := checkVector(m, q.Vector, "the query vector"); err != nil {
		return nil, err
	}
	return v.semantic(ctx, m, q, clampLimit(q.Limit))
}

func (v *Vectors) slot(ctx context.Context, name string) (EmbeddingModel, error) {
	if err := validModelName(name); err != nil {
		return EmbeddingModel{}, err
	}
	ms, err := v.models(ctx, []string{name}, ErrNotFound)
	if err != nil {
		return EmbeddingModel{}, err
	}
	return ms[name], nil
}

func (v *Vectors) semantic(ctx context.Context, m EmbeddingModel, q VectorQuery, limit int) ([]SearchHit, error) {
	filter, args, err := filterSQL(q.Filter, "e.execution_id", []any{q.Vector})
	if err != nil {
		return nil, err
	}
	args = append(args, limit)
	exact := q.Exact
	if filter != "" && !exact {
		// The probe counts at most FilteredExactMax+1 matches, cheap
		// either way: few rows through the filter's indexes, or a short
		// run of many.
		// Only the tables the filter reads are joined.
		from := "embeddings e"
		docs := strings.Contains(filter, "d.metadata")
		if docs || strings.Contains(filter, "s.metadata") {
			from += " JOIN segments s ON s.id = e.segment_id"
		}
		if docs {
			from += " JOIN documents d ON d.id = s.document_id"
		}
		probe := `SELECT count(*) FROM (SELECT 1 FROM ` + from + `
WHERE e.model_name = ` + quoteLiteral(m.Name) + ` AND $1::real[] IS NOT NULL` + filter +
			fmt.Sprintf(" LIMIT %d) c", FilteredExactMax+1)
		var n int
		if err := v.pool.QueryRow(ctx, probe, args[:len(args)-1]...).Scan(&n); err != nil {
			return nil, fmt.Errorf("semantic search in slot %q: sizing the filter: %w", m.Name, err)
		}
		exact = n <= FilteredExactMax
	}
	sql := semanticSQL(m, exact, filter, len(args))

	ef := q.EfSearch
	if ef <= 0 {
		ef = max(DefaultEfSearch, 2*limit)
	}
	ef = min(ef, 1000)
	probes := q.Probes
	if probes <= 0 {
		probes = DefaultProbes
	}
	settings := []string{fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", ef), fmt.Sprintf("SET LOCAL ivfflat.probes = %d", probes)}
	if filter != "" && v.iterativeScan() {
		settings = append(settings, "SET LOCAL hnsw.iterative_scan = strict_order", "SET LOCAL ivfflat.iterative_scan = relaxed_order")
	}
	scan := func(r pgx.CollectableRow) (SearchHit, error) {
		var score float64
		h, err := scanHit(r, &score)
		h.Score, h.Model = score, m.Name
		return h, err
	}
	var hits []SearchHit
	if exact {
		// No index, no settings: a plain query.
		var rows pgx.Rows
		if rows, err = v.pool.Query(ctx, sql, args...); err == nil {
			hits, err = pgx.CollectRows(rows, scan)
		}
	} else {
		hits, err = v.searchTx(ctx, settings, sql, args, scan)
	}
	if err != nil {
		return nil, fmt.Errorf("semantic search in slot %q: %w", m.Name, err)
	}
	// Relaxed iterative scans may return near-ties out of order.
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	out := hits[:0]
	for _, h := range hits {
		if h.Score >= q.MinScore {
			s := h.Score
			h.VectorScore = &s
			out = append(out, h)
		}
	}
	return out, nil
}

// searchTx runs a query with SET LOCAL settings in a read-only
// transaction of its own, as one pipelined round trip (BEGIN, the
// settings, the query, COMMIT): the settings end with the transaction, so
// the pooled session never keeps them.
func (v *Vectors) searchTx(ctx context.Context, settings []string, sql string, args []any,
	scan func(pgx.CollectableRow) (SearchHit, error)) ([]SearchHit, error) {
	conn, err := v.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue("BEGIN READ ONLY")
	for _, s := range settings {
		b.Queue(s)
	}
	b.Queue(sql, args...)
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	hits, err := func() ([]SearchHit, error) {
		for range len(settings) + 1 {
			if _, err := br.Exec(); err != nil {
				return nil, err
			}
		}
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		hits, err := pgx.CollectRows(rows, scan)
		if err != nil {
			return nil, err
		}
		_, err = br.Exec()
		return hits, err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A failed statement leaves the transaction open; the pool would
		// drop the connection, a rollback keeps it.
		if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
		return nil, err
	}
	return hits, nil
}

const sqlFullText = `SELECT ` + hitColumns + `, ts_rank_cd(s.tsv, q.q) AS score
FROM websearch_to_tsquery($1::regconfig, $2) AS q (q)
JOIN segments s ON s.tsv @@ q.q
JOIN documents d ON d.id = s.document_id
WHERE true`

// FullText ranks segments matching a web-search style query
// (websearch_to_tsquery: words, "phrases", OR, -exclusions) by ts_rank_cd.
// It works without pgvector.
func (v *Vectors) FullText(ctx context.Context, q TextQuery) ([]SearchHit, error) {
	lang, err := v.textLanguage(ctx, q)
	if err != nil {
		return nil, err
	}
	return v.fullText(ctx, q, lang, clampLimit(q.Limit))
}

func (v *Vectors) textLanguage(ctx context.Context, q TextQuery) (string, error) {
	if strings.TrimSpace(q.Query) == "" {
		return "", invalidArg("empty search query", "pass the words to search for")
	}
	lang := strings.ToLower(strings.TrimSpace(q.Language))
	if lang == "" {
		lang = "english"
	}
	return lang, v.checkLanguages(ctx, []string{lang})
}

func (v *Vectors) fullText(ctx context.Context, q TextQuery, lang string, limit int) ([]SearchHit, error) {
	filter, args, err := filterSQL(q.Filter, "s.execution_id", []any{lang, q.Query})
	if err != nil {
		return nil, err
	}
	args = append(args, limit)
	sql := sqlFullText + filter + fmt.Sprintf("\nORDER BY score DESC, s.id\nLIMIT $%d", len(args))
	rows, err := v.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SearchHit, error) {
		var score float64
		h, err := scanHit(r, &score)
		h.Score = score
		s := score
		h.TextScore = &s
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	return hits, nil
}

const (
	sqlVectorScores = `SELECT segment_id::text, 1 - (embedding <=> $1::real[]::vector)
FROM embeddings WHERE model_name = $2 AND segment_id = ANY($3::uuid[])`
	sqlTextScores = `SELECT id::text, ts_rank_cd(tsv, websearch_to_tsquery($1::regconfig, $2))
FROM segments WHERE id = ANY($3::uuid[])`
)

// vectorScores computes the similarity of given segments to a vector, for
// candidates another list found.
func (v *Vectors) vectorScores(ctx context.Context, slot string, vec []float32, ids []string) (map[string]float64, error) {
	out := map[string]float64{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := v.pool.Query(ctx, sqlVectorScores, vec, slot, ids)
	if err != nil {
		return nil, fmt.Errorf("scoring candidates in slot %q: %w", slot, err)
	}
	var id string
	var s float64
	if _, err := pgx.ForEachRow(rows, []any{&id, &s}, func() error { out[id] = s; return nil }); err != nil {
		return nil, fmt.Errorf("scoring candidates in slot %q: %w", slot, err)
	}
	return out, nil
}

func (v *Vectors) textScores(ctx context.Context, lang, query string, ids []string) (map[string]float64, error) {
	out := map[string]float64{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := v.pool.Query(ctx, sqlTextScores, lang, query, ids)
	if err != nil {
		return nil, fmt.Errorf("scoring candidates by text: %w", err)
	}
	var id string
	var s float64
	if _, err := pgx.ForEachRow(rows, []any{&id, &s}, func() error { out[id] = s; return nil }); err != nil {
		return nil, fmt.Errorf("scoring candidates by text: %w", err)
	}
	return out, nil
}

// Hybrid blends semantic and full-text relevance. It takes the top
// limit×4 of each, scores every candidate on both sides (a candidate only
// one list found gets its other score computed), normalises the text score
// by the best candidate's, and ranks by
// vectorWeight×similarity + (1−vectorWeight)×normalised text score.
// vectorWeight 0 means DefaultVectorWeight (0.7); FullText is the text-only
// search. The limit is vq.Limit, else tq.Limit, else 10.
func (v *Vectors) Hybrid(ctx context.Context, vq VectorQuery, tq TextQuery, vectorWeight float64) ([]SearchHit, error) {
	if vectorWeight == 0 {
		vectorWeight = DefaultVectorWeight
	}
	if vectorWeight < 0 || vectorWeight > 1 || math.IsNaN(vectorWeight) {
		return nil, invalidArg(fmt.Sprintf("vector weight %v is outside 0..1", vectorWeight),
			"pass the vector share of the score, e.g. 0.7 (0 takes that default)")
	}
	if err := v.ready(ctx); err != nil {
		return nil, err
	}
	m, err := v.slot(ctx, vq.Model)
	if err != nil {
		return nil, err
	}
	if err := checkVector(m, vq.Vector, "the query vector"); err != nil {
		return nil, err
	}
	lang, err := v.textLanguage(ctx, tq)
	if err != nil {
		return nil, err
	}
	limit := vq.Limit
	if limit <= 0 {
		limit = tq.Limit
	}
	limit = clampLimit(limit)
	depth := min(limit*candidateFactor, MaxSearchLimit)

	minScore := vq.MinScore
	vq.MinScore = math.Inf(-1)
	vhits, err := v.semantic(ctx, m, vq, depth)
	if err != nil {
		return nil, err
	}
	thits, err := v.fullText(ctx, tq, lang, depth)
	if err != nil {
		return nil, err
	}
	byID := map[string]*SearchHit{}
	var all []*SearchHit
	vs, ts := map[string]float64{}, map[string]float64{}
	for i := range vhits {
		h := &vhits[i]
		byID[h.SegmentID], vs[h.SegmentID] = h, h.Score
		all = append(all, h)
	}
	var needV, needT []string
	for i := range thits {
		h := &thits[i]
		ts[h.SegmentID] = h.Score
		if _, ok := byID[h.SegmentID]; !ok {
			byID[h.SegmentID] = h
			all = append(all, h)
			needV = append(needV, h.SegmentID)
		}
	}
	for _, h := range vhits {
		if _, ok := ts[h.SegmentID]; !ok {
			needT = append(needT, h.SegmentID)
		}
	}
	more, err := v.vectorScores(ctx, m.Name, vq.Vector, needV)
	if err != nil {
		return nil, err
	}
	for id, s := range more {
		vs[id] = s
	}
	if more, err = v.textScores(ctx, lang, tq.Query, needT); err != nil {
		return nil, err
	}
	for id, s := range more {
		ts[id] = s
	}
	maxT := 0.0
	for _, s := range ts {
		maxT = max(maxT, s)
	}
	out := make([]SearchHit, 0, len(all))
	for _, h := range all {
		hit := *h
		vsc, tsc := max(vs[h.SegmentID], 0), ts[h.SegmentID]
		norm := 0.0
		if maxT > 0 {
			norm = tsc / maxT
		}
		hit.VectorScore, hit.TextScore = &vsc, &tsc
		hit.Model = m.Name
		hit.Score = vectorWeight*vsc + (1-vectorWeight)*norm
		if minScore > 0 && vsc < minScore {
			continue
		}
		out = append(out, hit)
	}
	return topHits(out, limit), nil
}

func topHits(hits []SearchHit, limit int) []SearchHit {
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].SegmentID < hits[j].SegmentID
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

// RRF fuses ranked lists by reciprocal rank: a segment scores the sum of
// 1/(k+rank) over the lists it appears in (rank from 1), one list per
// vector query (each up to max(its Limit, limit×4) deep) and the text
// query's list when tq is not nil. k 0 means 60, limit 0 means 10.
// VectorScore is the best similarity a segment had, ModelScores each
// slot's, TextScore its ts_rank_cd.
func (v *Vectors) RRF(ctx context.Context, vqs []VectorQuery, tq *TextQuery, k, limit int) ([]SearchHit, error) {
	if len(vqs) == 0 && tq == nil {
		return nil, invalidArg("nothing to fuse", "pass at least one vector query or a text query")
	}
	if k < 0 {
		return nil, invalidArg(fmt.Sprintf("RRF k %d is negative", k), "pass k >= 1, or 0 for the default 60")
	}
	if k == 0 {
		k = DefaultRRFK
	}
	limit = clampLimit(limit)
	depth := min(limit*candidateFactor, MaxSearchLimit)
	var lists [][]SearchHit
	if len(vqs) > 0 {
		if err := v.ready(ctx); err != nil {
			return nil, err
		}
	}
	for _, q := range vqs {
		_, hits, err := v.slotHits(ctx, q, depth)
		if err != nil {
			return nil, err
		}
		lists = append(lists, hits)
	}
	if tq != nil {
		lang, err := v.textLanguage(ctx, *tq)
		if err != nil {
			return nil, err
		}
		hits, err := v.fullText(ctx, *tq, lang, max(clampLimit(tq.Limit), depth))
		if err != nil {
			return nil, err
		}
		lists = append(lists, hits)
	}
	byID := map[string]*SearchHit{}
	var order []string
	for _, list := range lists {
		for rank, h := range list {
			f, ok := byID[h.SegmentID]
			if !ok {
				c := h
				c.Score, c.VectorScore, c.TextScore, c.Model = 0, nil, nil, ""
				f = &c
				byID[h.SegmentID] = f
				order = append(order, h.SegmentID)
			}
			f.Score += 1 / float64(k+rank+1)
			if h.TextScore != nil && h.VectorScore == nil {
				s := *h.TextScore
				f.TextScore = &s
			}
			if h.VectorScore != nil {
				s := *h.VectorScore
				if f.VectorScore == nil || s > *f.VectorScore {
					f.VectorScore = &s
					f.Model = h.Model
				}
				if len(vqs) > 1 {
					if f.ModelScores == nil {
						f.ModelScores = map[string]float64{}
					}
					f.ModelScores[h.Model] = s
				}
			}
		}
	}
	out := make([]SearchHit, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return topHits(out, limit), nil
}

// slotHits runs one slot's query of a fused search, at least depth deep.
func (v *Vectors) slotHits(ctx context.Context, q VectorQuery, depth int) (EmbeddingModel, []SearchHit, error) {
	m, err := v.slot(ctx, q.Model)
	if err != nil {
		return m, nil, err
	}
	if err := checkVector(m, q.Vector, "the query vector of slot "+strconv.Quote(m.Name)); err != nil {
		return m, nil, err
	}
	hits, err := v.semantic(ctx, m, q, max(clampLimit(q.Limit), depth))
	return m, hits, err
}

// MultiModel searches several slots with their own query vectors and
// merges by segment: each slot contributes its top max(Limit, limit×4),
// every merged segment is scored in every queried slot that holds a vector
// for it (ModelScores), and Score is the mean similarity over the queried
// slots, a slot without a vector for the segment counting 0: a segment
// close in every slot beats one close in a single slot.
func (v *Vectors) MultiModel(ctx context.Context, vqs []VectorQuery, limit int) ([]SearchHit, error) {
	if len(vqs) == 0 {
		return nil, invalidArg("no vector queries", "pass one query per embedding slot")
	}
	if err := v.ready(ctx); err != nil {
		return nil, err
	}
	limit = clampLimit(limit)
	depth := min(limit*candidateFactor, MaxSearchLimit)
	seen := map[string]bool{}
	byID := map[string]*SearchHit{}
	var order []string
	scores := map[string]map[string]float64{} // slot -> segment -> similarity
	var slots []string
	for _, q := range vqs {
		if seen[q.Model] {
			return nil, invalidArg(fmt.Sprintf("slot %q is queried twice", q.Model), "pass one query per slot")
		}
		seen[q.Model] = true
		m, hits, err := v.slotHits(ctx, q, depth)
		if err != nil {
			return nil, err
		}
		slots = append(slots, m.Name)
		scores[m.Name] = map[string]float64{}
		for _, h := range hits {
			scores[m.Name][h.SegmentID] = h.Score
			if _, ok := byID[h.SegmentID]; !ok {
				c := h
				byID[h.SegmentID] = &c
				order = append(order, h.SegmentID)
			}
		}
	}
	for i, q := range vqs {
		var missing []string
		for _, id := range order {
			if _, ok := scores[slots[i]][id]; !ok {
				missing = append(missing, id)
			}
		}
		more, err := v.vectorScores(ctx, slots[i], q.Vector, missing)
		if err != nil {
			return nil, err
		}
		for id, s := range more {
			scores[slots[i]][id] = s
		}
	}
	out := make([]SearchHit, 0, len(order))
	for _, id := range order {
		h := *byID[id]
		h.ModelScores = map[string]float64{}
		sum, best, bestSlot := 0.0, math.Inf(-1), ""
		for _, slot := range slots {
			if s, ok := scores[slot][id]; ok {
				h.ModelScores[slot] = s
				sum += s
				if s > best {
					best, bestSlot = s, slot
				}
			}
		}
		h.Score = sum / float64(len(slots))
		h.VectorScore, h.Model = &best, bestSlot
		out = append(out, h)
	}
	return topHits(out, limit), nil
}

const sqlSegmentsByID = `SELECT ` + hitColumns + `
FROM segments s JOIN documents d ON d.id = s.document_id
WHERE s.id = ANY($1::uuid[])`

// Segments returns segments by id, in the order asked, for citations. Ids
// that do not exist are left out. It works without pgvector.
func (v *Vectors) Segments(ctx context.Context, ids []string) ([]SearchHit, error) {
	canon, err := uuids(ids, "segment id")
	if err != nil {
		return nil, err
	}
	if len(canon) == 0 {
		return nil, nil
	}
	rows, err := v.pool.Query(ctx, sqlSegmentsByID, canon)
	if err != nil {
		return nil, fmt.Errorf("reading segments: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SearchHit, error) { return scanHit(r) })
	if err != nil {
		return nil, fmt.Errorf("reading segments: %w", err)
	}
	byID := make(map[string]SearchHit, len(hits))
	for _, h := range hits {
		byID[h.SegmentID] = h
	}
	out := make([]SearchHit, 0, len(hits))
	for _, id := range canon {
		if h, ok := byID[id]; ok {
			out = append(out, h)
			delete(byID, id)
		}
	}
	return out, nil
}

const (
	sqlSourcesHead = `WITH g AS (
    SELECT execution_id, max(created_at) AS indexed_at, count(DISTINCT document_id) AS docs, count(*) AS segs
    FROM segments GROUP BY execution_id HAVING count(*) >= $1
)
SELECT g.execution_id::text, coalesce(x.config_id::text, ''), coalesce(nullif(x.config_name, ''), c.name, ''),
    coalesce(x.tag, ''), g.indexed_at, g.docs, g.segs, `
	sqlSourcesModels = `ARRAY(SELECT m.model_name FROM embedding_models m
        WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.execution_id = g.execution_id AND e.model_name = m.model_name)
        ORDER BY m.model_name)`
	sqlSourcesTail = `
FROM g
LEFT JOIN executions x ON x.id = g.execution_id
LEFT JOIN pipeline_configs c ON c.id = x.config_id`
	sqlSourcesOrder = `
ORDER BY g.indexed_at DESC, g.execution_id`
)

// Sources lists the executions with segments, newest first: their config,
// tag, latest segment time, document and segment counts and the slots
// holding vectors of them. model, when set, keeps executions with vectors
// in that slot; minSegments keeps those with at least that many segments.
// Without pgvector the slot lists are empty and filtering by slot is
// PGVECTOR_UNAVAILABLE.
func (v *Vectors) Sources(ctx context.Context, model string, minSegments int) ([]IndexedSource, error) {
	vec := v.ready(ctx) == nil
	if model != "" && !vec {
		return nil, v.ready(ctx)
	}
	sql := sqlSourcesHead
	if vec {
		sql += sqlSourcesModels
	} else {
		sql += `'{}'::text[]`
	}
	sql += sqlSourcesTail
	args := []any{max(minSegments, 0)}
	if model != "" {
		args = append(args, model)
		sql += `
WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.execution_id = g.execution_id AND e.model_name = $2)`
	}
	sql += sqlSourcesOrder
	rows, err := v.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("listing indexed sources: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (IndexedSource, error) {
		var s IndexedSource
		err := r.Scan(&s.ExecutionID, &s.ConfigID, &s.ConfigName, &s.Tag, &s.IndexedAt, &s.Documents, &s.Segments, &s.Models)
		if s.Models == nil {
			s.Models = []string{}
		}
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing indexed sources: %w", err)
	}
	return out, nil
}
