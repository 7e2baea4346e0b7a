package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/config"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/appconfig"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/server/httpguard"
	"github.com/factflow/factflow/server/metrics"
	"github.com/factflow/factflow/web"
)

// codeListenFailed: the HTTP address cannot be bound.
const codeListenFailed = "SERVE_LISTEN_FAILED"

type serveOptions struct {
	configFile  string
	embedded    bool
	host        string
	port        int
	dataDir     string
	databaseURL string
	queueURL    string
	storageURI  string
	logLevel    string
}

func newServeCmd() *cobra.Command {
	o := serveOptions{}
	def := appconfig.Defaults()
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the Factflow server: the HTTP API over the pipeline engine",
		Long: `Run the Factflow server: the HTTP API (/api/v1, /openapi.json, /docs) over
the pipeline engine, an in-process NATS JetStream broker unless --queue is
given, and filesystem storage under the data dir unless --storage is given.

Settings come from the built-in app config (or --config FILE), then the
environment (DATABASE_URL, FACTFLOW_PORT, …), then these flags: flags win.
A server that is not --embedded needs a PostgreSQL URL; --embedded uses what
is given and provisions the rest (a private PostgreSQL under the data dir).

At start the shipped pipelines are validated and registered as configs;
executions left running by a process that died are marked interrupted.
SIGINT or SIGTERM stops it gracefully within server.shutdown_timeout:
HTTP first, then executions (in-flight messages finish), lineage, the
broker, the database and a private PostgreSQL it started.`,
		Example: `  factflow serve --embedded
  factflow serve --embedded --port 0 --data-dir /tmp/ff
  DATABASE_URL=postgres://… factflow serve --config app.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), o.configFile, o.flags(cmd), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := c.Flags()
	f.StringVar(&o.configFile, "config", "", "app config YAML replacing the built-in one")
	f.BoolVar(&o.embedded, "embedded", false, "provision what is not given: a private PostgreSQL under the data dir [FACTFLOW_EMBEDDED]")
	f.StringVar(&o.host, "host", def.Server.Host, "address to listen on; auth mode none serves loopback only [FACTFLOW_HOST]")
	f.IntVar(&o.port, "port", def.Server.Port, "port to listen on; 0 picks a free one [FACTFLOW_PORT]")
	f.StringVar(&o.dataDir, "data-dir", def.DataDir, "data directory (storage, broker files, private PostgreSQL) [FACTFLOW_DATA_DIR]")
	f.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL URL [DATABASE_URL]")
	f.StringVar(&o.queueURL, "queue", "", "broker URL (nats://…); empty runs NATS in-process [FACTFLOW_QUEUE_URL]")
	f.StringVar(&o.storageURI, "storage", "", "storage URI (file://…); default <data-dir>/storage [FACTFLOW_STORAGE_URI]")
	f.StringVar(&o.logLevel, "log-level", def.Logging.Level, "log level: debug, info, warn, error [FACTFLOW_LOG_LEVEL]")
	return c
}

// flags returns the flags given explicitly: a default shown in the help
// must not override the environment or the config file.
func (o *serveOptions) flags(cmd *cobra.Command) appconfig.Flags {
	f := cmd.Flags()
	var out appconfig.Flags
	if f.Changed("embedded") {
		out.Embedded = &o.embedded
	}
	if f.Changed("host") {
		out.Host = &o.host
	}
	if f.Changed("port") {
		out.Port = &o.port
	}
	if f.Changed("data-dir") {
		out.DataDir = &o.dataDir
	}
	if f.Changed("database-url") {
		out.DatabaseURL = &o.databaseURL
	}
	if f.Changed("queue") {
		out.QueueURL = &o.queueURL
	}
	if f.Changed("storage") {
		out.StorageURI = &o.storageURI
	}
	if f.Changed("log-level") {
		out.LogLevel = &o.logLevel
	}
	return out
}

func serve(ctx context.Context, configFile string, flags appconfig.Flags, stdout, stderr io.Writer) error {
	started := time.Now()
	cfg, err := appconfig.Load(appconfig.Options{File: configFile, Flags: flags})
	if err != nil {
		return withExit(exitUsage, err)
	}
	log := cfg.NewLogger(stderr)
	log.Debug("app config", "config", cfg)

	// Bound before anything slow starts: a taken port fails at once, and
	// port 0 is resolved to the one to print.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr())
	if err != nil {
		return withExit(exitFailed, adapters.Coded(codeListenFailed,
			"choose another --port (0 picks a free one), or stop what listens there",
			fmt.Errorf("listening on %s: %w", cfg.Addr(), err)))
	}
	defer func() { _ = ln.Close() }() // Serve closes it too; this covers the paths before

	ccfg := cfg.ContainerConfig()
	ccfg.Logger = log
	ccfg.Registry = builtin.Registry()
	c, err := container.Start(ctx, ccfg)
	if err != nil {
		if ctx.Err() != nil {
			return withExit(exitInterrupted, errors.New("interrupted during start-up"))
		}
		return withExit(exitFailed, err)
	}
	budget := cfg.Server.ShutdownTimeout
	stopContainer := func(deadline time.Time) error {
		sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		return c.Stop(sctx)
	}
	// failStart stops what started and returns err with its exit code.
	failStart := func(code int, err error) error {
		if serr := stopContainer(time.Now().Add(budget)); serr != nil {
			log.Warn("stopping after a failed start", "error", serr)
		}
		if ctx.Err() != nil {
			return withExit(exitInterrupted, errors.New("interrupted during start-up"))
		}
		return withExit(code, err)
	}

	if len(c.Interrupted) > 0 {
		log.Warn("executions of a process that stopped without finishing them were marked interrupted",
			"count", len(c.Interrupted), "executions", strings.Join(c.Interrupted, ","))
	}
	strict := cfg.Pipelines.ValidateStrict
	shipped, err := container.RegisterShipped(ctx, c, config.Pipelines(), strict)
	if err != nil {
		return failStart(exitUsage, fmt.Errorf("registering shipped pipelines: %w", err))
	}
	pipelines := len(shipped.Pipelines)
	if cfg.Pipelines.Dir != "" {
		extra, err := container.RegisterPipelineDir(ctx, c, cfg.Pipelines.Dir, strict)
		if err != nil {
			return failStart(exitUsage, fmt.Errorf("registering pipelines of %s: %w", cfg.Pipelines.Dir, err))
		}
		pipelines += len(extra.Pipelines)
	}

	// Executions a stopped process left behind carry on here, from the
	// messages the broker kept for them.
	resumed, err := c.Manager.ResumeInterrupted(ctx)
	if err != nil {
		log.Warn("some interrupted executions could not be resumed", "error", err)
	}
	if len(resumed) > 0 {
		ids := make([]string, len(resumed))
		for i, ex := range resumed {
			ids[i] = ex.ID
		}
		log.Info("interrupted executions resumed", "count", len(resumed), "executions", strings.Join(ids, ","))
	}

	authCfg, err := authConfig(cfg.Auth, log)
	if err != nil {
		return failStart(exitUsage, err)
	}
	if err := bootstrapAuth(ctx, cfg.Auth, c.DB, log); err != nil {
		return failStart(exitFailed, err)
	}

	met, err := metrics.New(metrics.Options{Manager: c.Manager, DB: c.DB, Lineage: c.Lineage, Latency: c.Latency, Logger: log})
	if err != nil {
		return failStart(exitFailed, fmt.Errorf("registering metrics: %w", err))
	}
	defer met.Close()
	a, err := api.New(api.Options{
		DB:         c.DB,
		Manager:    c.Manager,
		Storage:    c.Storage,
		Queue:      c.Queue,
		Registry:   c.Registry,
		InstanceID: c.Instance.ID,
		Archives:   c.Archives,
		Vectors:    c.Vectors,
		Search:     c.Search,
		Chat:       c.Chat,
		LLM:        c.LLM,
		Webhooks:   c.Webhooks,
		Metrics:    met,
		Lineage:    c.Lineage,
		UI:         web.Handler(),
		RateLimit: httpguard.RateLimit{RequestsPerSecond: cfg.Security.RateLimit.RequestsPerSecond,
			Burst: cfg.Security.RateLimit.Burst},
		CORS: httpguard.CORS{AllowedOrigins: cfg.Server.CORS.AllowedOrigins,
			AllowCredentials: cfg.Server.CORS.AllowCredentials},
		QueueURL:       cfg.Queue.URL,
		Auth:           authCfg,
		RequestTimeout: cfg.Server.RequestTimeout,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,

		MaxConcurrentExecutions: cfg.Orchestrator.MaxConcurrentExecutions,
		Version:                 buildVersion(),
		StartedAt:               started,
		Logger:                  log,
	})
	if err != nil {
		return failStart(exitFailed, fmt.Errorf("building the HTTP API: %w", err))
	}
	// Requests live on their own context, canceled when shutdown begins:
	// event streams never go idle, so http.Server.Shutdown would otherwise
	// wait for them until its deadline.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: event streams stay open for as long as an
		// execution runs.
		BaseContext: func(net.Listener) context.Context { return reqCtx },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(cancelRequests)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	url := "http://" + net.JoinHostPort(strings.Trim(cfg.Server.Host, "[]"), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	// One write, so whoever reads the URL line reads the rest with it.
	fmt.Fprintf(stdout, "Factflow is serving on %s\n  data dir: %s\n  database: %s\n",
		url, c.DataDir(), describeDatabase(c, cfg))
	log.Info("serving", "url", url, "docs", url+"/docs", "pipelines", pipelines,
		"startup", time.Since(started).Round(time.Millisecond))

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "budget", budget)
	case err := <-served:
		runErr = withExit(exitFailed, fmt.Errorf("serving HTTP: %w", err))
		log.Error("the HTTP server stopped; shutting down", "error", err)
	}

	// Layered, within one budget: HTTP first (a quarter of it at most; the
	// engine's drain is sized to three quarters), then the container.
	deadline := time.Now().Add(budget)
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget/4)
	if err := srv.Shutdown(hctx); err != nil {
		log.Warn("HTTP connections did not close in time; closing them", "error", err)
		_ = srv.Close()
	}
	cancel()
	if err := stopContainer(deadline); err != nil {
		if runErr == nil {
			runErr = withExit(exitFailed, fmt.Errorf("shutting down: %w", err))
		} else {
			log.Warn("shutting down", "error", err)
		}
	}
	if runErr == nil {
		log.Info("stopped")
	}
	return runErr
}

// describeDatabase says where the data lives, without secrets.
func describeDatabase(c *container.Container, cfg *appconfig.Config) string {
	if pg := c.Postgres; pg != nil {
		switch {
		case pg.ClusterDir != "":
			return fmt.Sprintf("private PostgreSQL %s in %s (port %d, stopped on exit)", pg.Version, pg.ClusterDir, pg.Port)
		default:
			return fmt.Sprintf("PostgreSQL provisioned via %s (stopped on exit)", pg.Source)
		}
	}
	return appconfig.RedactURL(cfg.Database.URL)
}

// buildVersion is the module version the binary was built from.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
