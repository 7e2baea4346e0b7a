package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// instanceLockSpace namespaces the advisory locks of instance leases
// (two-key form, apart from the migration and idempotency locks).
const instanceLockSpace int32 = 0x66665f6f // "ff_o"

// Instance is this process's lease on the executions it owns. It holds a
// session advisory lock named after its id on a dedicated connection for as
// long as the process lives; when the process dies, PostgreSQL drops the
// connection and with it the lock, which is how other processes tell a
// live owner from a dead one. It is the seed of execution ownership across
// replicas.
//
// A database restart or a cut connection drops the lock too, although the
// process lives on; a watcher notices and takes the lease again as soon as
// the database answers, so the window in which another process could take
// this one's executions over lasts only as long as the outage.
type Instance struct {
	ID string
	db *DB

	mu        sync.Mutex
	conn      *pgx.Conn // nil while the lease is lost
	retaken   atomic.Int64
	onRetaken func()
	stop      context.CancelFunc
	done      chan struct{}
}

// leaseCheckEvery is how often the lease's connection is checked.
const leaseCheckEvery = 2 * time.Second

// RegisterInstance takes a new instance lease.
func (db *DB) RegisterInstance(ctx context.Context) (*Instance, error) {
	id, err := NewID()
	if err != nil {
		return nil, err
	}
	i := &Instance{ID: id, db: db, done: make(chan struct{})}
	conn, err := i.take(ctx, true)
	if err != nil {
		return nil, err
	}
	i.conn = conn
	wctx, stop := context.WithCancel(context.Background())
	i.stop = stop
	go i.watch(wctx)
	return i, nil
}

// take opens a dedicated connection and takes the lease's lock on it:
// waiting for it at registration, trying once when taking it back (a
// recovering process may hold it for the length of its transaction).
func (i *Instance) take(ctx context.Context, wait bool) (*pgx.Conn, error) {
	pc, err := i.db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquiring a connection for the instance lease: %w", err)
	}
	// The lease lives on its own connection, outside the pool, so no pooled
	// query can ever release it.
	conn := pc.Hijack()
	q := `SELECT pg_try_advisory_lock($1, hashtext($2))`
	if wait {
		q = `SELECT pg_advisory_lock($1, hashtext($2)) IS NULL`
	}
	var got bool
	if err := conn.QueryRow(ctx, q, instanceLockSpace, i.ID).Scan(&got); err != nil || (!wait && !got) {
		_ = conn.Close(context.WithoutCancel(ctx))
		if err == nil {
			err = errors.New("the lock is held elsewhere for now")
		}
		return nil, fmt.Errorf("taking the instance lease: %w", err)
	}
	return conn, nil
}

// watch checks the lease's connection and takes the lease back when it
// was lost, until stopped.
func (i *Instance) watch(ctx context.Context) {
	defer close(i.done)
	t := time.NewTicker(leaseCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		i.mu.Lock()
		if i.conn != nil {
			pctx, cancel := context.WithTimeout(ctx, leaseCheckEvery)
			err := i.conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				_ = i.conn.Close(context.WithoutCancel(ctx))
				i.conn = nil
			}
		}
		if i.conn == nil && ctx.Err() == nil {
			tctx, cancel := context.WithTimeout(ctx, leaseCheckEvery)
			if conn, err := i.take(tctx, false); err == nil {
				i.conn = conn
				i.retaken.Add(1)
				if f := i.onRetaken; f != nil {
					go f()
				}
			}
			cancel()
		}
		i.mu.Unlock()
	}
}

// OnRetaken sets what runs (in its own goroutine) each time the lease was
// lost and taken back: another process may have taken this one's
// executions over in between.
func (i *Instance) OnRetaken(f func()) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.onRetaken = f
}

// Retaken counts the times the lease was lost and taken back.
func (i *Instance) Retaken() int64 { return i.retaken.Load() }

// Close gives the lease up. It cannot fail in a way that matters: a lock
// that cannot be released explicitly (the connection is already gone, or
// the database is unreachable) goes with its session when the connection
// closes.
func (i *Instance) Close(ctx context.Context) error {
	if i == nil {
		return nil
	}
	if i.stop != nil {
		i.stop()
		<-i.done
		i.stop = nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.conn == nil {
		return nil
	}
	// Unlock explicitly: the server releases a closed session's locks only
	// once it notices the disconnect, and others should see it at once.
	if !i.conn.IsClosed() {
		_, _ = i.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	}
	_ = i.conn.Close(ctx)
	i.conn = nil
	return nil
}

// Recovery is what RecoverOrphans did.
type Recovery struct {
	// Interrupted executions were pending or running under a dead owner.
	Interrupted []string
	// Cancelled executions were being cancelled when their owner died.
	Cancelled []string
}

const (
	sqlActiveOwners = `SELECT DISTINCT COALESCE(owner_id, '') FROM executions
WHERE status IN ('pending', 'running', 'cancelling') AND owner_id IS DISTINCT FROM $1`
	sqlOwnerGone        = `SELECT pg_try_advisory_xact_lock($1, hashtext($2))`
	sqlOrphansInterrupt = `UPDATE executions SET status = 'interrupted', updated_at = now()
WHERE status IN ('pending', 'running') AND COALESCE(owner_id, '') = $1 RETURNING id`
	sqlOrphansCancelled = `UPDATE executions SET status = 'cancelled', updated_at = now(), completed_at = now()
WHERE status = 'cancelling' AND COALESCE(owner_id, '') = $1 RETURNING id`
)

// RecoverOrphans is start-up recovery: executions whose owning process is
// gone (its lease is free, or it had none) become interrupted — or
// cancelled, when a cancel was under way — each with a status event.
// Executions of live processes, and self's own, are left alone.
func (r *Executions) RecoverOrphans(ctx context.Context, self string) (Recovery, error) {
	var rec Recovery
	rows, err := r.pool.Query(ctx, sqlActiveOwners, self)
	if err != nil {
		return rec, fmt.Errorf("listing execution owners: %w", err)
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return rec, fmt.Errorf("listing execution owners: %w", err)
	}
	for _, owner := range owners {
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if gone, err := ownerGone(ctx, tx, owner); err != nil || !gone {
				return err
			}
			return r.takeOver(ctx, tx, owner, &rec)
		})
		if err != nil {
			return rec, fmt.Errorf("recovering executions of instance %q: %w", owner, err)
		}
	}
	return rec, nil
}

func (r *Executions) takeOver(ctx context.Context, tx pgx.Tx, owner string, rec *Recovery) error {
	rows, err := tx.Query(ctx, sqlOrphansInterrupt, owner)
	if err != nil {
		return err
	}
	interrupted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range interrupted {
		if _, err := appendEvent(ctx, tx, ExecutionEvent{ExecutionID: id, Type: EventStatus, Status: StatusInterrupted,
			Reason: "the process running it stopped", Data: map[string]any{"owner_id": owner}}); err != nil {
			return err
		}
		rec.Interrupted = append(rec.Interrupted, id)
	}
	rows, err = tx.Query(ctx, sqlOrphansCancelled, owner)
	if err != nil {
		return err
	}
	cancelled, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range cancelled {
		if _, err := appendEvent(ctx, tx, ExecutionEvent{ExecutionID: id, Type: EventStatus, Status: StatusCancelled,
			Reason: "cancel completed after the process running it stopped", Data: map[string]any{"owner_id": owner}}); err != nil {
			return err
		}
		rec.Cancelled = append(rec.Cancelled, id)
	}
	return nil
}

const (
	sqlInterruptedOwners = `SELECT DISTINCT COALESCE(owner_id, '') FROM executions
WHERE status = 'interrupted' AND COALESCE(queue_ref, '') = $1 AND owner_id IS DISTINCT FROM $2`
	sqlClaimInterrupted = `UPDATE executions SET owner_id = $3, updated_at = now()
WHERE id IN (SELECT id FROM executions
             WHERE status = 'interrupted' AND COALESCE(queue_ref, '') = $1 AND COALESCE(owner_id, '') = $2
             ORDER BY created_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
RETURNING ` + executionColumns
)

// ownerGone reports whether no live process holds owner's lease (an
// empty owner is gone). The transaction-scoped lock it takes is granted
// only then, and keeps a process that reuses the id from starting while
// the transaction takes over.
func ownerGone(ctx context.Context, tx pgx.Tx, owner string) (bool, error) {
	if owner == "" {
		return true, nil
	}
	var gone bool
	err := tx.QueryRow(ctx, sqlOwnerGone, instanceLockSpace, owner).Scan(&gone)
	return gone, err
}

// ClaimInterrupted makes self the owner of up to limit interrupted
// executions whose messages live on queueRef and whose owner is gone,
// oldest first, so that this process resumes them. Executions of live
// processes are left alone, and two processes never claim the same one.
func (r *Executions) ClaimInterrupted(ctx context.Context, self, queueRef string, limit int) ([]*Execution, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := r.pool.Query(ctx, sqlInterruptedOwners, queueRef, self)
	if err != nil {
		return nil, fmt.Errorf("listing owners of interrupted executions: %w", err)
	}
	owners, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing owners of interrupted executions: %w", err)
	}
	var claimed []*Execution
	for _, owner := range owners {
		if len(claimed) >= limit {
			break
		}
		var got []*Execution
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if gone, err := ownerGone(ctx, tx, owner); err != nil || !gone {
				return err
			}
			rows, err := tx.Query(ctx, sqlClaimInterrupted, queueRef, owner, self, limit-len(claimed))
			if err != nil {
				return err
			}
			got, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Execution, error) { return scanExecution(row) })
			return err
		})
		if err != nil {
			return claimed, fmt.Errorf("claiming interrupted executions of instance %q: %w", owner, err)
		}
		claimed = append(claimed, got...)
	}
	return claimed, nil
}

const sqlClaimInterruptedByID = `UPDATE executions SET owner_id = $3, updated_at = now()
WHERE id = $1 AND status = 'interrupted' AND COALESCE(queue_ref, '') = $2
RETURNING ` + executionColumns

// ClaimInterruptedByID makes self the owner of one interrupted execution
// whose messages live on queueRef and whose owner is gone. It returns nil
// (and no error) when the execution is not interrupted, lives on another
// broker, or its owner is alive.
func (r *Executions) ClaimInterruptedByID(ctx context.Context, id, self, queueRef string) (*Execution, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeExecutionNotFound, "execution", id)
	}
	var claimed *Execution
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var owner string
		err := tx.QueryRow(ctx, `SELECT COALESCE(owner_id, '') FROM executions WHERE id = $1 FOR UPDATE`, id).Scan(&owner)
		if isNoRows(err) {
			return notFound(CodeExecutionNotFound, "execution", id)
		}
		if err != nil {
			return err
		}
		if owner != self {
			if gone, err := ownerGone(ctx, tx, owner); err != nil || !gone {
				return err
			}
		}
		claimed, err = scanExecution(tx.QueryRow(ctx, sqlClaimInterruptedByID, id, queueRef, self))
		if isNoRows(err) {
			claimed, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming interrupted execution %s: %w", id, err)
	}
	return claimed, nil
}
