package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Events stores execution timelines. Event ids are UUIDv7, so listing by id
// is listing by time, and a client resumes a stream from the last id it saw.
type Events struct{ pool *pgxpool.Pool }

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const (
	sqlEventInsert = `INSERT INTO execution_events (id, execution_id, type, status, route, reason, data)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING created_at`

	sqlEventList = `SELECT id, execution_id, type, status, route, reason, data, created_at
FROM execution_events
WHERE execution_id = $1 AND ($2::uuid IS NULL OR id > $2)
ORDER BY id LIMIT $3`
)

// Append records an event and returns it with its id (a new UUIDv7 unless
// set) and creation time. Status events are recorded by
// Executions.SetStatus; use Append for progress, stage and dead-letter
// events.
func (r *Events) Append(ctx context.Context, ev ExecutionEvent) (ExecutionEvent, error) {
	return appendEvent(ctx, r.pool, ev)
}

func appendEvent(ctx context.Context, q querier, ev ExecutionEvent) (ExecutionEvent, error) {
	if ev.Type == "" {
		return ev, invalidArg("event type is empty", "use status, progress, stage or dead_letter")
	}
	if _, ok := validID(ev.ExecutionID); !ok {
		return ev, notFound(CodeExecutionNotFound, "execution", ev.ExecutionID)
	}
	if ev.ID == "" {
		var err error
		if ev.ID, err = NewID(); err != nil {
			return ev, err
		}
	} else if _, ok := validID(ev.ID); !ok {
		return ev, invalidArg(fmt.Sprintf("event id %q is not a UUID", ev.ID), "leave the id empty to have one generated")
	}
	data, err := jsonbMap(ev.Data)
	if err != nil {
		return ev, err
	}
	err = q.QueryRow(ctx, sqlEventInsert, ev.ID, ev.ExecutionID, ev.Type, nullText(string(ev.Status)),
		nullText(ev.Route), nullText(ev.Reason), data).Scan(&ev.CreatedAt)
	if err != nil {
		if code, _ := pgCode(err); code == sqlstateForeignKeyViolation {
			return ev, notFound(CodeExecutionNotFound, "execution", ev.ExecutionID)
		}
		return ev, fmt.Errorf("recording %s event of execution %s: %w", ev.Type, ev.ExecutionID, err)
	}
	return ev, nil
}

// List returns up to limit events of an execution after afterID (exclusive;
// "" from the start), oldest first. afterID is typically an SSE
// Last-Event-ID.
func (r *Events) List(ctx context.Context, executionID, afterID string, limit int) ([]ExecutionEvent, error) {
	limit, _ = clampPage(limit, 0)
	if _, ok := validID(executionID); !ok {
		return nil, notFound(CodeExecutionNotFound, "execution", executionID)
	}
	after, err := optionalID("event id", afterID)
	if err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, sqlEventList, executionID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing events of execution %s: %w", executionID, err)
	}
	out, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("listing events of execution %s: %w", executionID, err)
	}
	return out, nil
}

const sqlEventLatest = `SELECT id, execution_id, type, status, route, reason, data, created_at
FROM execution_events WHERE execution_id = $1 AND type = $2 ORDER BY id DESC LIMIT 1`

// Latest returns the newest event of a type, or ErrNotFound.
func (r *Events) Latest(ctx context.Context, executionID, typ string) (ExecutionEvent, error) {
	if _, ok := validID(executionID); !ok {
		return ExecutionEvent{}, notFound(CodeExecutionNotFound, "execution", executionID)
	}
	rows, err := r.pool.Query(ctx, sqlEventLatest, executionID, typ)
	if err != nil {
		return ExecutionEvent{}, fmt.Errorf("reading the latest %s event of execution %s: %w", typ, executionID, err)
	}
	evs, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return ExecutionEvent{}, fmt.Errorf("reading the latest %s event of execution %s: %w", typ, executionID, err)
	}
	if len(evs) == 0 {
		return ExecutionEvent{}, notFound(CodeNotFound, typ+" event of execution", executionID)
	}
	return evs[0], nil
}

func scanEvent(row pgx.CollectableRow) (ExecutionEvent, error) {
	var (
		ev                    ExecutionEvent
		status, route, reason *string
		data                  []byte
	)
	if err := row.Scan(&ev.ID, &ev.ExecutionID, &ev.Type, &status, &route, &reason, &data, &ev.CreatedAt); err != nil {
		return ev, err
	}
	ev.Status, ev.Route, ev.Reason = ExecutionStatus(textOrEmpty(status)), textOrEmpty(route), textOrEmpty(reason)
	var err error
	ev.Data, err = decodeMap[any](data)
	return ev, err
}
