// Package scratchdb gives a benchmark run its own PostgreSQL database,
// created from the administrative URL the test services export and dropped
// at the end, so runs never share state.
package scratchdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvAdminURL names the variable holding the administrative PostgreSQL URL
// (the one store/storetest reads too).
const EnvAdminURL = "FACTFLOW_TEST_DATABASE_URL"

// AdminURL is the administrative URL; makeTarget names the make target
// that provides it, for the error when it is missing.
func AdminURL(makeTarget string) (string, error) {
	u := os.Getenv(EnvAdminURL)
	if u == "" {
		return "", fmt.Errorf("%s is not set: run `make %s`, or start PostgreSQL with "+
			"`scripts/services.sh up postgres` and `eval \"$(scripts/services.sh env)\"`", EnvAdminURL, makeTarget)
	}
	return u, nil
}

// Create makes an empty database named prefix plus a random suffix and
// returns its URL and a function that drops it, connections and all.
func Create(ctx context.Context, admin, prefix string) (dbURL string, drop func(), err error) {
	base, err := url.Parse(admin)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("%s must be a postgres:// URL", EnvAdminURL)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := prefix + hex.EncodeToString(suffix[:])

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to the server given by %s: %w", EnvAdminURL, err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	_ = conn.Close(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("creating database %s: %w", name, err)
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dropping database %s: %v\n", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "dropping database %s: %v\n", name, err)
		}
	}
	u := *base
	u.Path = "/" + name
	return u.String(), drop, nil
}
