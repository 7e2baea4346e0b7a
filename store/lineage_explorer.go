package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// CodeLineageNotFound is the code of an unknown correlation id.
const CodeLineageNotFound = "LINEAGE_NOT_FOUND"

// Lineage explorer bounds.
const (
	// MaxChainDepth caps how far Chain walks up and down; parent links
	// cannot form cycles, but a bad row must not make a query run forever.
	MaxChainDepth = 64
	// DefaultChainLimit and MaxChainLimit bound the rows Chain returns.
	DefaultChainLimit = 1000
	MaxChainLimit     = 10000
	// maxMetadataFilters bounds the metadata conditions of one filter.
	maxMetadataFilters = 16
)

// Lineage sort keys and orders.
const (
	LineageSortStartedAt   = "started_at"
	LineageSortCompletedAt = "completed_at"
	LineageSortDuration    = "duration_ms"
	SortAsc                = "asc"
	SortDesc               = "desc"
)

// lineageSortColumns whitelists the sort keys; nothing else reaches ORDER BY.
var lineageSortColumns = map[string]string{
	LineageSortStartedAt:   "started_at",
	LineageSortCompletedAt: "completed_at",
	LineageSortDuration:    "duration_ms",
}

var stageStatuses = []string{StageCompleted, StageFailed, StageSkipped, StageRetrying}

// LineageFilter selects lineage rows. Zero fields do not filter. Time
// ranges include From and exclude To.
type LineageFilter struct {
	ExecutionID         string
	RouteID             string
	AdapterName         string
	StageName           string
	StageStatus         string
	CorrelationID       string
	ParentCorrelationID string
	ReplayBatchID       string
	StartedFrom         time.Time
	StartedTo           time.Time
	CompletedFrom       time.Time
	CompletedTo         time.Time
	MinDurationMS       *float64
	MaxDurationMS       *float64
	// MetadataEquals matches rows whose metadata has key = value (a string,
	// or the number or boolean value spells).
	MetadataEquals map[string]string
	// MetadataContains matches rows whose metadata value under key contains
	// the text, ignoring case.
	MetadataContains map[string]string
	// Query matches rows with any top-level metadata value containing the
	// text, ignoring case.
	Query string
	// Sort is started_at (default), completed_at or duration_ms; Order is
	// asc or desc (default).
	Sort   string
	Order  string
	Limit  int
	Offset int
}

// LineageFilterError is an invalid filter; Field names the offending
// filter (as the API spells it). It matches ErrInvalidArgument.
type LineageFilterError struct {
	Field string
	Err   *Error
}

func (e *LineageFilterError) Error() string { return e.Err.Error() }

// Unwrap exposes the classified *Error (and through it ErrInvalidArgument).
func (e *LineageFilterError) Unwrap() error { return e.Err }

func badFilter(field, msg, hint string) error {
	return &LineageFilterError{Field: field, Err: &Error{Code: CodeInvalidArgument, Kind: ErrInvalidArgument,
		Msg: field + ": " + msg, Hint: hint}}
}

// whereBuilder collects parameterised conditions: the SQL fragments are
// constants of this file, user input travels only as arguments.
type whereBuilder struct {
	conds []string
	args  []any
}

// arg adds a value and returns its placeholder.
func (w *whereBuilder) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *whereBuilder) add(cond string) { w.conds = append(w.conds, cond) }

func (w *whereBuilder) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(w.conds, " AND ")
}

// likePattern escapes LIKE wildcards so that s matches literally inside
// %…%.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// jsonTextSafe reports whether s appears unchanged in jsonb's text form,
// so that a match on metadata::text is a sound pre-filter (and one a
// trigram index could serve).
func jsonTextSafe(s string) bool {
	for _, r := range s {
		if r == '"' || r == '\\' || r < 0x20 {
			return false
		}
	}
	return true
}

// metadataCandidates are the JSON objects {key: value} an exact match
// accepts: value as a string, and as the number or boolean it spells.
func metadataCandidates(key, value string) []string {
	k := mustJSON(key)
	out := []string{"{" + k + ": " + mustJSON(value) + "}"}
	if value == "true" || value == "false" || value == "null" {
		return append(out, "{"+k+": "+value+"}")
	}
	if f, err := strconv.ParseFloat(value, 64); err == nil && !strings.ContainsAny(value, "xXpP_") {
		if b, err := json.Marshal(f); err == nil {
			out = append(out, "{"+k+": "+string(b)+"}")
		}
	}
	return out
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// where validates f and turns it into conditions.
func (f LineageFilter) where() (*whereBuilder, error) {
	w := &whereBuilder{}
	if f.ExecutionID != "" {
		id, ok := validID(f.ExecutionID)
		if !ok {
			return nil, badFilter("execution_id", fmt.Sprintf("%q is not an execution id (UUID)", f.ExecutionID),
				"give the execution's UUID")
		}
		w.add("execution_id = " + w.arg(id))
	}
	for _, c := range []struct{ col, v string }{
		{"route_id", f.RouteID}, {"adapter_name", f.AdapterName}, {"stage_name", f.StageName},
		{"correlation_id", f.CorrelationID}, {"parent_correlation_id", f.ParentCorrelationID},
		{"replay_batch_id", f.ReplayBatchID},
	} {
		if c.v != "" {
			w.add(c.col + " = " + w.arg(c.v))
		}
	}
	if f.StageStatus != "" {
		if !slices.Contains(stageStatuses, f.StageStatus) {
			return nil, badFilter("stage_status", fmt.Sprintf("unknown stage status %q", f.StageStatus),
				"use "+strings.Join(stageStatuses, ", "))
		}
		w.add("stage_status = " + w.arg(f.StageStatus))
	}
	for _, r := range []struct {
		field, col string
		from, to   time.Time
	}{
		{"started", "started_at", f.StartedFrom, f.StartedTo},
		{"completed", "completed_at", f.CompletedFrom, f.CompletedTo},
	} {
		if !r.from.IsZero() && !r.to.IsZero() && r.to.Before(r.from) {
			return nil, badFilter(r.field+"_to", fmt.Sprintf("%s is before %s_from %s",
				r.to.Format(time.RFC3339Nano), r.field, r.from.Format(time.RFC3339Nano)), "give a range whose end follows its start")
		}
		if !r.from.IsZero() {
			w.add(r.col + " >= " + w.arg(r.from))
		}
		if !r.to.IsZero() {
			w.add(r.col + " < " + w.arg(r.to))
		}
	}
	if f.MinDurationMS != nil {
		if *f.MinDurationMS < 0 {
			return nil, badFilter("min_duration_ms", "must not be negative", "give milliseconds ≥ 0")
		}
		w.add("duration_ms >= " + w.arg(*f.MinDurationMS))
	}
	if f.MaxDurationMS != nil {
		if *f.MaxDurationMS < 0 {
			return nil, badFilter("max_duration_ms", "must not be negative", "give milliseconds ≥ 0")
		}
		if f.MinDurationMS != nil && *f.MaxDurationMS < *f.MinDurationMS {
			return nil, badFilter("max_duration_ms", "is below min_duration_ms", "give max_duration_ms ≥ min_duration_ms")
		}
		w.add("duration_ms <= " + w.arg(*f.MaxDurationMS))
	}
	if len(f.MetadataEquals)+len(f.MetadataContains) > maxMetadataFilters {
		return nil, badFilter("metadata", fmt.Sprintf("more than %d metadata conditions", maxMetadataFilters), "narrow the filter")
	}
	for _, k := range slices.Sorted(maps.Keys(f.MetadataEquals)) {
		if k == "" {
			return nil, badFilter("metadata", "empty key", "use key=value")
		}
		cands := metadataCandidates(k, f.MetadataEquals[k])
		w.add("metadata @> ANY(" + w.arg(cands) + "::jsonb[])")
	}
	for _, k := range slices.Sorted(maps.Keys(f.MetadataContains)) {
		v := f.MetadataContains[k]
		if k == "" || v == "" {
			return nil, badFilter("metadata_contains", "empty key or text", "use key:text")
		}
		pat := w.arg(likePattern(v))
		if jsonTextSafe(v) {
			w.add("metadata::text ILIKE " + pat)
		}
		w.add("metadata ->> " + w.arg(k) + " ILIKE " + pat)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		pat := w.arg(likePattern(q))
		if jsonTextSafe(q) {
			w.add("metadata::text ILIKE " + pat)
		}
		w.add("EXISTS (SELECT 1 FROM jsonb_each_text(CASE jsonb_typeof(metadata) WHEN 'object' THEN metadata END) m WHERE m.value ILIKE " + pat + ")")
	}
	return w, nil
}

func (f LineageFilter) orderBy() (string, error) {
	sortKey := f.Sort
	if sortKey == "" {
		sortKey = LineageSortStartedAt
	}
	col, ok := lineageSortColumns[sortKey]
	if !ok {
		return "", badFilter("sort", fmt.Sprintf("unknown sort %q", f.Sort), "use started_at, completed_at or duration_ms")
	}
	order := strings.ToLower(f.Order)
	switch order {
	case "":
		order = SortDesc
	case SortAsc, SortDesc:
	default:
		return "", badFilter("order", fmt.Sprintf("unknown order %q", f.Order), "use asc or desc")
	}
	nulls := ""
	if col == "completed_at" {
		nulls = " NULLS LAST"
	}
	return fmt.Sprintf("ORDER BY %s %s%s, id %s", col, order, nulls, order), nil
}

// List returns the lineage rows matching f, one page, with the total.
func (r *Lineage) List(ctx context.Context, f LineageFilter) (Page[LineageEntry], error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	page := Page[LineageEntry]{Limit: limit, Offset: offset, Items: []LineageEntry{}}
	if f.Limit < 0 {
		return page, badFilter("limit", "must not be negative", fmt.Sprintf("give 1 to %d", MaxLimit))
	}
	if f.Offset < 0 {
		return page, badFilter("offset", "must not be negative", "give 0 or more")
	}
	w, err := f.where()
	if err != nil {
		return page, err
	}
	order, err := f.orderBy()
	if err != nil {
		return page, err
	}
	if err := r.pool.QueryRow(ctx, "SELECT count(*) FROM lineage "+w.sql(), w.args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting lineage: %w", err)
	}
	if page.Total <= offset {
		return page, nil
	}
	sql := lineageSelect + w.sql() + " " + order + " LIMIT " + w.arg(limit) + " OFFSET " + w.arg(offset)
	rows, err := r.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return page, fmt.Errorf("listing lineage: %w", err)
	}
	items, err := pgx.CollectRows(rows, scanLineage)
	if err != nil {
		return page, fmt.Errorf("listing lineage: %w", err)
	}
	page.Items = append(page.Items, items...)
	return page, nil
}

// Failures lists failed rows matching f, newest first unless f sorts
// otherwise; f's stage status is ignored.
func (r *Lineage) Failures(ctx context.Context, f LineageFilter) (Page[LineageEntry], error) {
	f.StageStatus = StageFailed
	return r.List(ctx, f)
}

// ByBatch lists the rows of one replay batch in start order.
func (r *Lineage) ByBatch(ctx context.Context, batchID string, limit, offset int) (Page[LineageEntry], error) {
	if strings.TrimSpace(batchID) == "" {
		return Page[LineageEntry]{Items: []LineageEntry{}}, badFilter("replay_batch_id", "is empty", "give the batch id a replay reported")
	}
	return r.List(ctx, LineageFilter{ReplayBatchID: batchID, Sort: LineageSortStartedAt, Order: SortAsc,
		Limit: limit, Offset: offset})
}

func lineageNotFound(correlationID string) error {
	return &Error{Code: CodeLineageNotFound, Kind: ErrNotFound,
		Msg:  fmt.Sprintf("no lineage for correlation id %q", correlationID),
		Hint: "check the id; GET /api/v1/lineage lists recorded correlation ids (lineage is written shortly after a message is processed)"}
}

const sqlLineageExists = `SELECT EXISTS (SELECT 1 FROM lineage WHERE correlation_id = $1)`

func (r *Lineage) mustExist(ctx context.Context, correlationID string) error {
	if strings.TrimSpace(correlationID) == "" {
		return badFilter("correlation_id", "is empty", "give a correlation id")
	}
	var ok bool
	if err := r.pool.QueryRow(ctx, sqlLineageExists, correlationID).Scan(&ok); err != nil {
		return fmt.Errorf("reading lineage of message %s: %w", correlationID, err)
	}
	if !ok {
		return lineageNotFound(correlationID)
	}
	return nil
}

// Get returns every row of one message; an unknown id is a
// LINEAGE_NOT_FOUND error.
func (r *Lineage) Get(ctx context.Context, correlationID string) ([]LineageEntry, error) {
	if strings.TrimSpace(correlationID) == "" {
		return nil, badFilter("correlation_id", "is empty", "give a correlation id")
	}
	out, err := r.ByCorrelation(ctx, correlationID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, lineageNotFound(correlationID)
	}
	return out, nil
}

// Children lists the rows of the messages derived from correlationID (its
// direct children), in start order.
func (r *Lineage) Children(ctx context.Context, correlationID string, limit, offset int) (Page[LineageEntry], error) {
	if err := r.mustExist(ctx, correlationID); err != nil {
		return Page[LineageEntry]{Items: []LineageEntry{}}, err
	}
	return r.List(ctx, LineageFilter{ParentCorrelationID: correlationID, Sort: LineageSortStartedAt,
		Order: SortAsc, Limit: limit, Offset: offset})
}

// LineageChainEntry is a row of a chain with its distance from the asked
// message: negative for ancestors (-1 the parent), 0 the message itself,
// positive for descendants.
type LineageChainEntry struct {
	Depth int `json:"depth"`
	LineageEntry
}

// LineageChain is a message's ancestry and progeny.
type LineageChain struct {
	CorrelationID string `json:"correlation_id"`
	// RootCorrelationID is the topmost ancestor found.
	RootCorrelationID string `json:"root_correlation_id"`
	Ancestors         int    `json:"ancestors" doc:"Distinct ancestor messages"`
	Descendants       int    `json:"descendants" doc:"Distinct descendant messages"`
	// Truncated is true when the depth cap or the row limit cut the chain.
	Truncated bool                `json:"truncated"`
	Entries   []LineageChainEntry `json:"entries"`
}

// sqlLineageChain walks parent links up ($1 → root) and down, at most $2
// levels each way, and returns the rows of every message found, nearest
// generation first, at most $3 rows. UNION (not UNION ALL) drops the
// duplicates the several rows of one message yield.
var sqlLineageChain = `WITH RECURSIVE
up(cid, depth) AS (
    SELECT parent_correlation_id, -1 FROM lineage
    WHERE correlation_id = $1 AND parent_correlation_id IS NOT NULL
  UNION
    SELECT l.parent_correlation_id, u.depth - 1 FROM lineage l JOIN up u ON l.correlation_id = u.cid
    WHERE l.parent_correlation_id IS NOT NULL AND u.depth > -$2::int
),
down(cid, depth) AS (
    SELECT $1::text, 0
  UNION
    SELECT l.correlation_id, d.depth + 1 FROM lineage l JOIN down d ON l.parent_correlation_id = d.cid
    WHERE d.depth < $2::int
),
nodes AS (
    SELECT cid, min(depth) AS depth FROM (SELECT cid, depth FROM up UNION ALL SELECT cid, depth FROM down) n
    GROUP BY cid
)
SELECT n.depth, l.id, l.correlation_id, l.parent_correlation_id, l.replay_batch_id, l.execution_id, l.route_id,
l.adapter_name, l.adapter_index, l.stage_name, l.stage_status, l.input_hash, l.started_at, l.completed_at,
l.duration_ms, l.metadata, l.error_info
FROM nodes n JOIN lineage l ON l.correlation_id = n.cid
ORDER BY n.depth, l.started_at, l.adapter_index, l.id
LIMIT $3::int`

// Chain returns the ancestors of correlationID up to the root and its
// descendants, at most limit rows (default DefaultChainLimit) and
// MaxChainDepth generations each way.
func (r *Lineage) Chain(ctx context.Context, correlationID string, limit int) (*LineageChain, error) {
	if limit < 0 || limit > MaxChainLimit {
		return nil, badFilter("limit", fmt.Sprintf("%d is out of range", limit), fmt.Sprintf("give 1 to %d", MaxChainLimit))
	}
	if limit == 0 {
		limit = DefaultChainLimit
	}
	if err := r.mustExist(ctx, correlationID); err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, sqlLineageChain, correlationID, MaxChainDepth, limit+1)
	if err != nil {
		return nil, fmt.Errorf("reading the lineage chain of %s: %w", correlationID, err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (LineageChainEntry, error) {
		var e LineageChainEntry
		var (
			parent, batch, inputHash *string
			meta, errorInfo          []byte
			completed                *time.Time
		)
		err := row.Scan(&e.Depth, &e.ID, &e.CorrelationID, &parent, &batch, &e.ExecutionID, &e.RouteID, &e.AdapterName,
			&e.AdapterIndex, &e.StageName, &e.StageStatus, &inputHash, &e.StartedAt, &completed,
			&e.DurationMS, &meta, &errorInfo)
		if err != nil {
			return e, err
		}
		e.CompletedAt = timeOrZero(completed)
		e.ParentCorrelationID, e.ReplayBatchID, e.InputHash = textOrEmpty(parent), textOrEmpty(batch), textOrEmpty(inputHash)
		if e.Metadata, err = decodeMap[any](meta); err != nil {
			return e, err
		}
		e.ErrorInfo, err = decodeMap[any](errorInfo)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the lineage chain of %s: %w", correlationID, err)
	}
	out := &LineageChain{CorrelationID: correlationID, RootCorrelationID: correlationID, Entries: entries}
	if len(out.Entries) > limit {
		out.Entries, out.Truncated = out.Entries[:limit], true
	}
	seen := map[string]bool{}
	minDepth := 0
	for _, e := range out.Entries {
		if e.Depth <= -MaxChainDepth || e.Depth >= MaxChainDepth {
			out.Truncated = true
		}
		if seen[e.CorrelationID] {
			continue
		}
		seen[e.CorrelationID] = true
		switch {
		case e.Depth < 0:
			out.Ancestors++
			if e.Depth < minDepth {
				minDepth, out.RootCorrelationID = e.Depth, e.CorrelationID
			}
		case e.Depth > 0:
			out.Descendants++
		}
	}
	if out.Entries == nil {
		out.Entries = []LineageChainEntry{}
	}
	return out, nil
}

// LineageStatsFilter scopes Stats; zero fields do not filter.
type LineageStatsFilter struct {
	ExecutionID string
	StartedFrom time.Time
	StartedTo   time.Time
}

// LineageGroupStats are the figures of one route/adapter.
type LineageGroupStats struct {
	RouteID       string           `json:"route_id"`
	AdapterName   string           `json:"adapter_name"`
	Total         int64            `json:"total"`
	ByStatus      map[string]int64 `json:"by_status"`
	FailureRate   float64          `json:"failure_rate" doc:"Failed rows / all rows, 0..1"`
	AvgDurationMS float64          `json:"avg_duration_ms"`
	P50DurationMS float64          `json:"p50_duration_ms"`
	P95DurationMS float64          `json:"p95_duration_ms"`
}

// LineageStats summarises lineage rows.
type LineageStats struct {
	Total         int64            `json:"total"`
	ByStatus      map[string]int64 `json:"by_status"`
	FailureRate   float64          `json:"failure_rate" doc:"Failed rows / all rows, 0..1"`
	AvgDurationMS float64          `json:"avg_duration_ms"`
	P50DurationMS float64          `json:"p50_duration_ms"`
	P95DurationMS float64          `json:"p95_duration_ms"`
	// FirstStarted and LastCompleted span the rows; Throughput is rows per
	// second over that span (0 when it is empty).
	FirstStarted  *time.Time          `json:"first_started,omitempty"`
	LastCompleted *time.Time          `json:"last_completed,omitempty"`
	Throughput    float64             `json:"throughput_per_s"`
	Groups        []LineageGroupStats `json:"groups"`
}

// sqlLineageStats aggregates per route/adapter and status in one pass;
// GROUPING SETS give the per-group and overall figures together. The
// percentiles are computed over all the group's rows.
const sqlLineageStats = `SELECT grouping(route_id, adapter_name) AS g, route_id, adapter_name,
count(*), count(*) FILTER (WHERE stage_status = 'completed'), count(*) FILTER (WHERE stage_status = 'failed'),
count(*) FILTER (WHERE stage_status = 'skipped'), count(*) FILTER (WHERE stage_status = 'retrying'),
coalesce(avg(duration_ms), 0),
coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), 0),
coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms), 0),
min(started_at), max(completed_at)
FROM lineage %s
GROUP BY GROUPING SETS ((route_id, adapter_name), ())
ORDER BY g DESC, route_id, adapter_name`

// Stats counts rows by status, and per route and adapter gives counts,
// failure rate and average, median and 95th percentile durations.
func (r *Lineage) Stats(ctx context.Context, f LineageStatsFilter) (*LineageStats, error) {
	w, err := LineageFilter{ExecutionID: f.ExecutionID, StartedFrom: f.StartedFrom, StartedTo: f.StartedTo}.where()
	if err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, fmt.Sprintf(sqlLineageStats, w.sql()), w.args...)
	if err != nil {
		return nil, fmt.Errorf("aggregating lineage: %w", err)
	}
	defer rows.Close()
	out := &LineageStats{ByStatus: map[string]int64{}, Groups: []LineageGroupStats{}}
	for rows.Next() {
		var (
			g                                     int
			route, adapter                        *string
			total, completed, failed, skip, retry int64
			avg, p50, p95                         float64
			first, last                           *time.Time
		)
		if err := rows.Scan(&g, &route, &adapter, &total, &completed, &failed, &skip, &retry, &avg, &p50, &p95,
			&first, &last); err != nil {
			return nil, fmt.Errorf("aggregating lineage: %w", err)
		}
		byStatus := map[string]int64{}
		for s, n := range map[string]int64{StageCompleted: completed, StageFailed: failed, StageSkipped: skip, StageRetrying: retry} {
			if n > 0 {
				byStatus[s] = n
			}
		}
		rate := 0.0
		if total > 0 {
			rate = float64(failed) / float64(total)
		}
		if g != 0 {
			out.Total, out.ByStatus, out.FailureRate = total, byStatus, rate
			out.AvgDurationMS, out.P50DurationMS, out.P95DurationMS = avg, p50, p95
			out.FirstStarted, out.LastCompleted = first, last
			continue
		}
		out.Groups = append(out.Groups, LineageGroupStats{RouteID: textOrEmpty(route), AdapterName: textOrEmpty(adapter),
			Total: total, ByStatus: byStatus, FailureRate: rate, AvgDurationMS: avg, P50DurationMS: p50, P95DurationMS: p95})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregating lineage: %w", err)
	}
	if out.FirstStarted != nil && out.LastCompleted != nil {
		if span := out.LastCompleted.Sub(*out.FirstStarted).Seconds(); span > 0 {
			out.Throughput = float64(out.Total) / span
		}
	}
	return out, nil
}

// IsLineageFilterError returns the field an invalid-filter error names.
func IsLineageFilterError(err error) (field string, ok bool) {
	var fe *LineageFilterError
	if errors.As(err, &fe) {
		return fe.Field, true
	}
	return "", false
}
