package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestRouteStates(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.RouteStates()

	s, err := repo.Get(ctx, "fetch")
	require.NoError(t, err)
	require.Equal(t, store.RouteRunning, s.State, "never set means running")
	require.True(t, s.UpdatedAt.IsZero())

	paused, err := repo.Set(ctx, "fetch", store.RoutePaused)
	require.NoError(t, err)
	require.Equal(t, store.RoutePaused, paused.State)
	_, err = repo.Set(ctx, "parse", store.RoutePaused)
	require.NoError(t, err)
	resumed, err := repo.Set(ctx, "parse", store.RouteRunning)
	require.NoError(t, err)
	require.False(t, resumed.UpdatedAt.Before(paused.UpdatedAt))

	s, err = repo.Get(ctx, "fetch")
	require.NoError(t, err)
	require.Equal(t, store.RoutePaused, s.State)

	list, err := repo.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "fetch", list[0].RouteKey)
	require.Equal(t, store.RoutePaused, list[0].State)
	require.Equal(t, "parse", list[1].RouteKey)
	require.Equal(t, store.RouteRunning, list[1].State)

	_, err = repo.Set(ctx, "fetch", "stopped")
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	_, err = repo.Set(ctx, "", store.RoutePaused)
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}
