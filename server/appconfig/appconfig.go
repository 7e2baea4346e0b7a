package appconfig

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/factflow/factflow/config"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/storage/s3"
	"github.com/factflow/factflow/webhooks"
)

// Config is the application config of `factflow serve`. Field comments give
// the YAML key and the default.
type Config struct {
	Server Server `yaml:"server"`
	// Embedded provisions what is not given explicitly (a private
	// PostgreSQL when Database.URL is empty). embedded: false.
	Embedded bool `yaml:"embedded"`
	// DataDir holds storage, broker files and a private PostgreSQL.
	// data_dir: ./output.
	DataDir      string       `yaml:"data_dir"`
	Database     Database     `yaml:"database"`
	Queue        Queue        `yaml:"queue"`
	Storage      Storage      `yaml:"storage"`
	Auth         Auth         `yaml:"auth"`
	Security     Security     `yaml:"security"`
	Orchestrator Orchestrator `yaml:"orchestrator"`
	Pipelines    Pipelines    `yaml:"pipelines"`
	LLM          LLM          `yaml:"llm"`
	Search       Search       `yaml:"search"`
	Webhooks     Webhooks     `yaml:"webhooks"`
	Logging      Logging      `yaml:"logging"`

	// sources tells where each setting that is not a default came from
	// ("app.yaml:3:9", "env FACTFLOW_PORT", "flag --port"), keyed by its
	// dotted key. Errors name it, and "explicitly set" is read from it.
	sources map[string]string
}

// Server is the HTTP listener.
type Server struct {
	// Host to bind. server.host: 127.0.0.1. Auth mode none refuses any
	// non-loopback address.
	Host string `yaml:"host"`
	// Port to bind; 0 picks a free one. server.port: 8000.
	Port int `yaml:"port"`
	// ShutdownTimeout is the whole budget of a graceful stop.
	// server.shutdown_timeout: 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// CORS names the other origins whose pages may call the API.
	CORS CORS `yaml:"cors"`
	// RequestTimeout bounds each API call that is not an event stream;
	// streams are bounded by their client. server.request_timeout: 60s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// MaxBodyBytes caps request bodies. server.max_body_bytes: 4194304.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// CORS is the cross-origin allow-list of the API.
type CORS struct {
	// AllowedOrigins are origins (scheme://host[:port]) or "*".
	// server.cors.allowed_origins: [] (same origin only).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowCredentials lets those pages send Authorization and cookies
	// (never with "*"). server.cors.allow_credentials: false.
	AllowCredentials bool `yaml:"allow_credentials"`
}

// RateLimit is the per-client request limit of the API.
type RateLimit struct {
	// RequestsPerSecond refills each client's bucket; 0 is no limit.
	// security.rate_limit.requests_per_second: 0.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// Burst is the bucket size: requests a client may make at once.
	// security.rate_limit.burst: 200.
	Burst int `yaml:"burst"`
}

// Database is PostgreSQL.
type Database struct {
	// URL of the database; required unless embedded. May hold a password:
	// see Redacted. database.url: "".
	URL string `yaml:"url"`
}

// Queue is the message broker.
type Queue struct {
	// Provider is reserved: the URL's scheme picks the provider. Only ""
	// and "nats" are accepted today. queue.provider: "".
	Provider string `yaml:"provider"`
	// URL of the broker; empty runs NATS JetStream in-process.
	// queue.url: "".
	URL string `yaml:"url"`
}

// Storage is where artefacts go.
type Storage struct {
	// URI of the store; empty means file://<data_dir>/storage.
	// storage.uri: "". s3://bucket[/prefix] and minio://bucket[/prefix]
	// use the S3 settings.
	URI string `yaml:"uri"`
	S3  S3     `yaml:"s3"`
}

// S3 locates and authenticates an S3 or MinIO store. Each key's
// environment twin is the standard AWS variable.
type S3 struct {
	// Endpoint: host[:port] or URL; empty is AWS. storage.s3.endpoint.
	Endpoint string `yaml:"endpoint"`
	// Region of the bucket; empty is us-east-1. storage.s3.region.
	Region string `yaml:"region"`
	// AccessKey and SecretKey authenticate (SecretKey is a secret:
	// redacted in every view). storage.s3.access_key, secret_key.
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// PathStyle addresses buckets as endpoint/bucket, as most self-hosted
	// servers need. storage.s3.path_style: false.
	PathStyle bool `yaml:"path_style"`
	// CreateBucket creates a missing bucket at start instead of failing.
	// storage.s3.create_bucket: false.
	CreateBucket bool `yaml:"create_bucket"`
}

// Auth selects how API callers are authenticated.
type Auth struct {
	// Mode: none (loopback only), token, trusted_headers or oidc.
	// auth.mode: none.
	Mode string `yaml:"mode"`
	// BootstrapToken, when set, is stored as an admin API token at start
	// (a secret; FACTFLOW_BOOTSTRAP_TOKEN). auth.bootstrap_token: "".
	BootstrapToken string `yaml:"bootstrap_token"`
	// TrustedHeaders configures mode trusted_headers.
	TrustedHeaders TrustedHeaders `yaml:"trusted_headers"`
	// OIDC configures mode oidc.
	OIDC OIDC `yaml:"oidc"`
}

// ScopeGrants name, per scope, the groups or claim values that grant it.
type ScopeGrants struct {
	Read  []string `yaml:"read"`
	Write []string `yaml:"write"`
	Admin []string `yaml:"admin"`
}

// TrustedHeaders are the identity headers an SSO proxy sets.
type TrustedHeaders struct {
	// ProxyCIDRs are the networks the proxy connects from; headers from
	// anywhere else are refused. auth.trusted_headers.proxy_cidrs: [].
	ProxyCIDRs []string `yaml:"proxy_cidrs"`
	// auth.trusted_headers.user_header: X-Forwarded-User.
	UserHeader string `yaml:"user_header"`
	// auth.trusted_headers.email_header: X-Forwarded-Email.
	EmailHeader string `yaml:"email_header"`
	// Comma-separated groups. auth.trusted_headers.groups_header: X-Forwarded-Groups.
	GroupsHeader string `yaml:"groups_header"`
	// DefaultScopes every proxied user holds. auth.trusted_headers.default_scopes: [read].
	DefaultScopes []string `yaml:"default_scopes"`
	// Scopes grant more by group.
	Scopes ScopeGrants `yaml:"scopes"`
}

// OIDC verifies JWTs from an identity provider.
type OIDC struct {
	// Issuer must equal the tokens' iss. auth.oidc.issuer: "".
	Issuer string `yaml:"issuer"`
	// Audience: the tokens' aud must hold one of these. auth.oidc.audience: [].
	Audience []string `yaml:"audience"`
	// JWKSURL; empty: discovered from the issuer. auth.oidc.jwks_url: "".
	JWKSURL string `yaml:"jwks_url"`
	// auth.oidc.scope_claim: scope.
	ScopeClaim string `yaml:"scope_claim"`
	// Dotted path allowed (realm_access.roles). auth.oidc.roles_claim: roles.
	RolesClaim string `yaml:"roles_claim"`
	// auth.oidc.username_claim: preferred_username.
	UsernameClaim string `yaml:"username_claim"`
	// Scopes map scope and role values to Factflow scopes.
	// auth.oidc.scopes: {read: [factflow:read], write: [factflow:write], admin: [factflow:admin]}.
	Scopes ScopeGrants `yaml:"scopes"`
}

// Security limits where crawlers and webhooks may go.
type Security struct {
	// AllowPrivateTargets lets crawlers reach loopback and private
	// addresses. Unless set explicitly it equals Embedded.
	AllowPrivateTargets bool `yaml:"allow_private_targets"`
	// AllowedHosts are hosts, host:port or CIDRs reachable even when
	// private. security.allowed_hosts: [].
	AllowedHosts []string `yaml:"allowed_hosts"`
	// RateLimit caps each client's requests (per token or user, else
	// by remote address).
	RateLimit RateLimit `yaml:"rate_limit"`
	// AuditRetention is how long audit records are kept (pruned at
	// start); 0 keeps them forever. security.audit_retention: 8760h.
	AuditRetention time.Duration `yaml:"audit_retention"`
	// SecretKey (64 hex characters, a secret; FACTFLOW_SECRET_KEY)
	// encrypts stored secrets that must stay usable, such as webhook
	// signing secrets. Empty: a key generated into the data dir.
	// security.secret_key: "".
	SecretKey string `yaml:"secret_key"`
}

// Orchestrator is the execution engine.
type Orchestrator struct {
	// MaxConcurrentExecutions caps running executions.
	// orchestrator.max_concurrent_executions: 10.
	MaxConcurrentExecutions int `yaml:"max_concurrent_executions"`
}

// Pipelines are the pipeline YAMLs registered at start.
type Pipelines struct {
	// ValidateStrict makes an invalid shipped pipeline stop the start;
	// otherwise it is registered with a warning.
	// pipelines.validate_strict: true.
	ValidateStrict bool `yaml:"validate_strict"`
	// Dir is a directory of more pipeline YAMLs registered beside the
	// shipped ones. pipelines.dir: "".
	Dir string `yaml:"dir"`
}

// LLM are the embedding and completion profiles adapters, search and chat
// use by name.
type LLM struct {
	// Providers are the profiles (name, provider_type, model, api_key,
	// base_url, …). The offline profiles "hashing" and "extractive" exist
	// unless a profile takes their name. llm.providers: [].
	Providers []llm.Profile `yaml:"providers"`
	// DefaultEmbedding is the profile used when none is named.
	// llm.default_embedding: hashing.
	DefaultEmbedding string `yaml:"default_embedding"`
	// DefaultCompletion is the profile chat answers with when none is
	// named. llm.default_completion: extractive.
	DefaultCompletion string `yaml:"default_completion"`
}

// Search is segment search and chat retrieval.
type Search struct {
	// Language is the text search configuration of full-text queries
	// (english, norwegian, simple, …). search.language: english.
	Language string `yaml:"language"`
	// DefaultModel is the embedding slot searched when a request names
	// none; empty: the only slot there is. search.default_model: "".
	DefaultModel string `yaml:"default_model"`
}

// Webhooks are the deliveries of webhook subscriptions.
type Webhooks struct {
	// RetrySchedule is the wait before each retry of a failed delivery;
	// after the last the delivery is dead. An empty list means no retries.
	// webhooks.retry_schedule: [1m, 5m, 30m, 2h, 12h].
	RetrySchedule []time.Duration `yaml:"retry_schedule"`
}

// Logging is the process log on stderr.
type Logging struct {
	// Level: debug, info, warn or error. logging.level: info.
	Level string `yaml:"level"`
	// Format: text or json. logging.format: text.
	Format string `yaml:"format"`
}

// DefaultAuthenticatedRPS is each client's request rate when an auth
// mode other than none is on and security.rate_limit.requests_per_second
// is not set: well above what a person in the UI or a CLI script does,
// low enough to slow a token-guessing or scraping loop.
const DefaultAuthenticatedRPS = 50

// Defaults returns the built-in defaults (what config/app.yaml spells out).
func Defaults() Config {
	return Config{
		Server: Server{Host: "127.0.0.1", Port: 8000, ShutdownTimeout: 30 * time.Second, CORS: CORS{AllowedOrigins: []string{}},
			RequestTimeout: 60 * time.Second, MaxBodyBytes: 4 << 20},
		DataDir: "./output",
		Auth: Auth{Mode: "none",
			TrustedHeaders: TrustedHeaders{ProxyCIDRs: []string{}, UserHeader: "X-Forwarded-User", EmailHeader: "X-Forwarded-Email",
				GroupsHeader: "X-Forwarded-Groups", DefaultScopes: []string{"read"},
				Scopes: ScopeGrants{Read: []string{}, Write: []string{}, Admin: []string{}}},
			OIDC: OIDC{Audience: []string{}, ScopeClaim: "scope", RolesClaim: "roles", UsernameClaim: "preferred_username",
				Scopes: ScopeGrants{Read: []string{"factflow:read"}, Write: []string{"factflow:write"}, Admin: []string{"factflow:admin"}}},
		},
		Security:     Security{RateLimit: RateLimit{Burst: 200}, AuditRetention: 365 * 24 * time.Hour},
		Orchestrator: Orchestrator{MaxConcurrentExecutions: 10},
		Pipelines:    Pipelines{ValidateStrict: true},
		LLM:          LLM{DefaultEmbedding: llm.DefaultEmbeddingProfile, DefaultCompletion: llm.DefaultCompletionProfile},
		Search:       Search{Language: "english"},
		Webhooks:     Webhooks{RetrySchedule: slices.Clone(webhooks.DefaultSchedule)},
		Logging:      Logging{Level: "info", Format: "text"},
	}
}

// Flags are command-line values; nil means the flag was not given.
type Flags struct {
	Embedded    *bool
	Host        *string
	Port        *int
	DataDir     *string
	DatabaseURL *string
	QueueURL    *string
	StorageURI  *string
	LogLevel    *string
}

// Options say where Load reads from.
type Options struct {
	// File replaces the embedded app.yaml when set.
	File string
	// LookupEnv reads the environment (default os.LookupEnv); tests pass
	// their own.
	LookupEnv func(string) (string, bool)
	Flags     Flags
}

// Load reads the config: defaults, then the file, then the environment,
// then flags. Every problem is reported at once as APP_CONFIG_INVALID;
// DATABASE_URL_REQUIRED and AUTH_REQUIRED_FOR_PUBLIC_BIND follow once the
// config itself is well-formed.
func Load(opts Options) (*Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	name, data := "app.yaml (built in)", config.AppYAML
	if opts.File != "" {
		b, err := os.ReadFile(opts.File)
		if err != nil {
			return nil, coded(CodeUnreadable, "check the --config path, or leave --config out to use the built-in defaults",
				fmt.Errorf("reading app config: %w", err))
		}
		name, data = opts.File, b
	}
	cfg := Defaults()
	cfg.sources = map[string]string{}
	var problems []string
	problems = append(problems, decodeFile(&cfg, name, data, opts.LookupEnv)...)
	problems = append(problems, applyEnv(&cfg, opts.LookupEnv)...)
	applyFlags(&cfg, opts.Flags)
	if _, set := cfg.sources["security.allow_private_targets"]; !set {
		cfg.Security.AllowPrivateTargets = cfg.Embedded
	}
	if _, set := cfg.sources["security.rate_limit.requests_per_second"]; !set && cfg.Auth.Mode != "none" {
		// A server others reach is limited unless told otherwise.
		cfg.Security.RateLimit.RequestsPerSecond = DefaultAuthenticatedRPS
	}
	problems = append(problems, cfg.check()...)
	if len(problems) > 0 {
		return nil, coded(CodeInvalid, "fix the settings named above; unknown keys are errors (see config/app.yaml for every key)",
			fmt.Errorf("app config: %s", strings.Join(problems, "; ")))
	}
	if err := cfg.checkDeployment(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Source tells where the value of a dotted key came from: "default", a
// file position, "env NAME" or "flag --name".
func (c *Config) Source(key string) string {
	if s, ok := c.sources[key]; ok {
		return s
	}
	return "default"
}

func applyFlags(c *Config, f Flags) {
	setFlag(c, f.Embedded, &c.Embedded, "embedded", "--embedded")
	setFlag(c, f.Host, &c.Server.Host, "server.host", "--host")
	setFlag(c, f.Port, &c.Server.Port, "server.port", "--port")
	setFlag(c, f.DataDir, &c.DataDir, "data_dir", "--data-dir")
	setFlag(c, f.DatabaseURL, &c.Database.URL, "database.url", "--database-url")
	setFlag(c, f.QueueURL, &c.Queue.URL, "queue.url", "--queue")
	setFlag(c, f.StorageURI, &c.Storage.URI, "storage.uri", "--storage")
	setFlag(c, f.LogLevel, &c.Logging.Level, "logging.level", "--log-level")
}

func setFlag[T any](c *Config, v *T, dst *T, key, flag string) {
	if v == nil {
		return
	}
	*dst = *v
	c.sources[key] = "flag " + flag
}

// check reports every malformed setting, each with where it came from.
func (c *Config) check() []string {
	var p []string
	bad := func(key, format string, args ...any) {
		p = append(p, fmt.Sprintf("%s (%s): %s", key, c.Source(key), fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Server.Host) == "" {
		bad("server.host", "is empty; use 127.0.0.1 to serve this machine only")
	}
	if c.Server.Port < 0 || c.Server.Port > 65535 {
		bad("server.port", "%d is not a port (0-65535; 0 picks a free one)", c.Server.Port)
	}
	if c.Server.ShutdownTimeout <= 0 {
		bad("server.shutdown_timeout", "must be positive, e.g. 30s")
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "is empty")
	}
	switch c.Queue.Provider {
	case "", "nats":
	default:
		bad("queue.provider", "%q is not supported; leave it empty (the URL's scheme picks the provider)", c.Queue.Provider)
	}
	c.checkAuth(bad)
	if c.Security.AuditRetention < 0 {
		bad("security.audit_retention", "must be 0 (keep forever) or positive, e.g. 8760h")
	}
	if c.Server.RequestTimeout <= 0 {
		bad("server.request_timeout", "must be positive, e.g. 60s")
	}
	if c.Server.MaxBodyBytes < 1024 {
		bad("server.max_body_bytes", "%d is too small; at least 1024", c.Server.MaxBodyBytes)
	}
	if rl := c.Security.RateLimit; rl.RequestsPerSecond < 0 || math.IsNaN(rl.RequestsPerSecond) || math.IsInf(rl.RequestsPerSecond, 0) {
		bad("security.rate_limit.requests_per_second", "%v must be 0 (no limit) or positive", rl.RequestsPerSecond)
	}
	if c.Security.RateLimit.Burst < 1 {
		bad("security.rate_limit.burst", "%d must be at least 1", c.Security.RateLimit.Burst)
	}
	if k := c.Security.SecretKey; k != "" {
		// The value is not echoed: it is a secret even when malformed.
		if _, err := webhooks.ParseKey(k); err != nil {
			bad("security.secret_key", "is not 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`")
		}
	}
	for i, o := range c.Server.CORS.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimRight(u.Path, "/") != "" || u.RawQuery != "" {
			bad(fmt.Sprintf("server.cors.allowed_origins[%d]", i), "%q is not an origin; write scheme://host[:port], e.g. https://ops.example.com", o)
		}
	}
	if c.Orchestrator.MaxConcurrentExecutions < 1 {
		bad("orchestrator.max_concurrent_executions", "%d must be at least 1", c.Orchestrator.MaxConcurrentExecutions)
	}
	if strings.TrimSpace(c.Search.Language) == "" {
		bad("search.language", "is empty; use a PostgreSQL text search configuration such as english or simple")
	}
	names := map[string]bool{}
	for i, p := range c.LLM.Providers {
		key := fmt.Sprintf("llm.providers[%d]", i)
		if strings.TrimSpace(p.Name) == "" {
			bad(key, "has no name")
		} else if names[p.Name] {
			bad(key, "name %q is used twice", p.Name)
		}
		names[p.Name] = true
	}
	if len(p) == 0 {
		// The registry's own checks: provider types, required fields per
		// type, defaults that name a profile of the right kind.
		if _, err := llm.NewRegistry(c.LLM.Providers, llm.Options{DefaultEmbedding: c.LLM.DefaultEmbedding,
			DefaultCompletion: c.LLM.DefaultCompletion}); err != nil {
			var le *llm.Error
			if errors.As(err, &le) {
				bad("llm", "%s (%s)", le.Msg, le.Hint)
			} else {
				bad("llm", "%v", err)
			}
		}
	}
	if len(c.Webhooks.RetrySchedule) > 20 {
		bad("webhooks.retry_schedule", "has %d waits; at most 20", len(c.Webhooks.RetrySchedule))
	}
	for i, d := range c.Webhooks.RetrySchedule {
		if d <= 0 {
			bad("webhooks.retry_schedule", "wait %d is %s; every wait must be positive, e.g. 1m", i+1, d)
		}
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Logging.Level)); err != nil {
		bad("logging.level", "%q: use debug, info, warn or error", c.Logging.Level)
	}
	switch c.Logging.Format {
	case "text", "json":
	default:
		bad("logging.format", "%q: use text or json", c.Logging.Format)
	}
	return p
}

// checkDeployment refuses what would be unsafe or cannot work as asked.
func (c *Config) checkDeployment() error {
	if c.Database.URL == "" && !c.Embedded {
		return coded(CodeDatabaseRequired,
			"pass --database-url or set DATABASE_URL (or database.url), or use --embedded to run a private PostgreSQL under the data dir",
			fmt.Errorf("no database: a server that is not embedded needs a PostgreSQL URL"))
	}
	if c.Auth.Mode == "none" && !isLoopback(c.Server.Host) {
		return coded(CodeAuthRequired,
			"serve on 127.0.0.1 (or ::1, localhost), and put a reverse proxy with authentication in front to serve others",
			fmt.Errorf("server.host %q (%s) is not a loopback address, and auth mode none serves loopback only", c.Server.Host, c.Source("server.host")))
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Addr is host:port to listen on.
func (c *Config) Addr() string {
	return net.JoinHostPort(strings.Trim(c.Server.Host, "[]"), strconv.Itoa(c.Server.Port))
}

// ContainerConfig is what server/container wires; the caller adds the
// logger and the adapter registry.
func (c *Config) ContainerConfig() container.Config {
	return container.Config{
		DataDir:     c.DataDir,
		DatabaseURL: c.Database.URL,
		QueueURL:    c.Queue.URL,
		StorageURI:  c.Storage.URI,
		S3: s3.Config{Endpoint: c.Storage.S3.Endpoint, Region: c.Storage.S3.Region, AccessKey: c.Storage.S3.AccessKey,
			SecretKey: c.Storage.S3.SecretKey, PathStyle: c.Storage.S3.PathStyle, CreateBucket: c.Storage.S3.CreateBucket},
		AllowPrivateTargets:     c.Security.AllowPrivateTargets,
		AllowedHosts:            append([]string(nil), c.Security.AllowedHosts...),
		MaxConcurrentExecutions: c.Orchestrator.MaxConcurrentExecutions,
		ShutdownTimeout:         c.Server.ShutdownTimeout,
		LLMProfiles:             append([]llm.Profile(nil), c.LLM.Providers...),
		DefaultEmbedding:        c.LLM.DefaultEmbedding,
		DefaultCompletion:       c.LLM.DefaultCompletion,
		SearchLanguage:          c.Search.Language,
		SearchDefaultModel:      c.Search.DefaultModel,
		WebhookSchedule:         webhookSchedule(c.Webhooks.RetrySchedule),
		SecretKey:               c.Security.SecretKey,
		AuditRetention:          c.Security.AuditRetention,
	}
}

// webhookSchedule keeps an explicit empty schedule (no retries) apart
// from an absent one (the default).
func webhookSchedule(s []time.Duration) []time.Duration {
	if s == nil {
		return nil
	}
	return append([]time.Duration{}, s...)
}

// NewLogger returns the process logger writing to w at the configured
// level and format.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Logging.Level)) // checked by Load
	o := &slog.HandlerOptions{Level: l}
	if c.Logging.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
