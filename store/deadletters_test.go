package store_test

import (
	"encoding/json"
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

	page, err := repo.List(ctx, e1.ID, 2, 0)
	require.NoError(t, err)
	require.Equal(t, 3, page.Total)
	require.Len(t, page.Items, 2)
	require.Equal(t, d.ID, page.Items[0].ID, "oldest first")
	all, err := repo.List(ctx, "", 10, 0)
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
