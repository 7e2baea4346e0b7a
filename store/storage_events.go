package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// StorageEvent is one object written, as the storage event feed shows it.
type StorageEvent struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	ExecutionID string    `json:"execution_id,omitempty"`
	Route       string    `json:"route,omitempty"`
	Stage       string    `json:"stage,omitempty"`
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// StorageEventType is the type of every stored storage event.
const StorageEventType = "storage.object.created"

// StorageEventFilter selects storage events; empty fields match all.
type StorageEventFilter struct {
	AfterID      string   // exclusive; a Last-Event-ID
	ExecutionIDs []string // any of these
	Route        string
	Stage        string
	KeyPrefix    string
	Extensions   []string // ".md", ".json": any of these key suffixes
	Limit        int
}

// StorageEvents stores the storage event feed.
type StorageEvents struct {
	pool *pgxpool.Pool
	// mu makes id order and commit order agree within this process, so a
	// reader resuming after an id misses nothing written here.
	mu *sync.Mutex
}

const (
	sqlStorageEventInsert = `INSERT INTO storage_events (id, execution_id, route, stage, key, size, content_type, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	sqlStorageEventList = `SELECT id, execution_id, route, stage, key, size, content_type, created_at
FROM storage_events
WHERE ($1::uuid IS NULL OR id > $1)
  AND (cardinality($2::uuid[]) = 0 OR execution_id = ANY($2))
  AND ($3 = '' OR route = $3)
  AND ($4 = '' OR stage = $4)
  AND ($5 = '' OR starts_with(key, $5))
  AND (cardinality($6::text[]) = 0 OR EXISTS (SELECT 1 FROM unnest($6::text[]) AS x(ext) WHERE right(key, length(x.ext)) = x.ext))
ORDER BY id LIMIT $7`
	sqlStorageEventPrune = `DELETE FROM storage_events WHERE created_at < $1`
)

// Append records ev, drawing its id (a UUIDv7) unless set.
func (r *StorageEvents) Append(ctx context.Context, ev StorageEvent) (StorageEvent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.ID == "" {
		var err error
		if ev.ID, err = NewID(); err != nil {
			return ev, err
		}
	}
	if ev.Type == "" {
		ev.Type = StorageEventType
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = time.Now().UTC()
	}
	exec, err := optionalID("execution id", ev.ExecutionID)
	if err != nil {
		return ev, err
	}
	if _, err := r.pool.Exec(ctx, sqlStorageEventInsert, ev.ID, exec, nullText(ev.Route), nullText(ev.Stage),
		ev.Key, ev.Size, nullText(ev.ContentType), ev.CreatedAt); err != nil {
		return ev, fmt.Errorf("recording storage event of %s: %w", ev.Key, err)
	}
	return ev, nil
}

// List returns events matching f, oldest first.
func (r *StorageEvents) List(ctx context.Context, f StorageEventFilter) ([]StorageEvent, error) {
	limit, _ := clampPage(f.Limit, 0)
	after, err := optionalID("event id", f.AfterID)
	if err != nil {
		return nil, err
	}
	execs := make([]string, 0, len(f.ExecutionIDs))
	for _, id := range f.ExecutionIDs {
		if _, ok := validID(id); !ok {
			return nil, notFound(CodeExecutionNotFound, "execution", id)
		}
		execs = append(execs, id)
	}
	exts := make([]string, 0, len(f.Extensions))
	for _, e := range f.Extensions {
		if e = strings.TrimSpace(e); e != "" {
			if !strings.HasPrefix(e, ".") {
				e = "." + e
			}
			exts = append(exts, e)
		}
	}
	rows, err := r.pool.Query(ctx, sqlStorageEventList, after, execs, f.Route, f.Stage, f.KeyPrefix, exts, limit)
	if err != nil {
		return nil, fmt.Errorf("listing storage events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StorageEvent, error) {
		var (
			ev                 StorageEvent
			exec               *string
			route, stage, ctyp *string
		)
		err := row.Scan(&ev.ID, &exec, &route, &stage, &ev.Key, &ev.Size, &ctyp, &ev.CreatedAt)
		ev.Type = StorageEventType
		ev.ExecutionID, ev.Route, ev.Stage, ev.ContentType = textOrEmpty(exec), textOrEmpty(route), textOrEmpty(stage), textOrEmpty(ctyp)
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing storage events: %w", err)
	}
	return out, nil
}

// Prune deletes events older than the cutoff and says how many.
func (r *StorageEvents) Prune(ctx context.Context, before time.Time) (int64, error) {
	tag, err := r.pool.Exec(ctx, sqlStorageEventPrune, before)
	if err != nil {
		return 0, fmt.Errorf("pruning storage events: %w", err)
	}
	return tag.RowsAffected(), nil
}
