package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Archive job statuses.
const (
	ArchivePending   = "pending"
	ArchiveRunning   = "running"
	ArchiveCompleted = "completed"
	ArchiveFailed    = "failed"
	ArchiveCancelled = "cancelled"
)

// CodeArchiveNotFound: no archive job with that id.
const CodeArchiveNotFound = "ARCHIVE_NOT_FOUND"

// ArchiveJob is a content archive being built or built.
type ArchiveJob struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	Selection    json.RawMessage `json:"selection"`
	ObjectsTotal int             `json:"objects_total"`
	ObjectsDone  int             `json:"objects_done"`
	BytesDone    int64           `json:"bytes_done"`
	ArchiveKey   string          `json:"archive_key"`
	ArchiveSize  int64           `json:"archive_size"`
	Error        string          `json:"error,omitempty"`
	OwnerID      string          `json:"owner_id,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	CompletedAt  *time.Time      `json:"completed_at,omitempty"`
}

// ArchiveJobs stores archive jobs.
type ArchiveJobs struct{ pool *pgxpool.Pool }

const archiveColumns = `id, status, selection, objects_total, objects_done, bytes_done, archive_key, archive_size,
error, owner_id, created_at, updated_at, completed_at`

const (
	sqlArchiveInsert = `INSERT INTO archive_jobs (id, status, selection, objects_total, archive_key, owner_id)
VALUES ($1, 'pending', $2, $3, $4, $5) RETURNING ` + archiveColumns
	sqlArchiveGet      = `SELECT ` + archiveColumns + ` FROM archive_jobs WHERE id = $1`
	sqlArchiveProgress = `UPDATE archive_jobs SET status = 'running', objects_done = $2, bytes_done = $3, updated_at = now()
WHERE id = $1 AND status IN ('pending', 'running')`
	sqlArchiveFinish = `UPDATE archive_jobs SET status = $2, error = $3, archive_size = $4, objects_done = $5, bytes_done = $6,
updated_at = now(), completed_at = now() WHERE id = $1 AND status IN ('pending', 'running') RETURNING ` + archiveColumns
	sqlArchiveDelete  = `DELETE FROM archive_jobs WHERE id = $1`
	sqlArchiveOwners  = `SELECT DISTINCT COALESCE(owner_id, '') FROM archive_jobs WHERE status IN ('pending', 'running') AND owner_id IS DISTINCT FROM $1`
	sqlArchiveOrphans = `UPDATE archive_jobs SET status = 'failed', error = $2, updated_at = now(), completed_at = now()
WHERE status IN ('pending', 'running') AND COALESCE(owner_id, '') = $1 RETURNING id`
)

func scanArchive(row pgx.Row) (*ArchiveJob, error) {
	var (
		j     ArchiveJob
		sel   []byte
		errs  *string
		owner *string
	)
	if err := row.Scan(&j.ID, &j.Status, &sel, &j.ObjectsTotal, &j.ObjectsDone, &j.BytesDone, &j.ArchiveKey, &j.ArchiveSize,
		&errs, &owner, &j.CreatedAt, &j.UpdatedAt, &j.CompletedAt); err != nil {
		return nil, err
	}
	j.Selection, j.Error, j.OwnerID = rawOrNil(sel), textOrEmpty(errs), textOrEmpty(owner)
	return &j, nil
}

// Create records a pending job (its id a new UUIDv7 unless set).
func (r *ArchiveJobs) Create(ctx context.Context, j *ArchiveJob) error {
	if j.ID == "" {
		var err error
		if j.ID, err = NewID(); err != nil {
			return err
		}
	}
	sel, err := jsonbRaw(j.Selection)
	if err != nil {
		return err
	}
	stored, err := scanArchive(r.pool.QueryRow(ctx, sqlArchiveInsert, j.ID, sel, j.ObjectsTotal, j.ArchiveKey, nullText(j.OwnerID)))
	if err != nil {
		return fmt.Errorf("recording archive job: %w", err)
	}
	*j = *stored
	return nil
}

// Get returns a job.
func (r *ArchiveJobs) Get(ctx context.Context, id string) (*ArchiveJob, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeArchiveNotFound, "archive job", id)
	}
	j, err := scanArchive(r.pool.QueryRow(ctx, sqlArchiveGet, id))
	if isNoRows(err) {
		return nil, notFound(CodeArchiveNotFound, "archive job", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading archive job %s: %w", id, err)
	}
	return j, nil
}

// Progress records how far a running job got.
func (r *ArchiveJobs) Progress(ctx context.Context, id string, objects int, bytes int64) error {
	if _, err := r.pool.Exec(ctx, sqlArchiveProgress, id, objects, bytes); err != nil {
		return fmt.Errorf("recording progress of archive job %s: %w", id, err)
	}
	return nil
}

// Finish ends a pending or running job with status; an already ended job
// is left as it is (a cancel that raced with completion) and returned.
func (r *ArchiveJobs) Finish(ctx context.Context, id, status, errText string, size int64, objects int, bytes int64) (*ArchiveJob, error) {
	j, err := scanArchive(r.pool.QueryRow(ctx, sqlArchiveFinish, id, status, nullText(errText), size, objects, bytes))
	if isNoRows(err) {
		return r.Get(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("finishing archive job %s: %w", id, err)
	}
	return j, nil
}

// Delete forgets a job.
func (r *ArchiveJobs) Delete(ctx context.Context, id string) error {
	if _, ok := validID(id); !ok {
		return notFound(CodeArchiveNotFound, "archive job", id)
	}
	if _, err := r.pool.Exec(ctx, sqlArchiveDelete, id); err != nil {
		return fmt.Errorf("deleting archive job %s: %w", id, err)
	}
	return nil
}

// FailOrphans marks failed the pending and running jobs whose owning
// process is gone (its instance lease is free), so no job stays stuck
// after a crash; it returns their ids. Jobs of live processes are left
// alone.
func (r *ArchiveJobs) FailOrphans(ctx context.Context, self string) ([]string, error) {
	rows, err := r.pool.Query(ctx, sqlArchiveOwners, self)
	if err != nil {
		return nil, fmt.Errorf("listing archive job owners: %w", err)
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing archive job owners: %w", err)
	}
	var failed []string
	for _, owner := range owners {
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if owner != "" {
				var gone bool
				if err := tx.QueryRow(ctx, sqlOwnerGone, instanceLockSpace, owner).Scan(&gone); err != nil || !gone {
					return err
				}
			}
			rows, err := tx.Query(ctx, sqlArchiveOrphans, owner, "the process building it stopped; prepare it again")
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
			failed = append(failed, ids...)
			return err
		})
		if err != nil {
			return failed, fmt.Errorf("failing orphaned archive jobs of %q: %w", owner, err)
		}
	}
	return failed, nil
}
