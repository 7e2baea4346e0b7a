package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Audit results.
const (
	AuditOK     = "ok"
	AuditError  = "error"
	AuditDenied = "denied"
)

// AuditEntry is one mutating API call.
type AuditEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	ActorKind  string    `json:"actor_kind"`
	Action     string    `json:"action"`
	Method     string    `json:"method"`
	Target     string    `json:"target"`
	Status     int       `json:"status"`
	Result     string    `json:"result"`
	ErrorCode  string    `json:"error_code,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	RemoteAddr string    `json:"remote_addr,omitempty"`
	DurationMS int       `json:"duration_ms"`
}

// AuditFilter selects entries; zero fields match everything. Target
// matches as a prefix, so "/configs/" finds every config change.
type AuditFilter struct {
	Actor, Action, Target, Result string
	Since, Until                  time.Time
}

// Audit is the append-only audit log.
type Audit struct{ pool *pgxpool.Pool }

// NewAudit returns the audit repository of db.
func NewAudit(db *DB) *Audit { return &Audit{pool: db.pool} }

// Append stores e; its ID and At are filled in when empty.
func (r *Audit) Append(ctx context.Context, e *AuditEntry) error {
	if e.ID == "" {
		id, err := NewID()
		if err != nil {
			return err
		}
		e.ID = id
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := r.pool.Exec(ctx, `INSERT INTO audit_log (id, at, actor, actor_kind, action, method, target, status, result,
		error_code, request_id, remote_addr, duration_ms) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		e.ID, e.At, e.Actor, e.ActorKind, e.Action, e.Method, e.Target, e.Status, e.Result,
		e.ErrorCode, e.RequestID, e.RemoteAddr, e.DurationMS)
	if err != nil {
		return fmt.Errorf("writing the audit entry for %s %s: %w", e.Action, e.Target, err)
	}
	return nil
}

// List returns matching entries newest first.
func (r *Audit) List(ctx context.Context, f AuditFilter, limit, offset int) (Page[AuditEntry], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[AuditEntry]{Limit: limit, Offset: offset, Items: []AuditEntry{}}
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Target != "" {
		add("starts_with(target, ?)", f.Target)
	}
	if f.Result != "" {
		add("result = ?", f.Result)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`+where, args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting audit entries: %w", err)
	}
	n := len(args)
	rows, err := r.pool.Query(ctx, `SELECT id, at, actor, actor_kind, action, method, target, status, result, error_code,
		request_id, remote_addr, duration_ms FROM audit_log`+where+
		` ORDER BY at DESC, id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), append(args, limit, offset)...)
	if err != nil {
		return page, fmt.Errorf("listing audit entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.ActorKind, &e.Action, &e.Method, &e.Target, &e.Status, &e.Result,
			&e.ErrorCode, &e.RequestID, &e.RemoteAddr, &e.DurationMS); err != nil {
			return page, fmt.Errorf("listing audit entries: %w", err)
		}
		page.Items = append(page.Items, e)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing audit entries: %w", err)
	}
	return page, nil
}

// Prune deletes the entries recorded before t and says how many.
func (r *Audit) Prune(ctx context.Context, before time.Time) (int64, error) {
	tag, err := r.pool.Exec(ctx, `DELETE FROM audit_log WHERE at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("pruning audit entries before %s: %w", before.Format(time.RFC3339), err)
	}
	return tag.RowsAffected(), nil
}
