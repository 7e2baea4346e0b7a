package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune the connection pool. Zero values take the documented
// defaults; pool settings given in the URL (pool_max_conns, …) win over the
// defaults but not over explicit Options.
type Options struct {
	// MaxConns caps open connections. Default 10.
	MaxConns int32
	// MinConns keeps this many connections open. Default 0.
	MinConns int32
	// MaxConnLifetime recycles connections. Default 1 hour.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes idle connections. Default 5 minutes.
	MaxConnIdleTime time.Duration
	// HealthCheckPeriod between pool health checks. Default 30 seconds.
	HealthCheckPeriod time.Duration
	// ConnectTimeout bounds establishing one connection. Default 5 seconds.
	ConnectTimeout time.Duration
	// ApplicationName shows in pg_stat_activity. Default "factflow".
	ApplicationName string
}

// DB is an open connection pool with the repositories on top of it. It is
// safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	// storageEventsMu is shared by every StorageEvents of this DB.
	storageEventsMu sync.Mutex
	// vectorState is what this DB knows about pgvector, shared by every
	// Vectors of it.
	vectorState *vectorState
}

// Open connects to PostgreSQL at url (postgres://… or key=value form) and
// pings it within ctx. It does not migrate: call Migrate.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may echo the URL, password included.
		return nil, &Error{Code: CodeInvalidArgument, Kind: ErrInvalidArgument, Msg: "parsing the database URL failed",
			Hint: "use postgres://user:password@host:port/database"}
	}
	applyOptions(cfg, opts)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the connection pool for %s:%d/%s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL at %s:%d/%s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return &DB{pool: pool, vectorState: &vectorState{}}, nil
}

func applyOptions(cfg *pgxpool.Config, o Options) {
	parsed := cfg.ConnString()
	// pool_* keys are distinctive enough for a substring test in both the
	// URL and the key=value form.
	has := func(key string) bool { return strings.Contains(parsed, key+"=") }
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = o.MaxConns
	case !has("pool_max_conns"):
		cfg.MaxConns = 10
	}
	if o.MinConns > 0 {
		cfg.MinConns = min(o.MinConns, cfg.MaxConns)
	}
	switch {
	case o.MaxConnLifetime > 0:
		cfg.MaxConnLifetime = o.MaxConnLifetime
	case !has("pool_max_conn_lifetime"):
		cfg.MaxConnLifetime = time.Hour
	}
	switch {
	case o.MaxConnIdleTime > 0:
		cfg.MaxConnIdleTime = o.MaxConnIdleTime
	case !has("pool_max_conn_idle_time"):
		cfg.MaxConnIdleTime = 5 * time.Minute
	}
	switch {
	case o.HealthCheckPeriod > 0:
		cfg.HealthCheckPeriod = o.HealthCheckPeriod
	case !has("pool_health_check_period"):
		cfg.HealthCheckPeriod = 30 * time.Second
	}
	switch {
	case o.ConnectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	case cfg.ConnConfig.ConnectTimeout == 0:
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	name := o.ApplicationName
	if name == "" {
		name = "factflow"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok || o.ApplicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = name
	}
}

// Close closes every connection; it waits for acquired connections to be
// released. Safe to call more than once.
func (db *DB) Close() { db.pool.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging PostgreSQL: %w", err)
	}
	return nil
}

// Pool exposes the pgx pool for packages that own further tables (search,
// chat, webhooks). Follow the pooling rule: never change session settings on
// a pooled connection; use SET LOCAL inside a transaction.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Configs returns the pipeline config repository.
func (db *DB) Configs() *Configs { return &Configs{pool: db.pool} }

// Executions returns the execution repository.
func (db *DB) Executions() *Executions { return &Executions{pool: db.pool} }

// Events returns the execution event (timeline) repository.
func (db *DB) Events() *Events { return &Events{pool: db.pool} }

// Lineage returns the lineage query repository. Writes go through
// LineageWriter.
func (db *DB) Lineage() *Lineage { return &Lineage{pool: db.pool} }

// DeadLetters returns the dead-letter repository.
func (db *DB) DeadLetters() *DeadLetters { return &DeadLetters{pool: db.pool} }

// ArchiveJobs stores content archive jobs.
func (db *DB) ArchiveJobs() *ArchiveJobs { return &ArchiveJobs{pool: db.pool} }

// StorageEvents is the storage event feed.
func (db *DB) StorageEvents() *StorageEvents {
	return &StorageEvents{pool: db.pool, mu: &db.storageEventsMu}
}

// RouteStates returns the route pause/resume repository.
func (db *DB) RouteStates() *RouteStates { return &RouteStates{pool: db.pool} }

// Page is one page of a list with the total number of matching rows.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// HasMore reports whether rows follow this page.
func (p Page[T]) HasMore() bool { return p.Offset+len(p.Items) < p.Total }

// Pagination bounds applied by every List method.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

func clampPage(limit, offset int) (int, int) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}

// NewID returns a new UUIDv7 string: time-ordered, so ids sort by creation.
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("generating a UUIDv7: %w", err)
	}
	return id.String(), nil
}

// validID reports whether s is a UUID in any accepted spelling, returning its
// canonical form.
func validID(s string) (string, bool) {
	id, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return id.String(), true
}
