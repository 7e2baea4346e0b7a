package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/factflow/factflow/store"
)

// The fallback of NoVectorDatabaseURL: a role that may not create the
// extension on a server that has it.
func TestUnprivilegedDatabaseCannotCreatePgvector(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dbURL := unprivilegedDatabase(ctx, t, AdminURL(t))
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ok, err := db.EnsureVectorSchema(ctx)
	if err != nil || ok {
		t.Fatalf("EnsureVectorSchema = %v, %v; want false, nil", ok, err)
	}
	_, err = db.Vectors().Semantic(ctx, store.VectorQuery{Model: "m", Vector: []float32{1}})
	if store.Code(err) != store.CodeVectorUnavailable {
		t.Fatalf("Semantic error %v; want %s", err, store.CodeVectorUnavailable)
	}
}

func TestNoVectorDatabaseURLIsRelocatedCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// The test services run PostgreSQL from local binaries, so the
	// relocated cluster must work here; the role fallback is for servers
	// whose binaries are out of reach.
	dbURL, err := relocatedCluster(ctx, t, AdminURL(t))
	if err != nil {
		t.Fatalf("no relocated cluster: %v", err)
	}
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var avail bool
	if err := db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&avail); err != nil {
		t.Fatal(err)
	}
	if avail {
		t.Fatal("the relocated cluster offers pgvector")
	}
}
