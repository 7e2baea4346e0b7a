package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the advisory lock serialising Migrate across
// processes ("factflow" in ASCII).
const migrationLockKey int64 = 0x66616374666c6f77

// Migration is one embedded schema change, named NNNN_description.sql.
type Migration struct {
	Version  int
	Name     string
	Checksum string // hex SHA-256 of the file
	sql      string
}

// MigrationState is a migration as the database sees it.
type MigrationState struct {
	Version   int        `json:"version"`
	Name      string     `json:"name"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
	// Known is false for a version recorded in the database that this build
	// does not embed (the schema is newer than the binary).
	Known bool `json:"known"`
	// Modified is true when the applied file differs from the embedded one.
	Modified bool `json:"modified,omitempty"`
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: want NNNN_description.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"),
			Checksum: hex.EncodeToString(sum[:]), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

const (
	sqlMigrationLock        = `SELECT pg_advisory_xact_lock($1)`
	sqlCreateMigrationTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`
	sqlMigrationChecksum   = `SELECT checksum FROM schema_migrations WHERE version = $1`
	sqlRecordMigration     = `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`
	sqlMigrationTableExist = `SELECT to_regclass('schema_migrations') IS NOT NULL`
	sqlAppliedMigrations   = `SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version`
)

// Migrate applies every embedded migration the database lacks, each in its
// own transaction, in version order. A transaction-scoped advisory lock makes
// concurrent Migrate calls (several processes starting together) safe: the
// second waits, then finds the work done. An applied migration whose file
// changed since is an error: migrations are forward-only, add a new one.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := db.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, m Migration) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlMigrationLock, migrationLockKey); err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, sqlCreateMigrationTable); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		var applied string
		err := tx.QueryRow(ctx, sqlMigrationChecksum, m.Version).Scan(&applied)
		switch {
		case err == nil:
			if applied != m.Checksum {
				return &Error{Code: CodeMigrationMismatch, Kind: ErrConflict,
					Msg:  fmt.Sprintf("migration %s was changed after it was applied", m.Name),
					Hint: "migrations are forward-only: restore the original file and add a new numbered migration"}
			}
			return nil
		case !isNoRows(err):
			return fmt.Errorf("reading migration %d: %w", m.Version, err)
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, sqlRecordMigration, m.Version, m.Name, m.Checksum); err != nil {
			return fmt.Errorf("recording migration %s: %w", m.Name, err)
		}
		return nil
	})
}

// MigrationStatus lists embedded and applied migrations side by side, in
// version order.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*MigrationState{}
	var out []MigrationState
	for _, m := range ms {
		out = append(out, MigrationState{Version: m.Version, Name: m.Name, Known: true})
	}
	for i := range out {
		byVersion[out[i].Version] = &out[i]
	}
	checksums := map[int]string{}
	for _, m := range ms {
		checksums[m.Version] = m.Checksum
	}

	var exists bool
	if err := db.pool.QueryRow(ctx, sqlMigrationTableExist).Scan(&exists); err != nil {
		return nil, fmt.Errorf("looking for schema_migrations: %w", err)
	}
	if !exists {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, sqlAppliedMigrations)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	var extra []MigrationState
	for rows.Next() {
		var (
			v         int
			name, sum string
			appliedAt time.Time
		)
		if err := rows.Scan(&v, &name, &sum, &appliedAt); err != nil {
			return nil, fmt.Errorf("reading schema_migrations: %w", err)
		}
		at := appliedAt
		if st, ok := byVersion[v]; ok {
			st.Applied, st.AppliedAt, st.Modified = true, &at, sum != checksums[v]
			continue
		}
		extra = append(extra, MigrationState{Version: v, Name: name, Applied: true, AppliedAt: &at})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	out = append(out, extra...)
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
