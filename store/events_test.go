package store_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestEventsAppendAndResume(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Events()
	e := newExecution(t, db) // records the "created" status event
	other := newExecution(t, db)

	var appended []store.ExecutionEvent
	for i := range 4 {
		ev, err := repo.Append(ctx, store.ExecutionEvent{ExecutionID: e.ID, Type: store.EventProgress, Route: "fetch",
			Data: map[string]any{"completed": float64(i)}})
		require.NoError(t, err)
		id, err := uuid.Parse(ev.ID)
		require.NoError(t, err)
		require.Equal(t, uuid.Version(7), id.Version())
		require.False(t, ev.CreatedAt.IsZero())
		appended = append(appended, ev)
	}
	_, err := repo.Append(ctx, store.ExecutionEvent{ExecutionID: other.ID, Type: store.EventProgress})
	require.NoError(t, err)

	all, err := repo.List(ctx, e.ID, "", 100)
	require.NoError(t, err)
	require.Len(t, all, 5, "created + 4 progress, none of the other execution")
	for i := 1; i < len(all); i++ {
		require.Less(t, all[i-1].ID, all[i].ID, "ordered by id")
	}

	after, err := repo.List(ctx, e.ID, appended[1].ID, 100)
	require.NoError(t, err)
	require.Len(t, after, 2)
	require.Equal(t, appended[2].ID, after[0].ID)
	require.Equal(t, map[string]any{"completed": float64(2)}, after[0].Data)
	require.Equal(t, "fetch", after[0].Route)

	limited, err := repo.List(ctx, e.ID, "", 2)
	require.NoError(t, err)
	require.Len(t, limited, 2)

	_, err = repo.List(ctx, e.ID, "garbage", 10)
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	_, err = repo.Append(ctx, store.ExecutionEvent{ExecutionID: uuid.NewString(), Type: store.EventStage})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = repo.Append(ctx, store.ExecutionEvent{ExecutionID: e.ID})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}
