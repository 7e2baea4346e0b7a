package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lineage reads the lineage table. Rows are written only by LineageWriter.
type Lineage struct{ pool *pgxpool.Pool }

// lineageColumns is the column order of the table, of COPY and of reads.
var lineageColumns = []string{"id", "correlation_id", "parent_correlation_id", "replay_batch_id",
	"execution_id", "route_id", "adapter_name", "adapter_index", "stage_name", "stage_status",
	"input_hash", "started_at", "completed_at", "duration_ms", "metadata", "error_info"}

const lineageSelect = `SELECT id, correlation_id, parent_correlation_id, replay_batch_id, execution_id, route_id,
adapter_name, adapter_index, stage_name, stage_status, input_hash, started_at, completed_at, duration_ms,
metadata, error_info FROM lineage `

const (
	sqlLineageByExecution = lineageSelect + `WHERE execution_id = $1
ORDER BY started_at, id LIMIT $2 OFFSET $3`
	sqlLineageCountByExecution = `SELECT count(*) FROM lineage WHERE execution_id = $1`
	sqlLineageByCorrelation    = lineageSelect + `WHERE correlation_id = $1 ORDER BY started_at, adapter_index, id`
	sqlLineageRouteCounts      = `SELECT route_id, stage_status, count(*) FROM lineage
WHERE execution_id = $1 GROUP BY route_id, stage_status`
)

func scanLineage(row pgx.CollectableRow) (LineageEntry, error) {
	var (
		e                        LineageEntry
		parent, batch, inputHash *string
		meta, errorInfo          []byte
		completed                *time.Time
	)
	if err := row.Scan(&e.ID, &e.CorrelationID, &parent, &batch, &e.ExecutionID, &e.RouteID, &e.AdapterName,
		&e.AdapterIndex, &e.StageName, &e.StageStatus, &inputHash, &e.StartedAt, &completed,
		&e.DurationMS, &meta, &errorInfo); err != nil {
		return e, err
	}
	e.CompletedAt = timeOrZero(completed)
	e.ParentCorrelationID, e.ReplayBatchID, e.InputHash = textOrEmpty(parent), textOrEmpty(batch), textOrEmpty(inputHash)
	var err error
	if e.Metadata, err = decodeMap[any](meta); err != nil {
		return e, err
	}
	e.ErrorInfo, err = decodeMap[any](errorInfo)
	return e, err
}

// ByExecution returns an execution's lineage in start order, one page.
func (r *Lineage) ByExecution(ctx context.Context, executionID string, limit, offset int) (Page[LineageEntry], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[LineageEntry]{Limit: limit, Offset: offset, Items: []LineageEntry{}}
	if _, ok := validID(executionID); !ok {
		return page, notFound(CodeExecutionNotFound, "execution", executionID)
	}
	if err := r.pool.QueryRow(ctx, sqlLineageCountByExecution, executionID).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting lineage of execution %s: %w", executionID, err)
	}
	rows, err := r.pool.Query(ctx, sqlLineageByExecution, executionID, limit, offset)
	if err != nil {
		return page, fmt.Errorf("reading lineage of execution %s: %w", executionID, err)
	}
	items, err := pgx.CollectRows(rows, scanLineage)
	if err != nil {
		return page, fmt.Errorf("reading lineage of execution %s: %w", executionID, err)
	}
	page.Items = append(page.Items, items...)
	return page, nil
}

// ByCorrelation returns every adapter invocation recorded for one message.
func (r *Lineage) ByCorrelation(ctx context.Context, correlationID string) ([]LineageEntry, error) {
	rows, err := r.pool.Query(ctx, sqlLineageByCorrelation, correlationID)
	if err != nil {
		return nil, fmt.Errorf("reading lineage of message %s: %w", correlationID, err)
	}
	out, err := pgx.CollectRows(rows, scanLineage)
	if err != nil {
		return nil, fmt.Errorf("reading lineage of message %s: %w", correlationID, err)
	}
	return out, nil
}

// RouteCounts counts an execution's lineage rows per route and stage status:
// counts[route][stage_status].
func (r *Lineage) RouteCounts(ctx context.Context, executionID string) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	if _, ok := validID(executionID); !ok {
		return out, notFound(CodeExecutionNotFound, "execution", executionID)
	}
	rows, err := r.pool.Query(ctx, sqlLineageRouteCounts, executionID)
	if err != nil {
		return nil, fmt.Errorf("counting lineage of execution %s: %w", executionID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			route, status string
			n             int64
		)
		if err := rows.Scan(&route, &status, &n); err != nil {
			return nil, fmt.Errorf("counting lineage of execution %s: %w", executionID, err)
		}
		if out[route] == nil {
			out[route] = map[string]int64{}
		}
		out[route][status] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting lineage of execution %s: %w", executionID, err)
	}
	return out, nil
}

// AdapterCounts are one adapter's lineage rows in an execution.
type AdapterCounts struct {
	RouteID       string
	AdapterName   string
	AdapterIndex  int
	ByStatus      map[string]int64
	AvgDurationMS float64 // over completed rows
	FirstStarted  time.Time
	LastCompleted time.Time
}

const sqlLineageAdapterCounts = `SELECT route_id, adapter_name, adapter_index, stage_status, count(*),
coalesce(avg(duration_ms), 0), min(started_at), max(completed_at)
FROM lineage WHERE execution_id = $1
GROUP BY route_id, adapter_name, adapter_index, stage_status
ORDER BY route_id, adapter_index, adapter_name`

// AdapterCounts aggregates an execution's lineage per adapter: counts per
// stage status, mean duration of completed rows, and the time span.
func (r *Lineage) AdapterCounts(ctx context.Context, executionID string) ([]AdapterCounts, error) {
	if _, ok := validID(executionID); !ok {
		return nil, notFound(CodeExecutionNotFound, "execution", executionID)
	}
	rows, err := r.pool.Query(ctx, sqlLineageAdapterCounts, executionID)
	if err != nil {
		return nil, fmt.Errorf("aggregating lineage of execution %s: %w", executionID, err)
	}
	defer rows.Close()
	var out []AdapterCounts
	index := map[[2]string]int{}
	for rows.Next() {
		var (
			route, name, status string
			idx                 int
			n                   int64
			avg                 float64
			first               time.Time
			last                *time.Time
		)
		if err := rows.Scan(&route, &name, &idx, &status, &n, &avg, &first, &last); err != nil {
			return nil, fmt.Errorf("aggregating lineage of execution %s: %w", executionID, err)
		}
		k := [2]string{route, fmt.Sprintf("%d/%s", idx, name)}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, AdapterCounts{RouteID: route, AdapterName: name, AdapterIndex: idx,
				ByStatus: map[string]int64{}, FirstStarted: first})
		}
		c := &out[i]
		c.ByStatus[status] = n
		if status == StageCompleted {
			c.AvgDurationMS = avg
		}
		if first.Before(c.FirstStarted) {
			c.FirstStarted = first
		}
		if last != nil && last.After(c.LastCompleted) {
			c.LastCompleted = *last
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregating lineage of execution %s: %w", executionID, err)
	}
	return out, nil
}
