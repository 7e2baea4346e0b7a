package store_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.DeadLetters()
	e1, e2 := newExecution(t, db), newExecution(t, db)

	firstFailed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := &store.DeadLetter{
		ExecutionID: e1.ID, Route: "fetch", Adapter: "web_scraper", Queue: "fetch.in", CorrelationID: "c-1",
		Payload: json.RawMessage("{not json \x00 at all"),
		Headers: map[string]string{"factflow-attempt": "4"},
		Reason:  "HTTP 500 four times", ErrorClass: "retryable", Attempt: 4, FirstFailedAt: firstFailed,
	}
	require.NoError(t, repo.Insert(ctx, d))
	require.NotEmpty(t, d.ID)
	require.False(t, d.CreatedAt.IsZero())
	for range 2 {
		require.NoError(t, repo.Insert(ctx, &store.DeadLetter{ExecutionID: e1.ID, Route: "parse", Queue: "parse.in", Payload: json.RawMessage(`{"a":1}`)}))
	}
	other := &store.DeadLetter{ExecutionID: e2.ID, Route: "parse", Queue: "parse.in"}
	require.NoError(t, repo.Insert(ctx, other))
	require.Equal(t, 1, other.Attempt, "attempt defaults to 1")
	require.False(t, other.FirstFailedAt.IsZero(), "first failure defaults to now")

	got, err := repo.Get(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, []byte(d.Payload), []byte(got.Payload), "payload kept byte for byte")
	require.Equal(t, d.Headers, got.Headers)
	require.True(t, firstFailed.Equal(got.FirstFailedAt))
	require.Equal(t, 4, got.Attempt)
	require.Equal(t, "web_scraper", got.Adapter)

	page, err := repo.List(ctx, store.DeadLetterFilter{ExecutionID: e1.ID, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 3, page.Total)
	require.Len(t, page.Items, 2)
	require.Equal(t, d.ID, page.Items[0].ID, "oldest first")
	all, err := repo.List(ctx, store.DeadLetterFilter{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 4, all.Total)

	n, err := repo.CountByExecution(ctx, e1.ID)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	require.NoError(t, repo.Delete(ctx, d.ID))
	_, err = repo.Get(ctx, d.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, repo.Delete(ctx, d.ID), store.ErrNotFound)
	n, err = repo.CountByExecution(ctx, e1.ID)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	err = repo.Insert(ctx, &store.DeadLetter{ExecutionID: uuid.NewString(), Route: "r", Queue: "q"})
	require.ErrorIs(t, err, store.ErrNotFound)
	err = repo.Insert(ctx, &store.DeadLetter{ExecutionID: e1.ID})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}

func TestDeadLetterFiltersAndRequeue(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.DeadLetters()
	e1, e2 := newExecution(t, db), newExecution(t, db)

	// Five dead letters in a known order: created_at comes from the
	// database clock, so they are inserted one after another.
	mk := func(exec *store.Execution, route, adapter, class string) *store.DeadLetter {
		d := &store.DeadLetter{ExecutionID: exec.ID, Route: route, Adapter: adapter, Queue: route + ".in",
			ErrorClass: class, Reason: "boom", Payload: json.RawMessage(`{"n":1}`)}
		require.NoError(t, repo.Insert(ctx, d))
		return d
	}
	a := mk(e1, "fetch", "web_scraper", "retryable")
	b := mk(e1, "fetch", "web_scraper", "permanent")
	c := mk(e1, "parse", "html_to_markdown", "permanent")
	d := mk(e2, "fetch", "web_scraper", "permanent")
	e := mk(e2, "parse", "html_to_markdown", "retryable")

	ids := func(items []store.DeadLetter) []string {
		out := []string{}
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	list := func(f store.DeadLetterFilter) []string {
		t.Helper()
		p, err := repo.List(ctx, f)
		require.NoError(t, err)
		require.Equal(t, len(p.Items), p.Total, "no paging in these calls")
		return ids(p.Items)
	}
	require.Equal(t, []string{a.ID, b.ID, c.ID, d.ID, e.ID}, list(store.DeadLetterFilter{}))
	require.Equal(t, []string{a.ID, b.ID, c.ID}, list(store.DeadLetterFilter{ExecutionID: e1.ID}))
	require.Equal(t, []string{a.ID, b.ID, d.ID}, list(store.DeadLetterFilter{Route: "fetch"}))
	require.Equal(t, []string{c.ID, e.ID}, list(store.DeadLetterFilter{Adapter: "html_to_markdown"}))
	require.Equal(t, []string{b.ID, c.ID, d.ID}, list(store.DeadLetterFilter{ErrorClass: "permanent"}))
	require.Equal(t, []string{d.ID}, list(store.DeadLetterFilter{ExecutionID: e2.ID, Route: "fetch", ErrorClass: "permanent"}))
	require.Equal(t, []string{b.ID, c.ID, d.ID, e.ID}, list(store.DeadLetterFilter{Since: b.CreatedAt}))
	require.Equal(t, []string{a.ID, b.ID}, list(store.DeadLetterFilter{Until: c.CreatedAt}))
	require.Equal(t, []string{b.ID, c.ID}, list(store.DeadLetterFilter{Since: b.CreatedAt, Until: d.CreatedAt}))
	require.Empty(t, list(store.DeadLetterFilter{Route: "nope"}))

	p, err := repo.List(ctx, store.DeadLetterFilter{Limit: 2, Offset: 2})
	require.NoError(t, err)
	require.Equal(t, 5, p.Total)
	require.Equal(t, []string{c.ID, d.ID}, ids(p.Items))

	for _, bad := range []store.DeadLetterFilter{
		{State: "gone"},
		{ExecutionID: "not-a-uuid"},
		{Since: d.CreatedAt, Until: b.CreatedAt},
	} {
		_, err := repo.List(ctx, bad)
		require.ErrorIs(t, err, store.ErrInvalidArgument, "%+v", bad)
		_, err = repo.Select(ctx, bad, 10)
		require.ErrorIs(t, err, store.ErrInvalidArgument, "%+v", bad)
		_, err = repo.DeleteMatching(ctx, bad)
		require.ErrorIs(t, err, store.ErrInvalidArgument, "%+v", bad)
	}

	// Select: original order, capped.
	sel, err := repo.Select(ctx, store.DeadLetterFilter{ErrorClass: "permanent", Limit: 1, Offset: 5}, 0)
	require.NoError(t, err)
	require.Len(t, sel, 3, "Limit and Offset are ignored")
	require.Equal(t, []string{b.ID, c.ID, d.ID}, []string{sel[0].ID, sel[1].ID, sel[2].ID})
	sel, err = repo.Select(ctx, store.DeadLetterFilter{}, 2)
	require.NoError(t, err)
	require.Len(t, sel, 2)
	require.Equal(t, a.ID, sel[0].ID)
	require.JSONEq(t, `{"n":1}`, string(sel[0].Payload))

	// GetMany: oldest first; unknown and malformed ids reported in order.
	unknown := "0190c3a8-7d2e-7000-8000-000000000000"
	found, missing, err := repo.GetMany(ctx, []string{e.ID, unknown, a.ID, "nope", a.ID})
	require.NoError(t, err)
	require.Len(t, found, 2)
	require.Equal(t, a.ID, found[0].ID)
	require.Equal(t, e.ID, found[1].ID)
	require.Equal(t, []string{unknown, "nope"}, missing)

	// Requeue b: it leaves the pending set but stays as a record.
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	newMsg := "0190c3a8-7d2e-7000-8000-0000000000bb"
	require.NoError(t, repo.MarkRequeued(ctx, b.ID, newMsg, at))
	require.NoError(t, repo.MarkRequeued(ctx, b.ID, newMsg, at), "marking again with the same message is a no-op")
	err = repo.MarkRequeued(ctx, b.ID, "0190c3a8-7d2e-7000-8000-0000000000cc", at)
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, store.CodeDeadLetterRequeued, store.Code(err))
	require.ErrorIs(t, repo.MarkRequeued(ctx, unknown, newMsg, at), store.ErrNotFound)
	require.ErrorIs(t, repo.MarkRequeued(ctx, "nope", newMsg, at), store.ErrNotFound)
	require.ErrorIs(t, repo.MarkRequeued(ctx, c.ID, "", at), store.ErrInvalidArgument)

	got, err := repo.Get(ctx, b.ID)
	require.NoError(t, err)
	require.NotNil(t, got.RequeuedAt)
	require.True(t, at.Equal(*got.RequeuedAt))
	require.Equal(t, newMsg, got.RequeuedAs)
	pending, err := repo.Get(ctx, a.ID)
	require.NoError(t, err)
	require.Nil(t, pending.RequeuedAt)
	require.Empty(t, pending.RequeuedAs)

	require.Equal(t, []string{a.ID, c.ID}, list(store.DeadLetterFilter{ExecutionID: e1.ID}), "pending by default")
	require.Equal(t, []string{a.ID, c.ID}, list(store.DeadLetterFilter{ExecutionID: e1.ID, State: store.DeadLetterPending}))
	require.Equal(t, []string{b.ID}, list(store.DeadLetterFilter{State: store.DeadLetterRequeued}))
	require.Equal(t, []string{a.ID, b.ID, c.ID}, list(store.DeadLetterFilter{ExecutionID: e1.ID, State: store.DeadLetterAll}))
	sel, err = repo.Select(ctx, store.DeadLetterFilter{ErrorClass: "permanent"}, 0)
	require.NoError(t, err)
	require.Len(t, sel, 2, "a requeued dead letter is not selected again")
	n, err := repo.CountByExecution(ctx, e1.ID)
	require.NoError(t, err)
	require.Equal(t, 2, n, "only pending dead letters count")

	// Concurrent requeues of one row: exactly one wins.
	const racers = 8
	errs := make(chan error, racers)
	for i := range racers {
		go func() {
			errs <- repo.MarkRequeued(ctx, c.ID, fmt.Sprintf("0190c3a8-7d2e-7000-8000-%012d", i+1), time.Now())
		}()
	}
	wins := 0
	for range racers {
		if err := <-errs; err == nil {
			wins++
		} else {
			require.ErrorIs(t, err, store.ErrConflict)
		}
	}
	require.Equal(t, 1, wins)

	// DeleteMatching honours the filter and the state.
	gone, err := repo.DeleteMatching(ctx, store.DeadLetterFilter{ExecutionID: e1.ID})
	require.NoError(t, err)
	require.Equal(t, 1, gone, "only the pending one of e1 (a)")
	gone, err = repo.DeleteMatching(ctx, store.DeadLetterFilter{ExecutionID: e1.ID, State: store.DeadLetterRequeued})
	require.NoError(t, err)
	require.Equal(t, 2, gone)
	gone, err = repo.DeleteMatching(ctx, store.DeadLetterFilter{Route: "nope"})
	require.NoError(t, err)
	require.Zero(t, gone)
	require.Equal(t, []string{d.ID, e.ID}, list(store.DeadLetterFilter{State: store.DeadLetterAll}))
	require.ErrorIs(t, repo.Delete(ctx, "nope"), store.ErrNotFound)
}
