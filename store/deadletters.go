package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DeadLetters is the dead-letter queue of record: a message the engine gave
// up on is inserted here before it is acked on the broker.
type DeadLetters struct{ pool *pgxpool.Pool }

const deadLetterColumns = `id, execution_id, route, adapter, queue, correlation_id, payload, headers, reason,
error_class, attempt, first_failed_at, created_at, requeued_at, requeued_as`

const (
	sqlDeadLetterInsert = `INSERT INTO dead_letters (id, execution_id, route, adapter, queue, correlation_id, payload,
    headers, reason, error_class, attempt, first_failed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, COALESCE($12, now()))
RETURNING first_failed_at, created_at`

	sqlDeadLetterGet = `SELECT ` + deadLetterColumns + ` FROM dead_letters WHERE id = $1`

	sqlDeadLetterGetMany = `SELECT ` + deadLetterColumns + ` FROM dead_letters WHERE id = ANY($1::uuid[])
ORDER BY created_at, id`

	sqlDeadLetterCountPending = `SELECT count(*) FROM dead_letters WHERE execution_id = $1 AND requeued_at IS NULL`

	sqlDeadLetterDelete = `DELETE FROM dead_letters WHERE id = $1`

	sqlDeadLetterMarkRequeued = `UPDATE dead_letters SET requeued_at = $3, requeued_as = $2
WHERE id = $1 AND requeued_at IS NULL`

	sqlDeadLetterRequeuedAs = `SELECT requeued_as FROM dead_letters WHERE id = $1`
)

// Dead-letter states a filter selects.
const (
	// DeadLetterPending: not requeued yet (the default).
	DeadLetterPending = "pending"
	// DeadLetterRequeued: put back into its execution; kept as a record.
	DeadLetterRequeued = "requeued"
	// DeadLetterAll: both.
	DeadLetterAll = "all"
)

// CodeDeadLetterRequeued: the dead letter was already requeued, as another
// message; requeueing it again would run the work twice.
const CodeDeadLetterRequeued = "DEAD_LETTER_ALREADY_REQUEUED"

// MaxDeadLetterSelect caps one Select, whatever max asks for.
const MaxDeadLetterSelect = 10000

// DeadLetterFilter selects dead letters. Empty fields match all; State ""
// is DeadLetterPending. Since includes, Until excludes (on created_at, the
// time the message was given up on).
type DeadLetterFilter struct {
	ExecutionID string
	Route       string
	Adapter     string
	ErrorClass  string
	Since       time.Time
	Until       time.Time
	State       string
	Limit       int
	Offset      int
}

// where renders the filter as a WHERE clause with its arguments, numbered
// from $1.
func (f DeadLetterFilter) where() (string, []any, error) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.ExecutionID != "" {
		id, ok := validID(f.ExecutionID)
		if !ok {
			return "", nil, invalidArg(fmt.Sprintf("execution id %q is not a UUID", f.ExecutionID), "pass the id as a UUID")
		}
		add("execution_id = $%d", id)
	}
	if f.Route != "" {
		add("route = $%d", f.Route)
	}
	if f.Adapter != "" {
		add("adapter = $%d", f.Adapter)
	}
	if f.ErrorClass != "" {
		add("error_class = $%d", f.ErrorClass)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return "", nil, invalidArg("until must be after since", "swap the two times or widen the range")
	}
	if !f.Since.IsZero() {
		add("created_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("created_at < $%d", f.Until)
	}
	switch f.State {
	case "", DeadLetterPending:
		conds = append(conds, "requeued_at IS NULL")
	case DeadLetterRequeued:
		conds = append(conds, "requeued_at IS NOT NULL")
	case DeadLetterAll:
	default:
		return "", nil, invalidArg(fmt.Sprintf("unknown dead-letter state %q", f.State), "use pending, requeued or all")
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// IsEmpty reports whether the filter selects on nothing but the state (and
// paging): every dead letter of that state.
func (f DeadLetterFilter) IsEmpty() bool {
	return f.ExecutionID == "" && f.Route == "" && f.Adapter == "" && f.ErrorClass == "" &&
		f.Since.IsZero() && f.Until.IsZero()
}

func scanDeadLetter(row pgx.Row) (*DeadLetter, error) {
	var (
		d          DeadLetter
		headers    []byte
		requeuedAs *string
	)
	if err := row.Scan(&d.ID, &d.ExecutionID, &d.Route, &d.Adapter, &d.Queue, &d.CorrelationID, &d.Payload,
		&headers, &d.Reason, &d.ErrorClass, &d.Attempt, &d.FirstFailedAt, &d.CreatedAt, &d.RequeuedAt, &requeuedAs); err != nil {
		return nil, err
	}
	if requeuedAs != nil {
		d.RequeuedAs = *requeuedAs
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

// List returns the dead letters the filter selects, oldest first (created_at,
// id), a page at a time.
func (r *DeadLetters) List(ctx context.Context, f DeadLetterFilter) (Page[DeadLetter], error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	page := Page[DeadLetter]{Limit: limit, Offset: offset, Items: []DeadLetter{}}
	where, args, err := f.where()
	if err != nil {
		return page, err
	}
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters`+where, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting dead letters: %w", err)
	}
	n := len(args)
	q := `SELECT ` + deadLetterColumns + ` FROM dead_letters` + where +
		fmt.Sprintf(` ORDER BY created_at, id LIMIT $%d OFFSET $%d`, n+1, n+2)
	items, err := r.query(ctx, q, append(args, limit, offset)...)
	if err != nil {
		return page, fmt.Errorf("listing dead letters: %w", err)
	}
	for _, d := range items {
		page.Items = append(page.Items, *d)
	}
	return page, nil
}

// Select returns up to max dead letters the filter selects (its Limit and
// Offset are ignored) in the order they were given up on, the order a
// requeue republishes them in. max <= 0 or over MaxDeadLetterSelect is
// MaxDeadLetterSelect.
func (r *DeadLetters) Select(ctx context.Context, f DeadLetterFilter, max int) ([]*DeadLetter, error) {
	if max <= 0 || max > MaxDeadLetterSelect {
		max = MaxDeadLetterSelect
	}
	where, args, err := f.where()
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + deadLetterColumns + ` FROM dead_letters` + where +
		fmt.Sprintf(` ORDER BY created_at, id LIMIT $%d`, len(args)+1)
	items, err := r.query(ctx, q, append(args, max)...)
	if err != nil {
		return nil, fmt.Errorf("selecting dead letters: %w", err)
	}
	return items, nil
}

// GetMany returns the dead letters with these ids, oldest first, and the
// ids that match none (ids that are not UUIDs among them), in the order
// given. Duplicate ids count once.
func (r *DeadLetters) GetMany(ctx context.Context, ids []string) (found []*DeadLetter, missing []string, err error) {
	valid := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, raw := range ids {
		if id, ok := validID(raw); ok {
			if !seen[id] {
				seen[id] = true
				valid = append(valid, id)
			}
		}
	}
	if len(valid) > 0 {
		if found, err = r.query(ctx, sqlDeadLetterGetMany, valid); err != nil {
			return nil, nil, fmt.Errorf("reading %d dead letters: %w", len(valid), err)
		}
	}
	got := make(map[string]bool, len(found))
	for _, d := range found {
		got[d.ID] = true
	}
	reported := map[string]bool{}
	for _, raw := range ids {
		id, ok := validID(raw)
		if (ok && got[id]) || reported[raw] {
			continue
		}
		reported[raw] = true
		missing = append(missing, raw)
	}
	return found, missing, nil
}

func (r *DeadLetters) query(ctx context.Context, q string, args ...any) ([]*DeadLetter, error) {
	rows, err := r.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*DeadLetter{}
	for rows.Next() {
		d, err := scanDeadLetter(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// CountByExecution counts an execution's pending dead letters: the ones
// still to requeue or discard. A requeued row stays as a record but the
// work it held is back in the execution, so it no longer counts (the
// per-route dead_lettered counters keep the history).
func (r *DeadLetters) CountByExecution(ctx context.Context, executionID string) (int, error) {
	exec, err := optionalID("execution id", executionID)
	if err != nil || exec == nil {
		return 0, notFound(CodeExecutionNotFound, "execution", executionID)
	}
	var n int
	if err := r.pool.QueryRow(ctx, sqlDeadLetterCountPending, exec).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting dead letters of execution %s: %w", executionID, err)
	}
	return n, nil
}

// MarkRequeued records that dead letter id was put back into its execution
// as message newMessageID. Only a pending dead letter can be marked: one
// already requeued as another message answers CodeDeadLetterRequeued
// (ErrConflict), so that two requeues racing for the same row cannot both
// win. Marking again with the same message id is a no-op, so a retried
// call is safe.
func (r *DeadLetters) MarkRequeued(ctx context.Context, id, newMessageID string, at time.Time) error {
	if _, ok := validID(id); !ok {
		return notFound(CodeNotFound, "dead letter", id)
	}
	if newMessageID == "" {
		return invalidArg("a requeued dead letter needs the id of its new message", "pass the id of the message the requeue published")
	}
	if at.IsZero() {
		at = time.Now()
	}
	tag, err := r.pool.Exec(ctx, sqlDeadLetterMarkRequeued, id, newMessageID, at)
	if err != nil {
		return fmt.Errorf("marking dead letter %s requeued: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var as *string
	err = r.pool.QueryRow(ctx, sqlDeadLetterRequeuedAs, id).Scan(&as)
	if isNoRows(err) {
		return notFound(CodeNotFound, "dead letter", id)
	}
	if err != nil {
		return fmt.Errorf("reading dead letter %s: %w", id, err)
	}
	if as != nil && *as == newMessageID {
		return nil
	}
	prev := ""
	if as != nil {
		prev = *as
	}
	return &Error{Code: CodeDeadLetterRequeued, Kind: ErrConflict,
		Msg:  fmt.Sprintf("dead letter %s was already requeued as message %s", id, prev),
		Hint: "follow the new message in lineage; list with state=requeued to see requeued dead letters"}
}

// DeleteMatching removes every dead letter the filter selects (its Limit
// and Offset are ignored) and returns how many went.
func (r *DeadLetters) DeleteMatching(ctx context.Context, f DeadLetterFilter) (int, error) {
	where, args, err := f.where()
	if err != nil {
		return 0, err
	}
	tag, err := r.pool.Exec(ctx, `DELETE FROM dead_letters`+where, args...)
	if err != nil {
		return 0, fmt.Errorf("deleting dead letters: %w", err)
	}
	return int(tag.RowsAffected()), nil
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
