package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newConfig(t testing.TB, db *store.DB, name string) *store.PipelineConfig {
	t.Helper()
	c := &store.PipelineConfig{Name: name, YAML: "version: \"1.0\"\nname: " + name + "\n"}
	require.NoError(t, db.Configs().Create(testCtx(t), c))
	return c
}

func newExecution(t testing.TB, db *store.DB) *store.Execution {
	t.Helper()
	e := &store.Execution{}
	require.NoError(t, db.Executions().Create(testCtx(t), e))
	return e
}

// outage makes the database behind dbURL refuse connections and cuts the
// open ones; the returned function (also run at cleanup) lets them back.
func outage(t testing.TB, dbURL string) (restore func()) {
	t.Helper()
	ctx := testCtx(t)
	name := pgx.Identifier{storetest.DatabaseName(dbURL)}.Sanitize()
	admin, err := pgx.Connect(ctx, storetest.AdminURL(t))
	require.NoError(t, err)
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	require.NoError(t, err)
	_, err = admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid()`, storetest.DatabaseName(dbURL))
	require.NoError(t, err)
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, storetest.AdminURL(t))
		require.NoError(t, err)
		defer admin.Close(ctx)
		_, err = admin.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
		require.NoError(t, err)
	}
	t.Cleanup(restore)
	return restore
}

// openFresh opens a separate pool, so that checks after an outage do not
// meet connections the outage cut.
func openFresh(t testing.TB, dbURL string) *store.DB {
	t.Helper()
	db, err := store.Open(testCtx(t), dbURL, store.Options{})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}
