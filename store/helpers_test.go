package store_test

import (
	"context"
	"testing"
	"time"

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

// outage cuts the database off; see storetest.Outage.
func outage(t testing.TB, dbURL string) (restore func()) {
	t.Helper()
	return storetest.Outage(t, dbURL)
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
