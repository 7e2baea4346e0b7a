package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// TestAuditAppendListPrune: entries come back newest first, filters
// combine, the target matches as a prefix, and pruning drops only what is
// older than the cut.
func TestAuditAppendListPrune(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := context.Background()
	a := store.NewAudit(db)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, e := range []store.AuditEntry{
		{At: now.Add(-48 * time.Hour), Actor: "token:ci", ActorKind: "token", Action: "create-config", Method: "POST", Target: "/configs", Status: 201, Result: store.AuditOK},
		{At: now.Add(-2 * time.Hour), Actor: "alice", ActorKind: "oidc", Action: "delete-config", Method: "DELETE", Target: "/configs/a", Status: 403, Result: store.AuditDenied, ErrorCode: "AUTH_SCOPE_INSUFFICIENT"},
		{At: now.Add(-time.Hour), Actor: "alice", ActorKind: "oidc", Action: "run-config", Method: "POST", Target: "/configs/a/run", Status: 201, Result: store.AuditOK},
	} {
		require.NoError(t, a.Append(ctx, &e), i)
		require.NotEmpty(t, e.ID)
	}
	all, err := a.List(ctx, store.AuditFilter{}, 0, 0)
	require.NoError(t, err)
	require.Equal(t, 3, all.Total)
	require.Equal(t, "run-config", all.Items[0].Action, "newest first")
	require.Equal(t, "AUTH_SCOPE_INSUFFICIENT", all.Items[1].ErrorCode)

	pg, err := a.List(ctx, store.AuditFilter{Actor: "alice", Target: "/configs/a"}, 0, 0)
	require.NoError(t, err)
	require.Equal(t, 2, pg.Total)
	pg, err = a.List(ctx, store.AuditFilter{Result: store.AuditDenied, Since: now.Add(-3 * time.Hour), Until: now}, 0, 0)
	require.NoError(t, err)
	require.Equal(t, 1, pg.Total)
	pg, err = a.List(ctx, store.AuditFilter{}, 1, 1)
	require.NoError(t, err)
	require.Len(t, pg.Items, 1)
	require.True(t, pg.HasMore())

	n, err := a.Prune(ctx, now.Add(-24*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	all, err = a.List(ctx, store.AuditFilter{}, 0, 0)
	require.NoError(t, err)
	require.Equal(t, 2, all.Total)
}
