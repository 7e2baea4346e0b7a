package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/archive"
	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/server/httpguard"
	"github.com/factflow/factflow/server/metrics"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

// Options are the services the API serves.
type Options struct {
	DB       *store.DB
	Manager  *orchestrator.Manager
	Storage  storage.Store
	Queue    queue.Provider
	Registry *adapters.Registry
	// InstanceID is this process's execution lease (store.Instance.ID).
	InstanceID string
	Version    string
	StartedAt  time.Time
	Logger     *slog.Logger
	// HeartbeatInterval spaces SSE keep-alive comments (default 15s).
	HeartbeatInterval time.Duration
	// PollInterval bounds how long an event stream waits before looking
	// for events this process was not told about, e.g. of an execution
	// another instance runs (default 1s).
	PollInterval time.Duration
	// MaxBodyBytes caps request bodies (default 4 MiB).
	MaxBodyBytes int64
	// Auth says how callers are authenticated (zero: mode none, everyone
	// is the local operator with every scope). Tokens defaults to the API
	// tokens in DB.
	Auth auth.Config
	// RequestTimeout bounds each operation but the event streams and
	// downloads (zero: 60s; negative: none).
	RequestTimeout time.Duration
	// Archives serves /content/archive (nil: those operations are absent).
	Archives *archive.Service
	// Vectors, Search and Chat serve /indexes, /search and /chat (each
	// nil: those operations are absent). LLM lists the profiles in
	// GET /system/info.
	Vectors *store.Vectors
	Search  *search.Service
	Chat    *chat.Service
	LLM     *llm.Registry
	// Webhooks serves /webhooks (nil: those operations are absent).
	Webhooks *webhooks.Service
	// UI answers the GETs no operation claims, except under the server's
	// own prefixes (nil: those are plain 404s).
	UI http.Handler
	// RateLimit caps each client's requests (zero: no limit); health
	// probes and /metrics are not counted.
	RateLimit httpguard.RateLimit
	// CORS lists the other origins whose pages may call the API (empty:
	// same origin only).
	CORS httpguard.CORS

	// System and metrics (all optional).
	// Metrics, when set, is served at /metrics and times every operation.
	Metrics *metrics.Metrics
	// Lineage adds the lineage writer's state to GET /system/health?debug=true.
	Lineage *store.LineageWriter
	// QueueURL is the broker URL as configured (empty: the embedded
	// broker); it is shown redacted by GET /system/info.
	QueueURL string
	// MaxConcurrentExecutions is the orchestrator's cap, for
	// GET /system/info and the debug health.
	MaxConcurrentExecutions int
}

// API is the HTTP API.
type API struct {
	opts     Options
	log      *slog.Logger
	handler  http.Handler
	huma     huma.API
	authn    *auth.Authenticator
	tokens   *store.Tokens
	auditLog *store.Audit
}

// RequestIDHeader carries the correlation id of a request; a client may set
// it, otherwise the server makes one. It is echoed on every response.
const RequestIDHeader = "X-Request-ID"

type ctxKey int

const requestIDKey ctxKey = iota

var installErrors sync.Once

// New builds the API over opts.
func New(opts Options) (*API, error) {
	if opts.DB == nil || opts.Manager == nil || opts.Storage == nil || opts.Registry == nil {
		return nil, fmt.Errorf("api: DB, Manager, Storage and Registry are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.StartedAt.IsZero() {
		opts.StartedAt = time.Now()
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 15 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.Auth.Mode == "" {
		opts.Auth.Mode = auth.ModeNone
	}
	if opts.Auth.Tokens == nil {
		opts.Auth.Tokens = store.NewTokens(opts.DB)
	}
	if opts.Auth.Logger == nil {
		opts.Auth.Logger = opts.Logger
	}
	authn, err := auth.New(opts.Auth)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	installErrors.Do(func() {
		huma.NewErrorWithContext = newHumaError
		// NewError also names the error schema in the OpenAPI document.
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return newHumaError(nil, status, msg, errs...)
		}
	})

	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("Factflow API", opts.Version)
	cfg.Info.Description = "Run YAML pipelines of adapters over real message brokers; " +
		"inspect executions, lineage and artefacts. Errors are RFC 9457 problem+json with a stable error_code."
	cfg.OpenAPIPath = "/openapi"
	cfg.DocsPath = "/docs"
	// No $schema links injected into responses: clients get plain objects.
	cfg.CreateHooks = nil
	cfg.Transformers = append(cfg.Transformers, stampProblem)
	a := &API{opts: opts, log: opts.Logger, authn: authn, tokens: store.NewTokens(opts.DB), auditLog: store.NewAudit(opts.DB)}
	a.huma = humago.New(mux, cfg)
	// Before any operation is registered: huma binds middlewares then.
	a.useMetrics()
	a.useAuth()

	a.registerSystem()
	a.registerAdapters()
	a.registerConfigs()
	a.registerExecutions()
	a.registerEvents()
	a.registerPipelines()
	a.registerStorage()
	a.registerDeadLetters()
	a.registerStorageEvents()
	a.registerReplay()
	a.registerContent()
	a.registerLineage()
	a.registerSearch()
	a.registerIndexes()
	a.registerChat()
	a.registerWebhooks()
	a.registerAuth()

	a.documentOperations()

	// Prometheus scrapes /metrics outside /api/v1.
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", requireScope(auth.Read, opts.Metrics.Handler()))
	}
	if opts.UI != nil {
		// "GET /" loses to every more specific pattern, and a path whose
		// pattern exists for another method still answers 405.
		mux.Handle("GET /", a.serveUI(opts.UI))
	}
	rl := opts.RateLimit
	if rl.Exempt == nil {
		rl.Exempt = func(r *http.Request) bool {
			return r.URL.Path == BasePath+"/system/health" || r.URL.Path == "/metrics"
		}
	}
	if rl.ClientKey == nil {
		// Authenticated callers are counted per token or user, so many
		// people behind one proxy address do not share one bucket.
		rl.ClientKey = func(r *http.Request) string {
			if k := auth.ClientKey(r); k != "" {
				return k
			}
			return httpguard.RemoteIP(r)
		}
	}
	limited := httpguard.NewLimiter(rl, writeProblem).Middleware(http.MaxBytesHandler(mux, opts.MaxBodyBytes))
	a.handler = a.withRequestID(opts.CORS.Middleware(writeProblem, authn.Middleware(limited)))
	return a, nil
}

// Handler serves /api/v1, /openapi.json, /docs and the UI.
func (a *API) Handler() http.Handler { return a.handler }

// OpenAPI is the document served at /openapi.json.
func (a *API) OpenAPI() *huma.OpenAPI { return a.huma.OpenAPI() }

func (a *API) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx = context.WithValue(ctx, requestStateKey, &requestState{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// validRequestID accepts a client's id only when it is short printable
// ASCII without spaces: it lands in logs, audit rows and error bodies.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// op declares an operation under BasePath.
func op(method, path, id, summary string, tags ...string) huma.Operation {
	return huma.Operation{
		OperationID: id,
		Method:      method,
		Path:        BasePath + path,
		Summary:     summary,
		Tags:        tags,
	}
}
