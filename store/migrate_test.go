package store_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	require.NoError(t, db.Migrate(ctx), "a second Migrate must be a no-op")

	ms, err := store.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	var n int
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, len(ms), n, "each migration recorded once")

	status, err := db.MigrationStatus(ctx)
	require.NoError(t, err)
	require.Len(t, status, len(ms))
	for _, s := range status {
		require.True(t, s.Applied, "migration %s applied", s.Name)
		require.True(t, s.Known)
		require.False(t, s.Modified)
		require.NotNil(t, s.AppliedAt)
	}
}

func TestMigrateConcurrentlyFromTwoPools(t *testing.T) {
	t.Parallel()
	url := storetest.URLUnmigrated(t)
	ctx := testCtx(t)
	a, err := store.Open(ctx, url, store.Options{})
	require.NoError(t, err)
	defer a.Close()
	b, err := store.Open(ctx, url, store.Options{})
	require.NoError(t, err)
	defer b.Close()

	status, err := a.MigrationStatus(ctx)
	require.NoError(t, err)
	for _, s := range status {
		require.False(t, s.Applied, "nothing applied before Migrate")
	}

	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "Migrate call %d", i)
	}
	ms, err := store.Migrations()
	require.NoError(t, err)
	var n int
	require.NoError(t, a.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, len(ms), n)
	// The schema is usable.
	newExecution(t, b)
}

func TestMigrateRefusesAChangedMigration(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	_, err := db.Pool().Exec(ctx, `UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`)
	require.NoError(t, err)

	err = db.Migrate(ctx)
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, store.CodeMigrationMismatch, store.Code(err))

	status, err := db.MigrationStatus(ctx)
	require.NoError(t, err)
	require.True(t, status[0].Modified)
}

func TestMigrationStatusShowsVersionsThisBuildDoesNotKnow(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	_, err := db.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, '9999_future', 'x')`)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(ctx), "a newer schema does not stop an older build")

	status, err := db.MigrationStatus(ctx)
	require.NoError(t, err)
	last := status[len(status)-1]
	require.Equal(t, 9999, last.Version)
	require.True(t, last.Applied)
	require.False(t, last.Known)
}

func TestLineageTableIsTunedForAppendOnly(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	var opts []string
	require.NoError(t, db.Pool().QueryRow(testCtx(t), `SELECT reloptions FROM pg_class WHERE relname = 'lineage'`).Scan(&opts))
	require.Contains(t, opts, "fillfactor=100")
}
