package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/archive"
	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/netguard"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/queue"
	amqpq "github.com/factflow/factflow/queue/amqp"
	natsq "github.com/factflow/factflow/queue/nats"
	pulsarq "github.com/factflow/factflow/queue/pulsar"
	stompq "github.com/factflow/factflow/queue/stomp"
	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/server/embedded"
	"github.com/factflow/factflow/server/metrics"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
	"github.com/factflow/factflow/storage/s3"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

// Config says what to wire. Empty DatabaseURL, QueueURL and StorageURI
// mean "provision it": a private PostgreSQL cluster, an in-process NATS
// JetStream server and filesystem storage under DataDir.
type Config struct {
	DataDir     string
	DatabaseURL string
	QueueURL    string
	StorageURI  string
	// S3 settles s3:// and minio:// storage URIs; the standard AWS
	// variables fill what it leaves empty.
	S3 s3.Config
	// Lineage records one row per message per adapter (default on; off
	// only for benchmarks).
	DisableLineage bool
	// NATSSyncAlways makes the embedded JetStream fsync every write.
	NATSSyncAlways bool
	// AllowPrivateTargets lets crawlers reach loopback/private addresses
	// (the embedded default); AllowedHosts exempts single hosts.
	AllowPrivateTargets bool
	AllowedHosts        []string
	UserAgent           string
	// MaxConcurrentExecutions caps running executions (default 10).
	MaxConcurrentExecutions int
	// ShutdownTimeout is the whole shutdown budget (default 30s); in-flight
	// messages get 3/4 of it.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Registry of adapters (default: every built-in). Pass the one a
	// pipeline was validated against so both agree.
	Registry *adapters.Registry
	// LLMProfiles are app config llm.providers; the offline "hashing" and
	// "extractive" profiles exist beside them. DefaultEmbedding and
	// DefaultCompletion name the profiles used when none is named.
	LLMProfiles       []llm.Profile
	DefaultEmbedding  string
	DefaultCompletion string
	// SearchLanguage is the text search configuration of full-text
	// queries (default english); SearchDefaultModel the embedding slot
	// searched when a request names none.
	SearchLanguage     string
	SearchDefaultModel string
	// WebhookSchedule is the wait before each retry of a webhook delivery
	// (nil: 1m, 5m, 30m, 2h, 12h); WebhookPollInterval how often the
	// dispatcher looks for due deliveries (default 1s). Tests shorten both.
	WebhookSchedule     []time.Duration
	WebhookPollInterval time.Duration
	// SecretKey (64 hex characters, a secret) encrypts the stored secrets
	// that must stay usable, such as webhook signing secrets. Empty: the
	// key file WebhookKeyFile in DataDir, created on first start.
	SecretKey string
	// AuditRetention is how long audit records are kept (pruned at
	// start); 0 keeps them forever.
	AuditRetention time.Duration
}

// StorageEventRetention is how long the storage event feed keeps an event
// (pruned at start).
const StorageEventRetention = 7 * 24 * time.Hour

// Container owns every long-lived service and their lifecycle.
type Container struct {
	cfg      Config
	log      *slog.Logger
	Postgres *embedded.Postgres // nil when DatabaseURL was given
	DB       *store.DB
	// Instance is this process's lease on the executions it owns.
	Instance *store.Instance
	Lineage  *store.LineageWriter // nil when lineage is off
	// Latency observes adapter step durations for the metrics (nil when
	// lineage is off: the engine then builds no lineage rows at all).
	Latency  *metrics.LatencySink
	Queue    queue.Provider
	NATS     *natsq.Server // nil with an external broker
	Storage  storage.Store
	Registry *adapters.Registry
	Manager  *orchestrator.Manager
	// Topics forwards events to the broker's system topics (nil when the
	// broker has no topics).
	Topics *orchestrator.TopicForwarder
	// Archives builds content archives.
	Archives *archive.Service
	// LLM holds the LLM profiles; Vectors the segments and embeddings
	// (VectorAvailable says whether pgvector could be enabled); Search
	// and Chat serve the search and chat APIs.
	LLM             *llm.Registry
	Vectors         *store.Vectors
	VectorAvailable bool
	Search          *search.Service
	Chat            *chat.Service
	// Webhooks holds the subscriptions and dispatches their deliveries.
	Webhooks *webhooks.Service
	// Interrupted lists executions of stopped processes found running at
	// start and marked interrupted.
	Interrupted []string

	stops []stopStep
}

type stopStep struct {
	name string
	fn   func(context.Context) error
}

// Start provisions and wires every service. On error, whatever was started
// is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Container, err error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "output"
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Factflow/1.0 (+https://github.com/factflow/factflow)"
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving data dir: %w", err)
	}
	cfg.DataDir = dataDir
	// 0755 so that a private PostgreSQL cluster running as its own user
	// can live in <data-dir>/postgres; what is inside keeps tighter modes.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, adapters.Coded("DATA_DIR_UNUSABLE", "choose a writable --data-dir",
			fmt.Errorf("creating data dir %s: %w", dataDir, err))
	}
	c := &Container{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			if serr := c.Stop(sctx); serr != nil {
				c.log.Warn("stopping after a failed start", "error", serr)
			}
		}
	}()

	if err := c.startDatabase(ctx); err != nil {
		return nil, err
	}
	if err := c.startQueue(ctx); err != nil {
		return nil, err
	}
	if err := c.startStorage(ctx); err != nil {
		return nil, err
	}
	if err := c.startEngine(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Container) onStop(name string, fn func(context.Context) error) {
	c.stops = append(c.stops, stopStep{name: name, fn: fn})
}

func (c *Container) startDatabase(ctx context.Context) error {
	dbURL := c.cfg.DatabaseURL
	if dbURL == "" {
		pg, err := embedded.ProvisionPostgres(ctx, embedded.Options{
			DataDir: c.cfg.DataDir,
			Logger:  c.log,
		})
		if err != nil {
			return fmt.Errorf("provisioning PostgreSQL: %w", err)
		}
		c.Postgres = pg
		c.onStop("postgres", pg.Stop)
		dbURL = pg.URL
	}
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		return adapters.Coded("DATABASE_UNREACHABLE",
			"check --database-url / DATABASE_URL, or leave both empty to use a private cluster under the data dir",
			fmt.Errorf("opening database: %w", err))
	}
	c.DB = db
	c.onStop("database", func(context.Context) error { db.Close(); return nil })
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrating database: %w", err)
	}
	// Missing pgvector is no reason to refuse the start: vector features
	// answer PGVECTOR_UNAVAILABLE and the rest works.
	vec, err := db.EnsureVectorSchema(ctx)
	if err != nil {
		return fmt.Errorf("preparing the vector schema: %w", err)
	}
	c.VectorAvailable = vec
	c.Vectors = db.Vectors()
	if !vec {
		c.log.Warn("pgvector is not available: embeddings, semantic search and chat retrieval are disabled",
			"code", store.CodeVectorUnavailable,
			"hint", "install the pgvector extension for this PostgreSQL (see docs: running) and restart")
	}
	// This process's lease on the executions it will run; executions of
	// processes that died (their lease is free) say they were interrupted,
	// and a cancel a crash cut short is completed. Other live processes
	// sharing the database are left alone.
	inst, err := db.RegisterInstance(ctx)
	if err != nil {
		return fmt.Errorf("registering this instance: %w", err)
	}
	c.Instance = inst
	c.onStop("instance lease", inst.Close)
	rec, err := db.Executions().RecoverOrphans(ctx, inst.ID)
	if err != nil {
		return fmt.Errorf("recovering executions of stopped processes: %w", err)
	}
	c.Interrupted = rec.Interrupted
	// The storage event feed is for resuming live views, not an archive.
	if n, err := db.StorageEvents().Prune(ctx, time.Now().Add(-StorageEventRetention)); err != nil {
		c.log.Warn("pruning old storage events", "error", err)
	} else if n > 0 {
		c.log.Info("pruned old storage events", "deleted", n)
	}
	if r := c.cfg.AuditRetention; r > 0 {
		if n, err := store.NewAudit(db).Prune(ctx, time.Now().Add(-r)); err != nil {
			c.log.Warn("pruning old audit records", "error", err)
		} else if n > 0 {
			c.log.Info("pruned old audit records", "deleted", n, "retention", r)
		}
	}
	if !c.cfg.DisableLineage {
		w, err := store.NewLineageWriter(db, store.WriterOptions{
			SpillDir: filepath.Join(c.cfg.DataDir, "lineage-spill"),
			Logger:   c.log,
		})
		if err != nil {
			return fmt.Errorf("starting lineage writer: %w", err)
		}
		c.Lineage = w
		c.onStop("lineage writer", w.Close)
	}
	return nil
}

// queueRef names where executions' messages live, for restart recovery:
// the broker's scheme and address without credentials or options, or the
// embedded broker's store directory.
func queueRef(queueURL, embeddedStore string) string {
	if queueURL == "" {
		return "embedded:" + embeddedStore
	}
	u, err := url.Parse(queueURL)
	if err != nil {
		// Stable, and without the credentials the URL may hold.
		sum := sha256.Sum256([]byte(queueURL))
		return "url-sha256:" + hex.EncodeToString(sum[:8])
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.Path
}

// queueURLHint shows the queue URL forms the container accepts.
const queueURLHint = "use nats://host:port, amqp://user:password@host:port/, stomp://user:password@host:61613 " +
	"or pulsar://host:6650?admin=http://host:8080"

func (c *Container) startQueue(ctx context.Context) error {
	cfg := natsq.Config{URL: c.cfg.QueueURL, Logger: c.log}
	if cfg.URL == "" {
		srv, err := natsq.StartServer(ctx, natsq.ServerOptions{
			StoreDir:   filepath.Join(c.cfg.DataDir, "nats"),
			SyncAlways: c.cfg.NATSSyncAlways,
			Logger:     c.log,
		})
		if err != nil {
			return fmt.Errorf("starting embedded NATS: %w", err)
		}
		c.NATS = srv
		c.onStop("embedded NATS", srv.Shutdown)
		cfg.Server = srv
	} else {
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return adapters.Coded("QUEUE_URL_INVALID", queueURLHint+"; percent-encode reserved characters such as # / ? @ in a password",
				fmt.Errorf("parsing queue URL: %s", queue.URLParseProblem(err)))
		}
		var (
			p    queue.Provider
			kind string
		)
		switch strings.ToLower(u.Scheme) {
		case "nats", "tls":
		case "amqp", "amqps":
			kind = "AMQP"
			p, err = amqpq.New(ctx, amqpq.Config{URL: cfg.URL, Logger: c.log})
		case "stomp":
			kind = "STOMP"
			p, err = stompq.New(ctx, stompq.Config{URL: cfg.URL, Logger: c.log})
		case "pulsar", "pulsar+ssl":
			kind = "Pulsar"
			p, err = pulsarq.New(ctx, pulsarq.Config{URL: cfg.URL, Logger: c.log})
		default:
			return adapters.Coded("QUEUE_PROVIDER_UNSUPPORTED",
				"supported: nats://, amqp://, amqps://, stomp://, pulsar:// or pulsar+ssl:// (or leave the queue URL empty for the embedded broker)",
				fmt.Errorf("no queue provider for scheme %q", u.Scheme))
		}
		if kind != "" {
			if err != nil {
				return fmt.Errorf("connecting to %s: %w", kind, err)
			}
			c.Queue = p
			c.onStop("queue provider", p.Close)
			return nil
		}
	}
	p, err := natsq.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connecting to NATS: %w", err)
	}
	c.Queue = p
	c.onStop("queue provider", p.Close)
	return nil
}

func (c *Container) startStorage(ctx context.Context) error {
	uri := c.cfg.StorageURI
	if uri == "" {
		uri = "file://" + filepath.ToSlash(filepath.Join(c.cfg.DataDir, "storage"))
	}
	scheme, _, _ := strings.Cut(uri, "://")
	switch strings.ToLower(scheme) {
	case "file":
		s, err := fs.Open(uri)
		if err != nil {
			return fmt.Errorf("opening storage %s: %w", uri, err)
		}
		c.Storage = s
	case "s3", "minio":
		s, err := s3.Open(ctx, uri, c.cfg.S3.Merge(s3.ConfigFromEnv(os.LookupEnv)))
		if err != nil {
			var se *s3.Error
			if errors.As(err, &se) {
				return adapters.Coded(se.Code, se.Hint, fmt.Errorf("opening storage: %w", err))
			}
			return fmt.Errorf("opening storage: %w", err)
		}
		c.Storage = s
	default:
		return adapters.Coded("STORAGE_URI_UNSUPPORTED", "use file://<dir>, s3://bucket[/prefix] or minio://bucket[/prefix]",
			fmt.Errorf("no storage provider for scheme %q", scheme))
	}
	return nil
}

func (c *Container) startEngine(ctx context.Context) error {
	guard := netguard.Guard{AllowPrivate: c.cfg.AllowPrivateTargets, AllowedHosts: c.cfg.AllowedHosts}
	if err := guard.Validate(); err != nil {
		return fmt.Errorf("security.allowed_hosts: %w", err)
	}
	c.Registry = c.cfg.Registry
	if c.Registry == nil {
		c.Registry = builtin.Registry()
	}
	profiles, err := llm.NewRegistry(c.cfg.LLMProfiles, llm.Options{
		Logger:            c.log,
		DefaultEmbedding:  c.cfg.DefaultEmbedding,
		DefaultCompletion: c.cfg.DefaultCompletion,
	})
	if err != nil {
		return fmt.Errorf("llm profiles: %w", err)
	}
	c.LLM = profiles
	c.Search = search.New(c.Vectors, profiles, search.Options{
		DefaultModel: c.cfg.SearchDefaultModel,
		Language:     c.cfg.SearchLanguage,
		Logger:       c.log,
	})
	c.Chat = chat.New(c.Search, c.Vectors, c.DB.ChatThreads(), profiles, chat.Options{Logger: c.log})
	opts := orchestrator.Options{
		Registry:                c.Registry,
		Queue:                   c.Queue,
		Storage:                 c.Storage,
		Executions:              c.DB.Executions(),
		DeadLetters:             c.DB.DeadLetters(),
		Events:                  c.DB.Events(),
		RouteStates:             c.DB.RouteStates(),
		StorageEvents:           c.DB.StorageEvents(),
		HTTP:                    netguard.NewHTTPClient(guard, netguard.ClientOptions{Timeout: -1}),
		AllowPrivateTargets:     c.cfg.AllowPrivateTargets,
		AllowedHosts:            c.cfg.AllowedHosts,
		UserAgent:               c.cfg.UserAgent,
		DataDir:                 c.cfg.DataDir,
		Logger:                  c.log,
		MaxConcurrentExecutions: c.cfg.MaxConcurrentExecutions,
		DrainTimeout:            c.cfg.ShutdownTimeout * 3 / 4,
		InstanceID:              c.Instance.ID,
		QueueRef:                queueRef(c.cfg.QueueURL, filepath.Join(c.cfg.DataDir, "nats")),
		LLM:                     profiles,
		Segments:                c.Vectors,
	}
	if c.Lineage != nil {
		// Step latencies are observed on their way to the lineage writer.
		c.Latency = metrics.NewLatencySink(c.Lineage)
		opts.Lineage = c.Latency
	}
	m, err := orchestrator.New(opts)
	if err != nil {
		return fmt.Errorf("starting orchestrator: %w", err)
	}
	if err := m.LoadRouteStates(ctx); err != nil {
		return err
	}
	c.Manager = m
	// After a database outage cut the lease, another process may have
	// taken this one's executions over; those stop here.
	c.Instance.OnRetaken(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.VerifyOwnership(ctx); err != nil {
			c.log.Warn("checking the ownership of running executions after the lease was taken back", "error", err)
		}
	})
	// Registered before the orchestrator's stop so that it stops after it:
	// the interrupted statuses of a shutdown still reach the topics.
	if tp, ok := c.Queue.(orchestrator.TopicPublisher); ok {
		c.Topics = orchestrator.ForwardTopics(m.Bus(), tp, c.log)
		c.onStop("system topics", c.Topics.Stop)
	}
	if err := c.startWebhooks(m); err != nil {
		// The orchestrator's stop is not registered yet.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(err, m.Shutdown(sctx))
	}
	c.onStop("orchestrator", m.Shutdown)

	// Archives read the store itself: their reads and writes are not
	// artefacts of any execution.
	c.Archives = archive.New(c.DB, c.Storage, c.Instance.ID, c.log)
	if failed, err := c.Archives.Recover(ctx); err != nil {
		c.log.Warn("failing archive jobs of stopped processes", "error", err)
	} else if len(failed) > 0 {
		c.log.Warn("archive jobs of a process that stopped were marked failed", "jobs", strings.Join(failed, ","))
	}
	c.onStop("archive jobs", c.Archives.Stop)
	return nil
}

// Stop shuts down in layers, in reverse start order: executions are
// interrupted (in-flight work drains first), lineage is flushed, the broker
// and the database are closed, and a private PostgreSQL is stopped last.
// Each layer runs even when an earlier one failed.
func (c *Container) Stop(ctx context.Context) error {
	var errs []error
	for i := len(c.stops) - 1; i >= 0; i-- {
		s := c.stops[i]
		if err := s.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", s.name, err))
		}
	}
	c.stops = nil
	return errors.Join(errs...)
}

// DataDir is the absolute data directory.
func (c *Container) DataDir() string { return c.cfg.DataDir }
