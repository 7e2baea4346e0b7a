package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ExecutionFilter selects executions for List. Empty fields match all.
type ExecutionFilter struct {
	Status            ExecutionStatus
	ConfigID          string
	ParentExecutionID string
	Limit, Offset     int
}

// StatusChange is the outcome of a successful SetStatus.
type StatusChange struct {
	From      ExecutionStatus
	Execution *Execution
	// Event is the status event recorded with the change, ready to publish.
	Event ExecutionEvent
}

// Executions stores executions and their status changes.
type Executions struct{ pool *pgxpool.Pool }

// idempotencyLockSpace namespaces the advisory locks of CreateIdempotent
// (two-key form, separate from the migration lock's one-key form).
const idempotencyLockSpace int32 = 0x66665f69 // "ff_i"

const executionColumns = `id, config_id, config_name, status, tag, config_snapshot, root_correlation_id,
parent_execution_id, replay_source, metadata, error_info, idempotency_key, created_at, started_at,
completed_at, updated_at, owner_id, queue_ref`

const (
	sqlExecutionInsert = `INSERT INTO executions (id, config_id, config_name, status, tag, config_snapshot,
    root_correlation_id, parent_execution_id, replay_source, metadata, error_info, idempotency_key,
    started_at, owner_id, queue_ref)
VALUES ($1, $2, COALESCE(NULLIF($3, ''), (SELECT name FROM pipeline_configs WHERE id = $2), ''), $4, $5, $6,
    $7, $8, $9, $10, $11, $12,
    CASE WHEN $4 = 'running' THEN now() END, $13, $14)
RETURNING ` + executionColumns

	sqlExecutionGet        = `SELECT ` + executionColumns + ` FROM executions WHERE id = $1`
	sqlExecutionGetByTag   = `SELECT ` + executionColumns + ` FROM executions WHERE tag = $1`
	sqlExecutionGetForLock = `SELECT status FROM executions WHERE id = $1 FOR UPDATE`

	sqlExecutionList = `SELECT ` + executionColumns + ` FROM executions
WHERE ($1 = '' OR status = $1)
  AND ($2::uuid IS NULL OR config_id = $2)
  AND ($3::uuid IS NULL OR parent_execution_id = $3)
ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5`

	sqlExecutionCount = `SELECT count(*) FROM executions
WHERE ($1 = '' OR status = $1)
  AND ($2::uuid IS NULL OR config_id = $2)
  AND ($3::uuid IS NULL OR parent_execution_id = $3)`

	sqlExecutionSetStatus = `UPDATE executions
SET status = $2,
    error_info = COALESCE($3, error_info),
    started_at = CASE WHEN $2 = 'running' THEN COALESCE(started_at, now()) ELSE started_at END,
    completed_at = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') THEN now() ELSE completed_at END,
    updated_at = now()
WHERE id = $1
RETURNING ` + executionColumns

	sqlExecutionByIdempotencyKey = `SELECT ` + executionColumns + ` FROM executions
WHERE idempotency_key = $1 AND ($2::interval IS NULL OR created_at >= now() - $2::interval)
ORDER BY created_at DESC LIMIT 1`

	sqlIdempotencyLock = `SELECT pg_advisory_xact_lock($1, hashtext($2))`
)

func scanExecution(row pgx.Row) (*Execution, error) {
	var (
		e                                 Execution
		configID, tag, root, parent, idem *string
		owner, queueRef                   *string
		snapshot, replay, meta, errorInfo []byte
		status                            string
	)
	if err := row.Scan(&e.ID, &configID, &e.ConfigName, &status, &tag, &snapshot, &root, &parent, &replay,
		&meta, &errorInfo, &idem, &e.CreatedAt, &e.StartedAt, &e.CompletedAt, &e.UpdatedAt, &owner, &queueRef); err != nil {
		return nil, err
	}
	e.Status = ExecutionStatus(status)
	e.ConfigID, e.Tag, e.RootCorrelationID = textOrEmpty(configID), textOrEmpty(tag), textOrEmpty(root)
	e.ParentExecutionID, e.IdempotencyKey = textOrEmpty(parent), textOrEmpty(idem)
	e.OwnerID, e.QueueRef = textOrEmpty(owner), textOrEmpty(queueRef)
	e.ConfigSnapshot, e.ReplaySource = rawOrNil(snapshot), rawOrNil(replay)
	var err error
	if e.Metadata, err = decodeMap[any](meta); err != nil {
		return nil, err
	}
	if e.ErrorInfo, err = decodeMap[any](errorInfo); err != nil {
		return nil, err
	}
	return &e, nil
}

// optionalID validates an optional UUID reference, returning nil for "".
func optionalID(field, s string) (*string, error) {
	if s == "" {
		return nil, nil
	}
	id, ok := validID(s)
	if !ok {
		return nil, invalidArg(fmt.Sprintf("%s %q is not a UUID", field, s), "pass the id as a UUID")
	}
	return &id, nil
}

// Create stores a new execution and records its first status event. It
// fills e.ID (a UUIDv7 unless set), Status (pending unless set; only pending
// or running are accepted, running also sets StartedAt), ConfigName
// (from the config unless set) and the timestamps. A tag already in use is
// an ErrConflict with code EXECUTION_TAG_TAKEN.
func (r *Executions) Create(ctx context.Context, e *Execution) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		return r.create(ctx, tx, e)
	})
}

// CreateIdempotent is Create for requests carrying an idempotency key: if an
// execution with e.IdempotencyKey was created within the window, e is
// replaced by it and created is false. Concurrent calls with one key are
// serialised, so exactly one of them creates. A zero window means forever.
func (r *Executions) CreateIdempotent(ctx context.Context, e *Execution, within time.Duration) (created bool, err error) {
	if e.IdempotencyKey == "" {
		return true, r.Create(ctx, e)
	}
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlIdempotencyLock, idempotencyLockSpace, e.IdempotencyKey); err != nil {
			return fmt.Errorf("locking idempotency key: %w", err)
		}
		existing, err := scanExecution(tx.QueryRow(ctx, sqlExecutionByIdempotencyKey, e.IdempotencyKey, intervalParam(within)))
		switch {
		case err == nil:
			*e = *existing
			return nil
		case !isNoRows(err):
			return fmt.Errorf("looking up idempotency key: %w", err)
		}
		created = true
		return r.create(ctx, tx, e)
	})
	return created, err
}

func (r *Executions) create(ctx context.Context, tx pgx.Tx, e *Execution) error {
	if e.Status == "" {
		e.Status = StatusPending
	}
	if e.Status != StatusPending && e.Status != StatusRunning {
		return invalidArg(fmt.Sprintf("an execution cannot start as %q", e.Status), "create it pending or running")
	}
	id := e.ID
	if id == "" {
		var err error
		if id, err = NewID(); err != nil {
			return err
		}
	} else if _, ok := validID(id); !ok {
		return invalidArg(fmt.Sprintf("execution id %q is not a UUID", id), "leave the id empty to have one generated")
	}
	configID, err := optionalID("config id", e.ConfigID)
	if err != nil {
		return err
	}
	parentID, err := optionalID("parent execution id", e.ParentExecutionID)
	if err != nil {
		return err
	}
	snapshot, err := jsonbRaw(e.ConfigSnapshot)
	if err != nil {
		return err
	}
	replay, err := jsonbRaw(e.ReplaySource)
	if err != nil {
		return err
	}
	meta, err := jsonbMap(e.Metadata)
	if err != nil {
		return err
	}
	errorInfo, err := jsonbMap(e.ErrorInfo)
	if err != nil {
		return err
	}
	stored, err := scanExecution(tx.QueryRow(ctx, sqlExecutionInsert, id, configID, e.ConfigName, string(e.Status),
		nullText(e.Tag), snapshot, nullText(e.RootCorrelationID), parentID, replay, meta, errorInfo,
		nullText(e.IdempotencyKey), nullText(e.OwnerID), nullText(e.QueueRef)))
	if err != nil {
		code, constraint := pgCode(err)
		switch {
		case code == sqlstateUniqueViolation && constraint == "executions_tag_key":
			return &Error{Code: CodeTagTaken, Kind: ErrConflict, Msg: fmt.Sprintf("tag %q is already used by another execution", e.Tag),
				Hint: "choose another tag or omit it"}
		case code == sqlstateUniqueViolation:
			return &Error{Code: CodeConflict, Kind: ErrConflict, Msg: fmt.Sprintf("execution %s already exists", id), Cause: err}
		case code == sqlstateForeignKeyViolation && constraint == "executions_config_id_fkey":
			return notFound(CodeConfigNotFound, "config", e.ConfigID)
		case code == sqlstateForeignKeyViolation:
			return notFound(CodeExecutionNotFound, "parent execution", e.ParentExecutionID)
		}
		return fmt.Errorf("creating execution: %w", err)
	}
	if _, err := appendEvent(ctx, tx, ExecutionEvent{ExecutionID: stored.ID, Type: EventStatus,
		Status: stored.Status, Reason: "created"}); err != nil {
		return err
	}
	*e = *stored
	return nil
}

// Get returns the execution with the given id.
func (r *Executions) Get(ctx context.Context, id string) (*Execution, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeExecutionNotFound, "execution", id)
	}
	e, err := scanExecution(r.pool.QueryRow(ctx, sqlExecutionGet, id))
	if isNoRows(err) {
		return nil, notFound(CodeExecutionNotFound, "execution", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading execution %s: %w", id, err)
	}
	return e, nil
}

// GetByIDOrTag resolves what a user typed: an execution UUID or a tag.
func (r *Executions) GetByIDOrTag(ctx context.Context, ref string) (*Execution, error) {
	if _, ok := validID(ref); ok {
		e, err := r.Get(ctx, ref)
		if err == nil || !isNotFound(err) {
			return e, err
		}
	}
	e, err := scanExecution(r.pool.QueryRow(ctx, sqlExecutionGetByTag, ref))
	if isNoRows(err) {
		return nil, notFound(CodeExecutionNotFound, "execution (id or tag)", ref)
	}
	if err != nil {
		return nil, fmt.Errorf("reading execution %q: %w", ref, err)
	}
	return e, nil
}

// List returns executions matching f, newest first, with the total count.
func (r *Executions) List(ctx context.Context, f ExecutionFilter) (Page[Execution], error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	page := Page[Execution]{Limit: limit, Offset: offset, Items: []Execution{}}
	if f.Status != "" && !f.Status.Valid() {
		return page, invalidArg(fmt.Sprintf("unknown execution status %q", f.Status),
			"use pending, running, completed, failed, cancelling, cancelled or interrupted")
	}
	configID, err := optionalID("config id", f.ConfigID)
	if err != nil {
		return page, err
	}
	parentID, err := optionalID("parent execution id", f.ParentExecutionID)
	if err != nil {
		return page, err
	}
	status := string(f.Status)
	if err := r.pool.QueryRow(ctx, sqlExecutionCount, status, configID, parentID).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting executions: %w", err)
	}
	rows, err := r.pool.Query(ctx, sqlExecutionList, status, configID, parentID, limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing executions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return page, fmt.Errorf("listing executions: %w", err)
		}
		page.Items = append(page.Items, *e)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing executions: %w", err)
	}
	return page, nil
}

// SetStatus moves an execution to status to if the state machine allows it,
// and records a status event with reason in the same transaction (do not
// Append another one). Entering running sets started_at (once); entering a
// terminal status sets completed_at. errorInfo, when non-nil, replaces the
// stored error info. An illegal move returns a *TransitionError, which
// matches ErrIllegalTransition.
func (r *Executions) SetStatus(ctx context.Context, id string, to ExecutionStatus, reason string, errorInfo map[string]any) (*StatusChange, error) {
	if !to.Valid() {
		return nil, invalidArg(fmt.Sprintf("unknown execution status %q", to), "use one of the documented statuses")
	}
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeExecutionNotFound, "execution", id)
	}
	info, err := jsonbMap(errorInfo)
	if err != nil {
		return nil, err
	}
	var change StatusChange
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var from string
		if err := tx.QueryRow(ctx, sqlExecutionGetForLock, id).Scan(&from); err != nil {
			if isNoRows(err) {
				return notFound(CodeExecutionNotFound, "execution", id)
			}
			return fmt.Errorf("locking execution %s: %w", id, err)
		}
		change.From = ExecutionStatus(from)
		if !CanTransition(change.From, to) {
			return &TransitionError{ExecutionID: id, From: change.From, To: to}
		}
		e, err := scanExecution(tx.QueryRow(ctx, sqlExecutionSetStatus, id, string(to), info))
		if err != nil {
			return fmt.Errorf("setting status of execution %s: %w", id, err)
		}
		change.Execution = e
		change.Event, err = appendEvent(ctx, tx, ExecutionEvent{ExecutionID: id, Type: EventStatus, Status: to,
			Reason: reason, Data: map[string]any{"from": from}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &change, nil
}

// FindByIdempotencyKey returns the newest execution created with key within
// the last within (zero: any age), or ErrNotFound.
func (r *Executions) FindByIdempotencyKey(ctx context.Context, key string, within time.Duration) (*Execution, error) {
	if key == "" {
		return nil, invalidArg("idempotency key is empty", "pass the key the request carried")
	}
	e, err := scanExecution(r.pool.QueryRow(ctx, sqlExecutionByIdempotencyKey, key, intervalParam(within)))
	if isNoRows(err) {
		return nil, notFound(CodeExecutionNotFound, "execution with idempotency key", key)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up idempotency key: %w", err)
	}
	return e, nil
}

func intervalParam(d time.Duration) *time.Duration {
	if d <= 0 {
		return nil
	}
	return &d
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
