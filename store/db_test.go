package store_test

import (
	"context"
	neturl "net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	ctx := testCtx(t)

	db, err := store.Open(ctx, url, store.Options{})
	require.NoError(t, err)
	require.EqualValues(t, 10, db.Pool().Config().MaxConns, "default pool size")
	require.Equal(t, "factflow", db.Pool().Config().ConnConfig.RuntimeParams["application_name"])
	require.NoError(t, db.Ping(ctx))
	db.Close()
	db.Close() // idempotent

	db, err = store.Open(ctx, withParam(t, url, "pool_max_conns", "3"), store.Options{})
	require.NoError(t, err)
	require.EqualValues(t, 3, db.Pool().Config().MaxConns, "the URL's pool size wins over the default")
	db.Close()

	db, err = store.Open(ctx, withParam(t, url, "pool_max_conns", "3"), store.Options{MaxConns: 5, ApplicationName: "worker"})
	require.NoError(t, err)
	require.EqualValues(t, 5, db.Pool().Config().MaxConns, "explicit options win")
	require.Equal(t, "worker", db.Pool().Config().ConnConfig.RuntimeParams["application_name"])
	db.Close()
}

func TestOpenFails(t *testing.T) {
	t.Parallel()
	_, err := store.Open(testCtx(t), "postgres://u:secret@[::1", store.Options{})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	require.NotContains(t, err.Error(), "secret", "the password never shows")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback refuses at once.
	_, err = store.Open(ctx, "postgres://postgres@127.0.0.1:1/none", store.Options{})
	require.Error(t, err)
	require.Contains(t, err.Error(), "127.0.0.1:1/none")
}

// withParam adds a query parameter to a database URL that may already
// carry some (sslmode=disable from the test environment).
func withParam(t *testing.T, raw, key, value string) string {
	t.Helper()
	u, err := neturl.Parse(raw)
	require.NoError(t, err)
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
