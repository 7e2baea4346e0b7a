package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Outage makes the database behind dbURL (from URL) refuse connections and
// cuts the open ones, as a database that went away would. The returned
// function, also run at cleanup, lets connections back in.
func Outage(t testing.TB, dbURL string) (restore func()) {
	t.Helper()
	name := DatabaseName(dbURL)
	admin := func(sql string, args ...any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, AdminURL(t))
		if err != nil {
			t.Fatalf("storetest: connecting as admin: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("storetest: %s: %v", sql, err)
		}
	}
	ident := pgx.Identifier{name}.Sanitize()
	admin("ALTER DATABASE " + ident + " ALLOW_CONNECTIONS false")
	admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	restored := false
	restore = func() {
		if !restored {
			restored = true
			admin("ALTER DATABASE " + ident + " ALLOW_CONNECTIONS true")
		}
	}
	t.Cleanup(restore)
	return restore
}
