package embedded

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Source says where a provisioned database came from.
type Source string

const (
	// SourceExplicit: the database URL was given; nothing was started.
	SourceExplicit Source = "explicit"
	// SourceDocker: a container started through the local Docker engine.
	SourceDocker Source = "docker"
	// SourceLocal: a private cluster run with local PostgreSQL binaries.
	SourceLocal Source = "local"
)

// Options configure ProvisionPostgres. Zero values take the documented defaults.
type Options struct {
	// DataDir is the product's data directory; the private cluster lives in
	// <DataDir>/postgres (or under /var/tmp, see the package doc).
	// Default "./output".
	DataDir string
	// DatabaseURL, when set, is returned as is and nothing is provisioned.
	// The caller resolves it from --database-url, DATABASE_URL and app config.
	DatabaseURL string
	// PGBin is a directory holding initdb, pg_ctl and postgres. It wins over
	// FACTFLOW_PG_BIN and discovery; an unusable directory is an error.
	PGBin string
	// Database is the application database, created when missing.
	// Default "factflow".
	Database string
	// DisableDocker skips the Docker probe and testcontainers.
	DisableDocker bool
	// DockerProbeTimeout bounds the ping of each Docker endpoint found.
	// Default 500ms.
	DockerProbeTimeout time.Duration
	// Image is the container image used through Docker.
	// Default "pgvector/pgvector:pg17".
	Image string
	// RunAsUser runs the private cluster when the process is root.
	// Default "postgres".
	RunAsUser string
	// StartTimeout bounds one server start (initdb excluded).
	// Default 60s.
	StartTimeout time.Duration
	// Ephemeral turns off fsync and friends: much faster, and a crash may
	// lose the cluster. For tests only.
	Ephemeral bool
	// Logger receives what an operator should know (where the cluster
	// lives, a fallback taken). Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.DataDir == "" {
		o.DataDir = "./output"
	}
	if o.Database == "" {
		o.Database = "factflow"
	}
	if o.DockerProbeTimeout <= 0 {
		o.DockerProbeTimeout = 500 * time.Millisecond
	}
	if o.Image == "" {
		o.Image = "pgvector/pgvector:pg17"
	}
	if o.RunAsUser == "" {
		o.RunAsUser = "postgres"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Postgres is a provisioned database. Stop releases what provisioning
// started; it is safe to call more than once and from several goroutines.
type Postgres struct {
	// URL connects to the application database.
	URL string
	// Source tells which provisioning path was taken.
	Source Source
	// VectorAvailable reports whether the pgvector extension is installed on
	// the server (pg_available_extensions). For an explicit URL it is a
	// best-effort check that reads false when the server was unreachable.
	VectorAvailable bool
	// ClusterDir is the private cluster's directory (SourceLocal only).
	ClusterDir string
	// BinDir is the directory of the PostgreSQL binaries used (SourceLocal only).
	BinDir string
	// Version is the server's major version (SourceLocal only).
	Version string
	// Port is the loopback port of a private cluster (SourceLocal only).
	Port int

	stopOnce sync.Once
	stopErr  error
	stopFn   func(context.Context) error
	cluster  *cluster // SourceLocal only
}

// Stop shuts down what provisioning started (a fast shutdown for a private
// cluster, terminating a container) within ctx. For an explicit URL it does
// nothing.
func (p *Postgres) Stop(ctx context.Context) error {
	if p == nil || p.stopFn == nil {
		return nil
	}
	p.stopOnce.Do(func() { p.stopErr = p.stopFn(ctx) })
	return p.stopErr
}

// ProvisionPostgres returns a database for embedded mode: the explicit URL if
// one was given, else a Docker container when an engine answers, else a
// private cluster run with local binaries. See the package doc.
func ProvisionPostgres(ctx context.Context, opts Options) (*Postgres, error) {
	opts = opts.withDefaults()
	if opts.DatabaseURL != "" {
		p := &Postgres{URL: opts.DatabaseURL, Source: SourceExplicit}
		p.VectorAvailable = vectorBestEffort(ctx, opts.DatabaseURL, opts.Logger)
		return p, nil
	}
	if !opts.DisableDocker {
		if endpoint, ok := probeDocker(ctx, dockerEndpoints(), opts.DockerProbeTimeout); ok {
			p, err := startContainer(ctx, opts)
			if err == nil {
				return p, nil
			}
			opts.Logger.Warn("Docker answered but the PostgreSQL container did not start; using local PostgreSQL binaries",
				"docker", endpoint, "error", err)
		}
	}
	return startLocal(ctx, opts)
}
