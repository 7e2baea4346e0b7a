package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DeadLetters is the dead-letter queue of record: a message the engine gave
// up on is inserted here before it is acked on the broker.
type DeadLetters struct{ pool *pgxpool.Pool }

const deadLetterColumns = `id, execution_id, route, adapter, queue, correlation_id, payload, headers, reason,
error_class, attempt, first_failed_at, created_at`

const (
	sqlDeadLetterInsert = `INSERT INTO dead_letters (id, execution_id, route, adapter, queue, correlation_id, payload,
    headers, reason, error_class, attempt, first_failed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, COALESCE($12, now()))
RETURNING first_failed_at, created_at`

	sqlDeadLetterGet = `SELECT ` + deadLetterColumns + ` FROM dead_letters WHERE id = $1`

	sqlDeadLetterList = `SELECT ` + deadLetterColumns + ` FROM dead_letters
WHERE ($1::uuid IS NULL OR execution_id = $1)
ORDER BY created_at, id LIMIT $2 OFFSET $3`

	sqlDeadLetterCount = `SELECT count(*) FROM dead_letters WHERE ($1::uuid IS NULL OR execution_id = $1)`

	sqlDeadLetterDelete = `DELETE FROM dead_letters WHERE id = $1`
)

func scanDeadLetter(row pgx.Row) (*DeadLetter, error) {
	var (
		d       DeadLetter
		headers []byte
	)
	if err := row.Scan(&d.ID, &d.ExecutionID, &d.Route, &d.Adapter, &d.Queue, &d.CorrelationID, &d.Payload,
		&headers, &d.Reason, &d.ErrorClass, &d.Attempt, &d.FirstFailedAt, &d.CreatedAt); err != nil {
		return nil, err
	}
	var err error
	d.Headers, err = decodeMap[string](headers)
	return &d, err
}

// Insert records a dead letter, filling d.ID (a UUIDv7 unless set),
// FirstFailedAt (now unless set) and CreatedAt. The payload is kept byte for
// byte.
func (r *DeadLetters) Insert(ctx context.Context, d *DeadLetter) error {
	if _, ok := validID(d.ExecutionID); !ok {
		return notFound(CodeExecutionNotFound, "execution", d.ExecutionID)
	}
	if d.Route == "" || d.Queue == "" {
		return invalidArg("dead letter needs a route and a queue", "set Route and Queue")
	}
	if d.ID == "" {
		var err error
		if d.ID, err = NewID(); err != nil {
			return err
		}
	} else if _, ok := validID(d.ID); !ok {
		return invalidArg(fmt.Sprintf("dead letter id %q is not a UUID", d.ID), "leave the id empty to have one generated")
	}
	headers, err := jsonbMap(d.Headers)
	if err != nil {
		return err
	}
	payload := []byte(d.Payload)
	if payload == nil {
		payload = []byte{}
	}
	attempt := d.Attempt
	if attempt < 1 {
		attempt = 1
	}
	err = r.pool.QueryRow(ctx, sqlDeadLetterInsert, d.ID, d.ExecutionID, d.Route, d.Adapter, d.Queue, d.CorrelationID,
		payload, headers, d.Reason, d.ErrorClass, attempt, nullTime(d.FirstFailedAt)).Scan(&d.FirstFailedAt, &d.CreatedAt)
	if err != nil {
		code, _ := pgCode(err)
		switch code {
		case sqlstateForeignKeyViolation:
			return notFound(CodeExecutionNotFound, "execution", d.ExecutionID)
		case sqlstateUniqueViolation:
			return &Error{Code: CodeConflict, Kind: ErrConflict, Msg: fmt.Sprintf("dead letter %s already exists", d.ID), Cause: err}
		}
		return fmt.Errorf("recording dead letter of execution %s route %s: %w", d.ExecutionID, d.Route, err)
	}
	d.Attempt = attempt
	return nil
}

// Get returns one dead letter.
func (r *DeadLetters) Get(ctx context.Context, id string) (*DeadLetter, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeNotFound, "dead letter", id)
	}
	d, err := scanDeadLetter(r.pool.QueryRow(ctx, sqlDeadLetterGet, id))
	if isNoRows(err) {
		return nil, notFound(CodeNotFound, "dead letter", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading dead letter %s: %w", id, err)
	}
	return d, nil
}

// List returns dead letters oldest first, of one execution or of all
// (executionID "").
func (r *DeadLetters) List(ctx context.Context, executionID string, limit, offset int) (Page[DeadLetter], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[DeadLetter]{Limit: limit, Offset: offset, Items: []DeadLetter{}}
	exec, err := optionalID("execution id", executionID)
	if err != nil {
		return page, err
	}
	if err := r.pool.QueryRow(ctx, sqlDeadLetterCount, exec).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting dead letters: %w", err)
	}
	rows, err := r.pool.Query(ctx, sqlDeadLetterList, exec, limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing dead letters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDeadLetter(rows)
		if err != nil {
			return page, fmt.Errorf("listing dead letters: %w", err)
		}
		page.Items = append(page.Items, *d)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing dead letters: %w", err)
	}
	return page, nil
}

// CountByExecution counts an execution's dead letters.
func (r *DeadLetters) CountByExecution(ctx context.Context, executionID string) (int, error) {
	exec, err := optionalID("execution id", executionID)
	if err != nil || exec == nil {
		return 0, notFound(CodeExecutionNotFound, "execution", executionID)
	}
	var n int
	if err := r.pool.QueryRow(ctx, sqlDeadLetterCount, exec).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting dead letters of execution %s: %w", executionID, err)
	}
	return n, nil
}

// Delete removes a dead letter (after a requeue, or when discarded).
func (r *DeadLetters) Delete(ctx context.Context, id string) error {
	if _, ok := validID(id); !ok {
		return notFound(CodeNotFound, "dead letter", id)
	}
	tag, err := r.pool.Exec(ctx, sqlDeadLetterDelete, id)
	if err != nil {
		return fmt.Errorf("deleting dead letter %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(CodeNotFound, "dead letter", id)
	}
	return nil
}
