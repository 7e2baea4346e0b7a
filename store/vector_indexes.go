package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Index defaults.
const (
	DefaultHNSWM              = 16
	DefaultHNSWEfConstruction = 64
	// DefaultIndexBuildMemoryMB is maintenance_work_mem of the connection
	// that builds an index: an HNSW graph built in memory is several times
	// faster than one that spills.
	DefaultIndexBuildMemoryMB = 512
	// maxIndexDims is the largest dimension pgvector indexes for `vector`.
	maxIndexDims = 2000
	// vectorIndexLockClass is the first key of the per-slot build locks.
	vectorIndexLockClass int32 = 0x66667669
)

// IndexName is the name of the index of the given type on a slot: a
// readable slug of the slot plus a hash of it, so any slot name gives a
// safe, unique identifier within PostgreSQL's 63 bytes.
func IndexName(indexType, slot string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(slot) {
		if b.Len() >= 28 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(slot))
	return "embeddings_" + indexType + "_" + strings.Trim(b.String(), "_") + "_" + hex.EncodeToString(sum[:4])
}

// IdealLists is the IVFFlat list count pgvector recommends for rows
// vectors: rows/1000 up to a million rows, sqrt(rows) past it, at least 1.
func IdealLists(rows int64) int {
	if rows > 1_000_000 {
		return int(math.Sqrt(float64(rows)))
	}
	return max(int(rows/1000), 1)
}

const sqlVectorIndexes = `SELECT i.relname::text, ix.indexrelid::regclass::text, am.amname::text,
    coalesce(pg_get_expr(ix.indpred, ix.indrelid), ''), coalesce(i.reloptions, '{}'),
    pg_relation_size(i.oid), pg_size_pretty(pg_relation_size(i.oid)), coalesce(st.idx_scan, 0), ix.indisvalid
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_am am ON am.oid = i.relam
LEFT JOIN pg_stat_user_indexes st ON st.indexrelid = ix.indexrelid
WHERE ix.indrelid = 'embeddings'::regclass AND am.amname IN ('hnsw', 'ivfflat')
ORDER BY i.relname`

type indexRow struct {
	info  IndexInfo
	ident string // quoted, possibly schema-qualified name
}

var predicateSlot = regexp.MustCompile(`^\(?model_name = (E?'(?:[^']|'')*')::text\)?$`)

// Indexes lists the vector indexes on the embeddings table with their
// slot, parameters, size, scan count and the slot's vector count.
func (v *Vectors) Indexes(ctx context.Context) ([]IndexInfo, error) {
	rows, err := v.indexes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]IndexInfo, len(rows))
	for i, r := range rows {
		out[i] = r.info
	}
	return out, nil
}

func (v *Vectors) indexes(ctx context.Context) ([]indexRow, error) {
	if err := v.ready(ctx); err != nil {
		return nil, err
	}
	models, err := v.Models(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]EmbeddingModel{}
	for _, m := range models {
		byName[IndexName("hnsw", m.Name)] = m
		byName[IndexName("ivfflat", m.Name)] = m
	}
	bySlot := map[string]EmbeddingModel{}
	for _, m := range models {
		bySlot[m.Name] = m
	}
	rows, err := v.pool.Query(ctx, sqlVectorIndexes)
	if err != nil {
		return nil, fmt.Errorf("listing vector indexes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (indexRow, error) {
		var (
			ir       indexRow
			pred     string
			relopts  []string
			sizePret string
		)
		err := r.Scan(&ir.info.Name, &ir.ident, &ir.info.Type, &pred, &relopts, &ir.info.SizeBytes, &sizePret,
			&ir.info.Scans, &ir.info.Valid)
		ir.info.SizePretty = sizePret
		ir.info.Parameters = map[string]int{}
		for _, o := range relopts {
			k, val, ok := strings.Cut(o, "=")
			if n, err := strconv.Atoi(val); ok && err == nil {
				ir.info.Parameters[k] = n
			}
		}
		m, ok := byName[ir.info.Name]
		if !ok {
			// An index made by hand: its predicate names the slot.
			if mm := predicateSlot.FindStringSubmatch(pred); mm != nil {
				m, ok = bySlot[unquoteLiteral(mm[1])]
			}
		}
		if ok {
			ir.info.Model, ir.info.Dims, ir.info.Rows = m.Name, m.Dims, m.Vectors
		}
		return ir, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing vector indexes: %w", err)
	}
	return out, nil
}

func unquoteLiteral(q string) string {
	esc := strings.HasPrefix(q, "E")
	q = strings.TrimPrefix(q, "E")
	q = strings.TrimSuffix(strings.TrimPrefix(q, "'"), "'")
	q = strings.ReplaceAll(q, "''", "'")
	if esc {
		q = strings.ReplaceAll(q, `\\`, `\`)
	}
	return q
}

// CreateIndex builds a vector index for a slot without blocking writes
// (CREATE INDEX CONCURRENTLY) and returns it. Type is hnsw (parameters m,
// ef_construction) or ivfflat (lists; default IdealLists of the slot's
// count). An unknown slot or type is INVALID_ARGUMENT-kind; a slot that
// already has a vector index, or one being built, is VECTOR_INDEX_EXISTS.
func (v *Vectors) CreateIndex(ctx context.Context, spec IndexSpec) (IndexInfo, error) {
	return v.createIndex(ctx, spec, false)
}

func (v *Vectors) createIndex(ctx context.Context, spec IndexSpec, replacing bool) (IndexInfo, error) {
	if err := v.ready(ctx); err != nil {
		return IndexInfo{}, err
	}
	typ := strings.ToLower(strings.TrimSpace(spec.Type))
	if typ != "hnsw" && typ != "ivfflat" {
		return IndexInfo{}, invalidArg(fmt.Sprintf("unknown vector index type %q", spec.Type), "use hnsw or ivfflat")
	}
	if err := validModelName(spec.Model); err != nil {
		return IndexInfo{}, err
	}
	ms, err := v.models(ctx, []string{spec.Model}, ErrInvalidArgument)
	if err != nil {
		return IndexInfo{}, err
	}
	m := ms[spec.Model]
	if m.Dims > maxIndexDims {
		return IndexInfo{}, invalidArg(fmt.Sprintf("slot %q has %d dimensions; pgvector indexes at most %d", m.Name, m.Dims, maxIndexDims),
			"search this slot exactly, or use a model with fewer dimensions")
	}
	with, err := indexParams(typ, spec.Parameters, func() (int64, error) {
		var n int64
		err := v.pool.QueryRow(ctx, sqlCount, m.Name).Scan(&n)
		return n, err
	})
	if err != nil {
		return IndexInfo{}, err
	}

	name := IndexName(typ, m.Name)
	ident := pgx.Identifier{name}.Sanitize()
	ddl := fmt.Sprintf("CREATE INDEX CONCURRENTLY %s ON embeddings USING %s ((embedding::vector(%d)) vector_cosine_ops) WITH (%s) WHERE model_name = %s",
		ident, typ, m.Dims, with, quoteLiteral(m.Name))

	conn, err := v.buildConn(ctx, spec.BuildMemoryMB)
	if err != nil {
		return IndexInfo{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// A session lock per slot (released with the connection) keeps two
	// builders of one slot apart.
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, vectorIndexLockClass, m.Name).Scan(&locked); err != nil {
		return IndexInfo{}, fmt.Errorf("locking slot %q for an index build: %w", m.Name, err)
	}
	if !locked {
		return IndexInfo{}, indexExists(m.Name, "an index of the slot is being built")
	}
	existing, err := v.indexes(ctx)
	if err != nil {
		return IndexInfo{}, err
	}
	for _, ix := range existing {
		if ix.info.Model == m.Name && (!replacing || ix.info.Name == name) {
			return IndexInfo{}, indexExists(m.Name, "index "+ix.info.Name)
		}
	}
	if _, err := conn.Exec(ctx, ddl); err != nil {
		// A failed concurrent build leaves an invalid index behind.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_, _ = conn.Exec(cleanup, "DROP INDEX CONCURRENTLY IF EXISTS "+ident)
		cancel()
		if code, _ := pgCode(err); code == "42P07" {
			return IndexInfo{}, indexExists(m.Name, "index "+name)
		}
		return IndexInfo{}, fmt.Errorf("building %s index for slot %q: %w", typ, m.Name, err)
	}
	return v.indexInfo(ctx, name)
}

// buildConn opens a connection of its own for an index build, with the
// build settings given at startup: pooled connections keep their settings.
func (v *Vectors) buildConn(ctx context.Context, memMB int) (*pgx.Conn, error) {
	if memMB <= 0 {
		memMB = DefaultIndexBuildMemoryMB
	}
	cfg := v.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["maintenance_work_mem"] = strconv.Itoa(memMB) + "MB"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting for an index build: %w", err)
	}
	return conn, nil
}

func (v *Vectors) indexInfo(ctx context.Context, name string) (IndexInfo, error) {
	all, err := v.indexes(ctx)
	if err != nil {
		return IndexInfo{}, err
	}
	for _, ix := range all {
		if ix.info.Name == name {
			return ix.info, nil
		}
	}
	return IndexInfo{}, indexNotFound(name)
}

func indexExists(slot, what string) error {
	return &Error{Code: CodeVectorIndexExists, Kind: ErrConflict,
		Msg:  fmt.Sprintf("slot %q already has a vector index (%s)", slot, what),
		Hint: "drop the existing index first, or let auto-manage upgrade or rebuild it"}
}

func indexNotFound(name string) error {
	return &Error{Code: CodeVectorIndexNotFound, Kind: ErrNotFound,
		Msg:  fmt.Sprintf("vector index %q not found", name),
		Hint: "list the vector indexes to find its name"}
}

// indexParams validates parameters and renders the WITH list.
func indexParams(typ string, p map[string]int, count func() (int64, error)) (string, error) {
	get := func(k string, def, lo, hi int) (int, error) {
		v, ok := p[k]
		if !ok {
			return def, nil
		}
		if v < lo || v > hi {
			return 0, invalidArg(fmt.Sprintf("%s index parameter %s=%d is outside %d..%d", typ, k, v, lo, hi),
				"leave it out for the default")
		}
		return v, nil
	}
	allowed := map[string]bool{"m": typ == "hnsw", "ef_construction": typ == "hnsw", "lists": typ == "ivfflat"}
	for k := range p {
		if !allowed[k] {
			return "", invalidArg(fmt.Sprintf("unknown %s index parameter %q", typ, k),
				"hnsw takes m and ef_construction, ivfflat takes lists")
		}
	}
	if typ == "hnsw" {
		m, err := get("m", DefaultHNSWM, 2, 100)
		if err != nil {
			return "", err
		}
		ef, err := get("ef_construction", max(DefaultHNSWEfConstruction, 2*m), 4, 1000)
		if err != nil {
			return "", err
		}
		if ef < 2*m {
			return "", invalidArg(fmt.Sprintf("hnsw ef_construction=%d is below 2*m=%d", ef, 2*m), "raise ef_construction or lower m")
		}
		return fmt.Sprintf("m = %d, ef_construction = %d", m, ef), nil
	}
	def := 0
	if _, ok := p["lists"]; !ok {
		n, err := count()
		if err != nil {
			return "", fmt.Errorf("counting vectors for the list count: %w", err)
		}
		def = IdealLists(n)
	}
	lists, err := get("lists", def, 1, 32768)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("lists = %d", lists), nil
}

// DropIndex drops a vector index (CONCURRENTLY). Names that are not vector
// indexes on embeddings are VECTOR_INDEX_NOT_FOUND: other indexes cannot
// be dropped through it.
func (v *Vectors) DropIndex(ctx context.Context, name string) error {
	all, err := v.indexes(ctx)
	if err != nil {
		return err
	}
	for _, ix := range all {
		if ix.info.Name == name {
			if _, err := v.pool.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+ix.ident); err != nil {
				return fmt.Errorf("dropping vector index %s: %w", name, err)
			}
			return nil
		}
	}
	return indexNotFound(name)
}

// AutoManage brings each slot's index in line with its size: a slot with
// at least CreateAt vectors and no index gets IVFFlat (HNSW straight away
// past HNSWAt); IVFFlat past HNSWAt is replaced by HNSW (built first, then
// the old index dropped); IVFFlat whose list count is more than 4× off the
// ideal for the current count, or any invalid index, is rebuilt. DryRun
// reports the actions without applying them. Slots are handled one after
// the other; the first failure stops the run and is returned with the
// actions so far.
func (v *Vectors) AutoManage(ctx context.Context, p AutoManagePolicy) ([]AutoManageAction, error) {
	if p.CreateAt <= 0 {
		p.CreateAt = 1000
	}
	if p.HNSWAt <= 0 {
		p.HNSWAt = 100_000
	}
	all, err := v.indexes(ctx)
	if err != nil {
		return nil, err
	}
	models, err := v.Models(ctx)
	if err != nil {
		return nil, err
	}
	bySlot := map[string][]indexRow{}
	for _, ix := range all {
		if ix.info.Model != "" {
			bySlot[ix.info.Model] = append(bySlot[ix.info.Model], ix)
		}
	}
	sort.Slice(models, func(i, j int) bool { return models[i].Name < models[j].Name })
	var out []AutoManageAction
	for _, m := range models {
		a, typ := v.plan(m, bySlot[m.Name], p)
		if !p.DryRun && a.Action != "none" && m.Dims <= maxIndexDims {
			info, err := v.apply(ctx, m, a, typ, bySlot[m.Name])
			if err != nil {
				out = append(out, a)
				return out, fmt.Errorf("auto-managing the index of slot %q (%s): %w", m.Name, a.Action, err)
			}
			a.Applied, a.Index = true, &info
		}
		out = append(out, a)
	}
	return out, nil
}

// plan decides the action for one slot and the index type it builds.
func (v *Vectors) plan(m EmbeddingModel, ixs []indexRow, p AutoManagePolicy) (AutoManageAction, string) {
	a := AutoManageAction{Model: m.Name, Action: "none"}
	n := m.Vectors
	if m.Dims > maxIndexDims {
		a.Reason = fmt.Sprintf("%d dimensions: pgvector indexes at most %d, the slot is searched exactly", m.Dims, maxIndexDims)
		return a, ""
	}
	if len(ixs) == 0 {
		switch {
		case n > p.HNSWAt:
			a.Action, a.Reason = "create", fmt.Sprintf("%d vectors and no index: HNSW (past %d)", n, p.HNSWAt)
			return a, "hnsw"
		case n >= p.CreateAt:
			a.Action, a.Reason = "create", fmt.Sprintf("%d vectors and no index: IVFFlat with %d lists", n, IdealLists(n))
			return a, "ivfflat"
		}
		a.Reason = fmt.Sprintf("%d vectors, below %d: exact search is fast enough", n, p.CreateAt)
		return a, ""
	}
	cur := ixs[0].info
	for _, ix := range ixs {
		if ix.info.Type == "hnsw" && ix.info.Valid {
			cur = ix.info
		}
	}
	a.Index = &cur
	switch {
	case !cur.Valid:
		a.Action, a.Reason = "rebuild", fmt.Sprintf("index %s is invalid (an interrupted build)", cur.Name)
	case cur.Type == "ivfflat" && n > p.HNSWAt:
		a.Action, a.Reason = "upgrade", fmt.Sprintf("%d vectors, past %d: IVFFlat is replaced by HNSW", n, p.HNSWAt)
		return a, "hnsw"
	case cur.Type == "ivfflat":
		lists, ideal := cur.Parameters["lists"], IdealLists(n)
		if lists > 0 && (lists > 4*ideal || ideal > 4*lists) {
			a.Action, a.Reason = "rebuild", fmt.Sprintf("%d lists for %d vectors, ideal %d", lists, n, ideal)
		} else {
			a.Reason = fmt.Sprintf("IVFFlat with %d lists fits %d vectors", lists, n)
		}
	case len(ixs) > 1:
		// An upgrade stopped between building HNSW and dropping IVFFlat.
		a.Action, a.Reason = "upgrade", fmt.Sprintf("HNSW index %s in place; the IVFFlat one it replaces is dropped", cur.Name)
	default:
		a.Reason = fmt.Sprintf("HNSW index %s in place", cur.Name)
	}
	return a, cur.Type
}

func (v *Vectors) apply(ctx context.Context, m EmbeddingModel, a AutoManageAction, typ string, ixs []indexRow) (IndexInfo, error) {
	switch a.Action {
	case "create":
		return v.createIndex(ctx, IndexSpec{Model: m.Name, Type: typ}, false)
	case "upgrade":
		var info IndexInfo
		if a.Index != nil && a.Index.Type == "hnsw" {
			info = *a.Index
		} else {
			var err error
			if info, err = v.createIndex(ctx, IndexSpec{Model: m.Name, Type: typ}, true); err != nil {
				return IndexInfo{}, err
			}
		}
		for _, ix := range ixs {
			if ix.info.Type == "ivfflat" {
				if _, err := v.pool.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+ix.ident); err != nil {
					return info, fmt.Errorf("dropping the replaced index %s: %w", ix.info.Name, err)
				}
			}
		}
		return v.indexInfo(ctx, info.Name)
	case "rebuild":
		cur := *a.Index
		var ident string
		for _, ix := range ixs {
			if ix.info.Name == cur.Name {
				ident = ix.ident
			}
		}
		conn, err := v.buildConn(ctx, 0)
		if err != nil {
			return IndexInfo{}, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if cur.Type == "ivfflat" {
			// The list count is a storage parameter read at build time.
			lists := IdealLists(m.Vectors)
			if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER INDEX %s SET (lists = %d)", ident, lists)); err != nil {
				return IndexInfo{}, fmt.Errorf("setting lists of %s: %w", cur.Name, err)
			}
		}
		if _, err := conn.Exec(ctx, "REINDEX INDEX CONCURRENTLY "+ident); err != nil {
			return IndexInfo{}, fmt.Errorf("rebuilding %s: %w", cur.Name, err)
		}
		return v.indexInfo(ctx, cur.Name)
	}
	return IndexInfo{}, fmt.Errorf("unknown auto-manage action %q", a.Action)
}
