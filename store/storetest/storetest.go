// Package storetest gives tests their own migrated PostgreSQL database.
//
// Set FACTFLOW_TEST_DATABASE_URL to an administrative URL of a test server
// (for example postgres://postgres@127.0.0.1:55432/postgres, which
// `scripts/services.sh up postgres` provides). Every NewDB or URL call
// creates a database named after the test, migrates it and drops it when the
// test ends, so packages and tests can run in parallel.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/factflow/factflow/store"
)

// EnvURL names the environment variable holding the admin URL.
const EnvURL = "FACTFLOW_TEST_DATABASE_URL"

// AdminURL returns the admin URL of the test server, failing the test when
// it is not configured.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Fatalf("%s is not set: start the test services with `scripts/services.sh up postgres` "+
			"and export the URL it prints (e.g. postgres://postgres@127.0.0.1:55432/postgres)", EnvURL)
	}
	return u
}

// URL creates a fresh, migrated database for this test and returns its URL.
// The database is dropped (connections and all) when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	dbURL := URLUnmigrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatalf("opening test database %s: %v", DatabaseName(dbURL), err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrating test database %s: %v", DatabaseName(dbURL), err)
	}
	return dbURL
}

// URLUnmigrated is URL without the migrations: an empty database, for tests
// of migrating itself.
func URLUnmigrated(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	base, err := url.Parse(admin)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvURL)
	}
	name := databaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to the test server given by %s: %v (is it running? `scripts/services.sh up postgres`)", EnvURL, err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("creating test database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, admin, name) })

	u := *base
	u.Path = "/" + name
	return u.String()
}

// NewDB returns an open pool on a fresh, migrated database for this test.
// It is closed and the database dropped when the test ends.
func NewDB(t testing.TB) *store.DB {
	t.Helper()
	dbURL := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	// Registered after URL's drop, so it runs before it.
	t.Cleanup(db.Close)
	return db
}

// DatabaseName returns the database a URL made by URL points at.
func DatabaseName(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

func dropDatabase(t testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("dropping test database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("dropping test database %s: %v", name, err)
	}
}

// databaseName turns a test name into a database name: lower-case letters,
// digits and underscores, a random suffix, within PostgreSQL's 63 bytes.
func databaseName(testName string) string {
	var b strings.Builder
	b.WriteString("ff_")
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 44 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(suffix[:]))
	return b.String()
}
