package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestExecutionsCreateAndGet(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Executions()
	cfg := newConfig(t, db, "crawl")
	parent := newExecution(t, db)

	e := &store.Execution{
		ConfigID:          cfg.ID,
		Tag:               "nightly-1",
		ConfigSnapshot:    json.RawMessage(`{"name":"crawl","routes":{}}`),
		RootCorrelationID: "root-1",
		ParentExecutionID: parent.ID,
		ReplaySource:      json.RawMessage(`"storage"`),
		Metadata:          map[string]any{"trigger": "cron", "n": float64(3)},
		IdempotencyKey:    "key-1",
	}
	require.NoError(t, repo.Create(ctx, e))
	id, err := uuid.Parse(e.ID)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), id.Version())
	require.Equal(t, store.StatusPending, e.Status)
	require.Equal(t, "crawl", e.ConfigName, "name taken from the config")
	require.Nil(t, e.StartedAt)
	require.Nil(t, e.CompletedAt)

	got, err := repo.Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, e, got)
	require.JSONEq(t, `{"name":"crawl","routes":{}}`, string(got.ConfigSnapshot))
	require.Equal(t, map[string]any{"trigger": "cron", "n": float64(3)}, got.Metadata)

	for _, ref := range []string{e.ID, "nightly-1"} {
		byRef, err := repo.GetByIDOrTag(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, e.ID, byRef.ID)
	}
	_, err = repo.GetByIDOrTag(ctx, "no-such-tag")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, store.CodeExecutionNotFound, store.Code(err))
	_, err = repo.Get(ctx, uuid.NewString())
	require.ErrorIs(t, err, store.ErrNotFound)

	running := &store.Execution{Status: store.StatusRunning}
	require.NoError(t, repo.Create(ctx, running))
	require.NotNil(t, running.StartedAt, "created running: started")

	events, err := db.Events().List(ctx, e.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, events, 1, "creation is on the timeline")
	require.Equal(t, store.EventStatus, events[0].Type)
	require.Equal(t, store.StatusPending, events[0].Status)
}

func TestExecutionsCreateRejects(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Executions()
	require.NoError(t, repo.Create(ctx, &store.Execution{Tag: "taken"}))

	tests := []struct {
		name     string
		exec     store.Execution
		want     error
		wantCode string
	}{
		{"tag taken", store.Execution{Tag: "taken"}, store.ErrConflict, store.CodeTagTaken},
		{"unknown config", store.Execution{ConfigID: uuid.NewString()}, store.ErrNotFound, store.CodeConfigNotFound},
		{"unknown parent", store.Execution{ParentExecutionID: uuid.NewString()}, store.ErrNotFound, store.CodeExecutionNotFound},
		{"config id not a uuid", store.Execution{ConfigID: "x"}, store.ErrInvalidArgument, store.CodeInvalidArgument},
		{"bad snapshot", store.Execution{ConfigSnapshot: json.RawMessage(`{`)}, store.ErrInvalidArgument, store.CodeInvalidArgument},
		{"unknown status", store.Execution{Status: "sleeping"}, store.ErrInvalidArgument, store.CodeInvalidArgument},
		{"terminal status", store.Execution{Status: store.StatusCompleted}, store.ErrInvalidArgument, store.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.exec
			err := repo.Create(ctx, &e)
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, tt.wantCode, store.Code(err))
		})
	}
}

func TestExecutionsList(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Executions()
	a, b := newConfig(t, db, "a"), newConfig(t, db, "b")

	var all []*store.Execution
	for i := range 5 {
		cfg := a
		if i >= 3 {
			cfg = b
		}
		e := &store.Execution{ConfigID: cfg.ID}
		require.NoError(t, repo.Create(ctx, e))
		all = append(all, e)
	}
	_, err := repo.SetStatus(ctx, all[0].ID, store.StatusRunning, "start", nil)
	require.NoError(t, err)
	child := &store.Execution{ConfigID: b.ID, ParentExecutionID: all[0].ID}
	require.NoError(t, repo.Create(ctx, child))

	tests := []struct {
		name   string
		filter store.ExecutionFilter
		want   []string
		total  int
	}{
		{"all newest first, first page", store.ExecutionFilter{Limit: 2}, []string{child.ID, all[4].ID}, 6},
		{"by status", store.ExecutionFilter{Status: store.StatusRunning}, []string{all[0].ID}, 1},
		{"by config", store.ExecutionFilter{ConfigID: a.ID}, []string{all[2].ID, all[1].ID, all[0].ID}, 3},
		{"by config and status", store.ExecutionFilter{ConfigID: a.ID, Status: store.StatusPending, Limit: 1, Offset: 1}, []string{all[1].ID}, 2},
		{"by parent", store.ExecutionFilter{ParentExecutionID: all[0].ID}, []string{child.ID}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := repo.List(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.total, page.Total)
			var ids []string
			for _, e := range page.Items {
				ids = append(ids, e.ID)
			}
			require.Equal(t, tt.want, ids)
		})
	}
	_, err = repo.List(ctx, store.ExecutionFilter{Status: "nope"})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}

// reach drives a new execution into status s through legal moves.
func reach(t *testing.T, db *store.DB, s store.ExecutionStatus) *store.Execution {
	t.Helper()
	paths := map[store.ExecutionStatus][]store.ExecutionStatus{
		store.StatusPending:     nil,
		store.StatusRunning:     {store.StatusRunning},
		store.StatusCompleted:   {store.StatusRunning, store.StatusCompleted},
		store.StatusFailed:      {store.StatusFailed},
		store.StatusCancelling:  {store.StatusRunning, store.StatusCancelling},
		store.StatusCancelled:   {store.StatusRunning, store.StatusCancelling, store.StatusCancelled},
		store.StatusInterrupted: {store.StatusRunning, store.StatusInterrupted},
	}
	e := newExecution(t, db)
	for _, next := range paths[s] {
		_, err := db.Executions().SetStatus(testCtx(t), e.ID, next, "setup", nil)
		require.NoError(t, err, "setting up %s", s)
	}
	return e
}

func TestExecutionsStatusTransitions(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Executions()

	statuses := []store.ExecutionStatus{store.StatusPending, store.StatusRunning, store.StatusCompleted,
		store.StatusFailed, store.StatusCancelling, store.StatusCancelled, store.StatusInterrupted}
	// Written out independently of the implementation's table.
	legal := map[[2]store.ExecutionStatus]bool{
		{store.StatusPending, store.StatusRunning}:       true,
		{store.StatusPending, store.StatusFailed}:        true,
		{store.StatusPending, store.StatusCancelling}:    true,
		{store.StatusPending, store.StatusCancelled}:     true,
		{store.StatusPending, store.StatusInterrupted}:   true,
		{store.StatusRunning, store.StatusCompleted}:     true,
		{store.StatusRunning, store.StatusFailed}:        true,
		{store.StatusRunning, store.StatusCancelling}:    true,
		{store.StatusRunning, store.StatusInterrupted}:   true,
		{store.StatusCancelling, store.StatusCancelled}:  true,
		{store.StatusCancelling, store.StatusFailed}:     true,
		{store.StatusInterrupted, store.StatusRunning}:   true,
		{store.StatusInterrupted, store.StatusFailed}:    true,
		{store.StatusInterrupted, store.StatusCancelled}: true,
	}
	for _, from := range statuses {
		for _, to := range statuses {
			t.Run(fmt.Sprintf("%s_to_%s", from, to), func(t *testing.T) {
				e := reach(t, db, from)
				require.Equal(t, legal[[2]store.ExecutionStatus{from, to}], store.CanTransition(from, to))
				change, err := repo.SetStatus(ctx, e.ID, to, "because", nil)
				after, gerr := repo.Get(ctx, e.ID)
				require.NoError(t, gerr)

				if !legal[[2]store.ExecutionStatus{from, to}] {
					require.ErrorIs(t, err, store.ErrIllegalTransition)
					var te *store.TransitionError
					require.True(t, errors.As(err, &te))
					require.Equal(t, from, te.From)
					require.Equal(t, to, te.To)
					require.Equal(t, store.CodeIllegalTransition, store.Code(err))
					require.Equal(t, from, after.Status, "an illegal move changes nothing")
					return
				}
				require.NoError(t, err)
				require.Equal(t, from, change.From)
				require.Equal(t, to, change.Execution.Status)
				require.Equal(t, to, after.Status)
				require.Equal(t, store.EventStatus, change.Event.Type)
				require.Equal(t, "because", change.Event.Reason)
				require.Equal(t, string(from), change.Event.Data["from"])
				if to == store.StatusRunning {
					require.NotNil(t, after.StartedAt)
				}
				if to.Terminal() {
					require.NotNil(t, after.CompletedAt)
				} else {
					require.Nil(t, after.CompletedAt)
				}
				events, err := db.Events().List(ctx, e.ID, "", 100)
				require.NoError(t, err)
				require.Equal(t, change.Event.ID, events[len(events)-1].ID, "the change is the latest event")
			})
		}
	}
}

func TestExecutionsSetStatusDetails(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Executions()

	e := reach(t, db, store.StatusInterrupted)
	before, err := repo.Get(ctx, e.ID)
	require.NoError(t, err)
	require.NotNil(t, before.StartedAt)
	resumed, err := repo.SetStatus(ctx, e.ID, store.StatusRunning, "resumed", nil)
	require.NoError(t, err)
	require.True(t, before.StartedAt.Equal(*resumed.Execution.StartedAt), "started_at is set once")

	failed, err := repo.SetStatus(ctx, e.ID, store.StatusFailed, "init route failed", map[string]any{"code": "E1"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"code": "E1"}, failed.Execution.ErrorInfo)

	_, err = repo.SetStatus(ctx, uuid.NewString(), store.StatusRunning, "", nil)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = repo.SetStatus(ctx, e.ID, "sleeping", "", nil)
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}

func TestExecutionsSetStatusConcurrently(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	e := reach(t, db, store.StatusRunning)

	targets := []store.ExecutionStatus{store.StatusCompleted, store.StatusFailed, store.StatusCompleted, store.StatusFailed,
		store.StatusCompleted, store.StatusFailed}
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(targets))
	)
	for i, to := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.Executions().SetStatus(ctx, e.ID, to, "race", nil)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, store.ErrIllegalTransition)
	}
	require.Equal(t, 1, ok, "exactly one terminal status wins")
}

func TestExecutionsRecoverOrphans(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Executions()
	dead, err := db.RegisterInstance(ctx)
	require.NoError(t, err)
	alive, err := db.RegisterInstance(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = alive.Close(context.Background()) })
	self, err := db.RegisterInstance(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = self.Close(context.Background()) })

	owned := func(owner string, path ...store.ExecutionStatus) *store.Execution {
		e := &store.Execution{OwnerID: owner}
		require.NoError(t, repo.Create(ctx, e))
		require.Equal(t, owner, e.OwnerID)
		for _, s := range path {
			_, err := repo.SetStatus(ctx, e.ID, s, "setup", nil)
			require.NoError(t, err)
		}
		return e
	}
	deadRunning := owned(dead.ID, store.StatusRunning)
	deadPending := owned(dead.ID)
	deadCancelling := owned(dead.ID, store.StatusRunning, store.StatusCancelling)
	deadDone := owned(dead.ID, store.StatusRunning, store.StatusCompleted)
	unowned := owned("", store.StatusRunning)
	aliveRunning := owned(alive.ID, store.StatusRunning)
	selfRunning := owned(self.ID, store.StatusRunning)
	require.NoError(t, dead.Close(ctx))

	rec, err := repo.RecoverOrphans(ctx, self.ID)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{deadRunning.ID, deadPending.ID, unowned.ID}, rec.Interrupted)
	require.Equal(t, []string{deadCancelling.ID}, rec.Cancelled)
	for id, want := range map[string]store.ExecutionStatus{
		deadRunning.ID: store.StatusInterrupted, deadPending.ID: store.StatusInterrupted,
		deadCancelling.ID: store.StatusCancelled, deadDone.ID: store.StatusCompleted,
		unowned.ID: store.StatusInterrupted, aliveRunning.ID: store.StatusRunning, selfRunning.ID: store.StatusRunning,
	} {
		got, err := repo.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, got.Status, id)
	}
	events, err := db.Events().List(ctx, deadRunning.ID, "", 100)
	require.NoError(t, err)
	require.Equal(t, store.StatusInterrupted, events[len(events)-1].Status)
	cancelled, err := repo.Get(ctx, deadCancelling.ID)
	require.NoError(t, err)
	require.NotNil(t, cancelled.CompletedAt)

	rec, err = repo.RecoverOrphans(ctx, self.ID)
	require.NoError(t, err)
	require.Empty(t, rec.Interrupted, "nothing left to recover")

	// Once the live owner is gone too, its execution is taken over.
	require.NoError(t, alive.Close(ctx))
	rec, err = repo.RecoverOrphans(ctx, self.ID)
	require.NoError(t, err)
	require.Equal(t, []string{aliveRunning.ID}, rec.Interrupted)
}

func TestExecutionsIdempotencyKey(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Executions()

	e := &store.Execution{IdempotencyKey: "k1"}
	require.NoError(t, repo.Create(ctx, e))
	found, err := repo.FindByIdempotencyKey(ctx, "k1", time.Minute)
	require.NoError(t, err)
	require.Equal(t, e.ID, found.ID)

	_, err = db.Pool().Exec(ctx, `UPDATE executions SET created_at = now() - interval '2 hours' WHERE id = $1`, e.ID)
	require.NoError(t, err)
	_, err = repo.FindByIdempotencyKey(ctx, "k1", time.Minute)
	require.ErrorIs(t, err, store.ErrNotFound, "outside the window")
	found, err = repo.FindByIdempotencyKey(ctx, "k1", 0)
	require.NoError(t, err, "zero window: any age")
	require.Equal(t, e.ID, found.ID)
	_, err = repo.FindByIdempotencyKey(ctx, "", time.Minute)
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}

func TestExecutionsCreateIdempotentConcurrently(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)

	const n = 8
	var (
		wg      sync.WaitGroup
		ids     = make([]string, n)
		created = make([]bool, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &store.Execution{IdempotencyKey: "same-request"}
			created[i], errs[i] = db.Executions().CreateIdempotent(ctx, e, time.Minute)
			ids[i] = e.ID
		}()
	}
	wg.Wait()
	creators := 0
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
		if created[i] {
			creators++
		}
	}
	require.Equal(t, 1, creators)
	page, err := db.Executions().List(ctx, store.ExecutionFilter{})
	require.NoError(t, err)
	require.Equal(t, 1, page.Total)
}

// TestInstanceLeaseIsTakenBack cuts the lease's connection (as a database
// restart would): the live process takes its lease back, so recovery by
// another process still leaves its executions alone.
func TestInstanceLeaseIsTakenBack(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	inst, err := db.RegisterInstance(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = inst.Close(context.Background()) })
	e := &store.Execution{OwnerID: inst.ID}
	require.NoError(t, db.Executions().Create(ctx, e))
	_, err = db.Executions().SetStatus(ctx, e.ID, store.StatusRunning, "setup", nil)
	require.NoError(t, err)

	retaken := make(chan struct{}, 1)
	inst.OnRetaken(func() { retaken <- struct{}{} })
	var cut int
	require.NoError(t, db.Pool().QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND classid::bigint = $1
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		int64(0x66665f6f)).Scan(&cut))
	require.Equal(t, 1, cut, "the lease's connection")
	require.Eventually(t, func() bool { return inst.Retaken() == 1 }, 30*time.Second, 50*time.Millisecond)
	select {
	case <-retaken:
	case <-ctx.Done():
		t.Fatal("OnRetaken was not called")
	}

	other, err := db.RegisterInstance(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	rec, err := db.Executions().RecoverOrphans(ctx, other.ID)
	require.NoError(t, err)
	require.Empty(t, rec.Interrupted, "the owner lives and holds its lease again")
	got, err := db.Executions().Get(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, store.StatusRunning, got.Status)
}
