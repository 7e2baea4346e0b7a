package appconfig_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/server/appconfig"
)

// env is a fixed environment for one Load.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func ptr[T any](v T) *T { return &v }

// requireCode asserts a coded error and returns its message.
func requireCode(t *testing.T, err error, code string) string {
	t.Helper()
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce, "want a coded error, got %v", err)
	require.Equal(t, code, ce.Code, err.Error())
	require.NotEmpty(t, ce.Hint, "every coded error carries a hint")
	return err.Error()
}

// The shipped app.yaml spells out exactly the built-in defaults.
func TestAppConfigEmbeddedFileIsTheDefaults(t *testing.T) {
	t.Parallel()
	c, err := appconfig.Load(appconfig.Options{LookupEnv: env("DATABASE_URL", "postgres://db.test/x")})
	require.NoError(t, err)
	want := appconfig.Defaults()
	want.Database.URL = "postgres://db.test/x"
	require.Equal(t, want, c.Redacted())
	require.Equal(t, "env DATABASE_URL", c.Source("database.url"))
	require.Contains(t, c.Source("server.port"), "app.yaml (built in):", "the embedded file sets the port")
	require.False(t, c.Security.AllowPrivateTargets, "not embedded: private targets refused")
	require.Equal(t, "127.0.0.1:8000", c.Addr())

	cc := c.ContainerConfig()
	require.Equal(t, 30*time.Second, cc.ShutdownTimeout)
	require.Equal(t, 10, cc.MaxConcurrentExecutions)
	require.Equal(t, "./output", cc.DataDir)
	require.Equal(t, "postgres://db.test/x", cc.DatabaseURL)
}

func TestAppConfigSubstitution(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `
server:
  host: ${HOST:-127.0.0.1}
  port: ${PORT}
  shutdown_timeout: ${GRACE:-5s}
embedded: ${EMBEDDED:-true}
data_dir: "${ROOT}/data-${EMPTY}x"
database:
  url: postgres://app:${PGPASS}@db.test/app   # a comment with ${NOT_SUBSTITUTED}
storage:
  uri: "$${literal}"
queue:
  url: ${UNSET}
security:
  allowed_hosts: [ "${H1}", "${H2:-b.test}" ]
`)
	c, err := appconfig.Load(appconfig.Options{File: file, LookupEnv: env(
		"PORT", "8123", "ROOT", "/srv", "EMPTY", "", "PGPASS", "p#ss: word", "H1", "a.test", "GRACE", "")})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", c.Server.Host, "default when unset")
	require.Equal(t, 8123, c.Server.Port, "a plain scalar is typed after substitution")
	require.Equal(t, 5*time.Second, c.Server.ShutdownTimeout, ":- also covers set-but-empty")
	require.True(t, c.Embedded)
	require.True(t, c.Security.AllowPrivateTargets, "embedded allows private targets unless set")
	require.Equal(t, "/srv/data-x", c.DataDir)
	require.Equal(t, "postgres://app:p#ss: word@db.test/app", c.Database.URL,
		"a substituted value never changes the YAML's structure")
	require.Equal(t, "${literal}", c.Storage.URI)
	require.Empty(t, c.Queue.URL, "an unset variable without default is the empty string")
	require.Equal(t, []string{"a.test", "b.test"}, c.Security.AllowedHosts)
	require.Equal(t, file+":3:9", c.Source("server.host"))

	// An unset variable is the empty string, also where a number is wanted.
	_, err = appconfig.Load(appconfig.Options{File: file, LookupEnv: env()})
	msg := requireCode(t, err, appconfig.CodeInvalid)
	require.Contains(t, msg, file+`:4:9: server.port: want a whole number, got "" (from ${PORT})`)

	bad := writeConfig(t, "data_dir: ${oops\nserver: { host: '${1X}' }\n")
	_, err = appconfig.Load(appconfig.Options{File: bad, LookupEnv: env(), Flags: appconfig.Flags{Embedded: ptr(true)}})
	msg = requireCode(t, err, appconfig.CodeInvalid)
	require.Contains(t, msg, ":1:11: data_dir: unterminated ${")
	require.Contains(t, msg, `:2:17: server.host: ${1X}: "1X" is not a variable name`)
}

// Flags win over the environment, the environment over the file, the file
// over the defaults; each setting says where it came from.
func TestAppConfigPrecedence(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `
server: { host: "::1", port: 7000, shutdown_timeout: 10s }
data_dir: /from/file
database: { url: postgres://file.test/db }
queue: { url: nats://file.test:4222 }
logging: { level: debug }
orchestrator: { max_concurrent_executions: 3 }
pipelines: { validate_strict: true }
`)
	lookup := env(
		"FACTFLOW_PORT", "7001",
		"FACTFLOW_DATA_DIR", "/from/env",
		"DATABASE_URL", "postgres://env.test/db",
		"FACTFLOW_LOG_LEVEL", "warn",
		"FACTFLOW_MAX_CONCURRENT_EXECUTIONS", "4",
		"FACTFLOW_CONFIG_VALIDATOR_STRICT", "0",
		"FACTFLOW_ALLOWED_HOSTS", " a.test, 10.0.0.0/8 ,",
		"FACTFLOW_QUEUE_URL", "", // empty counts as unset
	)
	c, err := appconfig.Load(appconfig.Options{File: file, LookupEnv: lookup, Flags: appconfig.Flags{
		Port:     ptr(0),
		LogLevel: ptr("error"),
		Embedded: ptr(true),
	}})
	require.NoError(t, err)
	require.Equal(t, "::1", c.Server.Host)
	require.Equal(t, file+":2:17", c.Source("server.host"), "file:line:column of the value")
	require.Equal(t, 0, c.Server.Port, "flag over env over file")
	require.Equal(t, "flag --port", c.Source("server.port"))
	require.Equal(t, "[::1]:0", c.Addr())
	require.Equal(t, 10*time.Second, c.Server.ShutdownTimeout)
	require.Equal(t, "/from/env", c.DataDir)
	require.Equal(t, "env FACTFLOW_DATA_DIR", c.Source("data_dir"))
	require.Equal(t, "postgres://env.test/db", c.Database.URL)
	require.Equal(t, "nats://file.test:4222", c.Queue.URL)
	require.Equal(t, "error", c.Logging.Level)
	require.Equal(t, 4, c.Orchestrator.MaxConcurrentExecutions)
	require.False(t, c.Pipelines.ValidateStrict, "FACTFLOW_CONFIG_VALIDATOR_STRICT=0 turns strict validation off")
	require.Equal(t, []string{"a.test", "10.0.0.0/8"}, c.Security.AllowedHosts)
	require.True(t, c.Embedded)
	require.Equal(t, "default", c.Source("storage.uri"))

	// An explicit setting wins over the embedded default, from any source.
	c, err = appconfig.Load(appconfig.Options{File: writeConfig(t, "security: { allow_private_targets: false }\n"),
		LookupEnv: env(), Flags: appconfig.Flags{Embedded: ptr(true)}})
	require.NoError(t, err)
	require.False(t, c.Security.AllowPrivateTargets)
	c, err = appconfig.Load(appconfig.Options{LookupEnv: env("FACTFLOW_ALLOW_PRIVATE_TARGETS", "yes", "DATABASE_URL", "postgres://x/y")})
	require.NoError(t, err)
	require.True(t, c.Security.AllowPrivateTargets)
}

func TestAppConfigRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		lookup     func(string) (string, bool)
		want       []string
	}{
		{
			name: "unknown keys, top level and nested",
			file: "server:\n  host: 127.0.0.1\n  prot: 80\nsever: {}\n",
			want: []string{
				`:3:3: unknown key "prot" in server (known: cors, host, max_body_bytes, port, request_timeout, shutdown_timeout)`,
				`:4:1: unknown key "sever" (known: auth, data_dir, database,`,
			},
		},
		{
			name: "bad duration",
			file: "server:\n  shutdown_timeout: thirty\n",
			want: []string{`:2:21: server.shutdown_timeout: want a duration with a unit, e.g. 30s or 2m, got "thirty"`},
		},
		{
			name: "duration without a unit",
			file: "server: { shutdown_timeout: 30 }\n",
			want: []string{`server.shutdown_timeout: want a duration with a unit`},
		},
		{
			name: "wrong types",
			file: "server: { port: eighty }\nembedded: maybe\nsecurity: { allowed_hosts: a.test }\ndatabase: [1]\n",
			want: []string{
				`:1:17: server.port: want a whole number, got "eighty"`,
				`:2:11: embedded: want true or false, got "maybe"`,
				`:3:28: security.allowed_hosts: want a list of strings, got "a.test"`,
				`:4:11: database: want a mapping of keys (url)`,
			},
		},
		{
			name: "out of range",
			file: "server: { port: 70000, shutdown_timeout: -1s }\norchestrator: { max_concurrent_executions: 0 }\nlogging: { level: loud, format: xml }\nauth: { mode: kerberos }\nqueue: { provider: kafka }\n",
			want: []string{
				`server.port (`, `70000 is not a port`,
				`server.shutdown_timeout (`, `must be positive`,
				`orchestrator.max_concurrent_executions (`, `0 must be at least 1`,
				`logging.level (`, `"loud"`, `logging.format (`, `"xml"`,
				`auth.mode (`, `"kerberos" is not a mode; use one of none, token, trusted_headers, oidc`,
				`queue.provider (`, `"kafka" is not supported`,
			},
		},
		{
			name: "rate limit and CORS",
			file: "security: { rate_limit: { requests_per_second: -1, burst: 0 } }\n" +
				"server: { cors: { allowed_origins: [\"https://ok.example\", \"ftp://x\", \"https://a.example/path\", \"*\"] } }\n",
			want: []string{
				`security.rate_limit.requests_per_second (`, `-1 must be 0 (no limit) or positive`,
				`security.rate_limit.burst (`, `0 must be at least 1`,
				`server.cors.allowed_origins[1] (`, `"ftp://x" is not an origin`,
				`server.cors.allowed_origins[2] (`, `"https://a.example/path" is not an origin`,
			},
		},
		{
			name: "auth",
			file: "auth:\n  mode: oidc\n  bootstrap_token: short\n  oidc: { issuer: \"not a url\", jwks_url: \"ftp://keys\" }\n" +
				"  trusted_headers: { proxy_cidrs: [10.0.0.0/8, \"nonsense\"], default_scopes: [read, root] }\n" +
				"server: { request_timeout: 0s, max_body_bytes: 10 }\n",
			want: []string{
				`auth.bootstrap_token (`, `at least 32 printable ASCII characters`,
				`auth.oidc.issuer (`, `"not a url" is not an issuer URL`,
				`auth.oidc.audience (default): is empty`,
				`auth.oidc.jwks_url (`, `"ftp://keys" is not an http(s) URL`,
				`auth.trusted_headers.proxy_cidrs (`, `"nonsense" is neither a CIDR nor an address`,
				`auth.trusted_headers.default_scopes (`, `"root" is not a scope`,
				`server.request_timeout (`, `must be positive`,
				`server.max_body_bytes (`, `10 is too small`,
			},
		},
		{
			name:   "trusted headers need the proxy networks",
			file:   "auth: { mode: trusted_headers, trusted_headers: { user_header: \"\" } }\n",
			lookup: env(),
			want: []string{
				`auth.trusted_headers.proxy_cidrs (default): is empty`,
				`auth.trusted_headers.user_header (`, `is empty`,
			},
		},
		{
			name: "syntax error",
			file: "server:\n  host: a\n   port: 1\n",
			want: []string{`app.yaml:3: mapping values are not allowed`},
		},
		{
			name: "not a mapping",
			file: "- a\n- b\n",
			want: []string{`:1:1: the top level must be a mapping of keys`},
		},
		{
			name: "duplicate key",
			file: "data_dir: a\ndata_dir: b\n",
			want: []string{`:2:1: key "data_dir" appears twice`},
		},
		{
			name:   "bad environment values",
			file:   "",
			lookup: env("FACTFLOW_PORT", "secret-ish", "FACTFLOW_CONFIG_VALIDATOR_STRICT", "sometimes", "FACTFLOW_SHUTDOWN_TIMEOUT", "5"),
			want: []string{
				`server.port (env FACTFLOW_PORT): want a whole number`,
				`pipelines.validate_strict (env FACTFLOW_CONFIG_VALIDATOR_STRICT): want true or false`,
				`server.shutdown_timeout (env FACTFLOW_SHUTDOWN_TIMEOUT): want a duration`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lookup := tc.lookup
			if lookup == nil {
				lookup = env()
			}
			file := writeConfig(t, tc.file)
			_, err := appconfig.Load(appconfig.Options{File: file, LookupEnv: lookup, Flags: appconfig.Flags{Embedded: ptr(true)}})
			msg := requireCode(t, err, appconfig.CodeInvalid)
			for _, w := range tc.want {
				require.Contains(t, msg, w)
			}
			require.NotContains(t, msg, "secret-ish", "environment values are not echoed")
		})
	}

	_, err := appconfig.Load(appconfig.Options{File: filepath.Join(t.TempDir(), "missing.yaml")})
	requireCode(t, err, appconfig.CodeUnreadable)
}

func TestAppConfigDeploymentChecks(t *testing.T) {
	t.Parallel()
	_, err := appconfig.Load(appconfig.Options{LookupEnv: env()})
	msg := requireCode(t, err, appconfig.CodeDatabaseRequired)
	require.Contains(t, msg, "--embedded")

	c, err := appconfig.Load(appconfig.Options{LookupEnv: env(), Flags: appconfig.Flags{Embedded: ptr(true)}})
	require.NoError(t, err, "embedded provisions the database")
	require.Empty(t, c.Database.URL)

	for _, host := range []string{"0.0.0.0", "::", "192.168.1.10", "factflow.example"} {
		_, err := appconfig.Load(appconfig.Options{LookupEnv: env("FACTFLOW_HOST", host), Flags: appconfig.Flags{Embedded: ptr(true)}})
		msg := requireCode(t, err, appconfig.CodeAuthRequired)
		require.Contains(t, msg, "env FACTFLOW_HOST", host)
	}
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"} {
		_, err := appconfig.Load(appconfig.Options{LookupEnv: env(), Flags: appconfig.Flags{Embedded: ptr(true), Host: ptr(host)}})
		require.NoError(t, err, host)
	}
}

func TestAppConfigRedacted(t *testing.T) {
	t.Parallel()
	c, err := appconfig.Load(appconfig.Options{LookupEnv: env(
		"DATABASE_URL", "postgres://app:s3cret-pw@db.test:5432/app?sslmode=disable&password=s3cret-q",
		"FACTFLOW_QUEUE_URL", "nats://user:s3cret-nats@mq.test:4222",
	)})
	require.NoError(t, err)
	r := c.Redacted()
	require.Equal(t, "postgres://app:xxxxx@db.test:5432/app?password=xxxxx&sslmode=disable", r.Database.URL)
	require.Equal(t, "nats://user:xxxxx@mq.test:4222", r.Queue.URL)
	require.Contains(t, c.Database.URL, "s3cret-pw", "the config itself keeps the real URL")

	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", c)
	require.Contains(t, buf.String(), "database_url=")
	require.Contains(t, buf.String(), "db.test:5432")
	require.NotContains(t, buf.String(), "s3cret")

	for in, want := range map[string]string{
		"host=db.test user=app password=s3cret dbname=app":     "host=db.test user=app password=xxxxx dbname=app",
		"host=db.test password='s3 cret' dbname=app":           "host=db.test password=xxxxx dbname=app",
		"postgres://app@db.test/app":                           "postgres://app@db.test/app",
		"postgres://app:s3cret@db.test:bad port/%zz":           "postgres://app:xxxxx@db.test:bad port/%zz",
		"file:///srv/storage":                                  "file:///srv/storage",
		"":                                                     "",
		"postgres://db.test/app?user=app&sslpassword=s3cret&x": "postgres://db.test/app?sslpassword=xxxxx&user=app&x=",
	} {
		got := appconfig.RedactURL(in)
		require.Equal(t, want, got, in)
		require.False(t, strings.Contains(got, "s3cret") || strings.Contains(got, "s3 cret"), got)
	}
}

// LLM profiles are a list of mappings: each item's keys are checked,
// ${VAR} works inside them, and the key never shows in the redacted view.
func TestAppConfigLLMProfiles(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `
llm:
  providers:
    - name: openai-small
      provider_type: openai
      model: text-embedding-3-small
      api_key: ${OPENAI_KEY}
      dims: 512
      timeout: 20s
    - name: local
      provider_type: openai_compatible
      base_url: http://user:pw@127.0.0.1:11434/v1
      model: llama3.1
  default_completion: local
search:
  language: norwegian
`)
	c, err := appconfig.Load(appconfig.Options{File: path, LookupEnv: env("DATABASE_URL", "postgres://db.test/x",
		"OPENAI_KEY", "sk-secret-value", "FACTFLOW_SEARCH_DEFAULT_MODEL", "openai-small")})
	require.NoError(t, err)
	require.Len(t, c.LLM.Providers, 2)
	p := c.LLM.Providers[0]
	require.Equal(t, "sk-secret-value", p.APIKey)
	require.Equal(t, 512, p.Dims)
	require.Equal(t, 20*time.Second, p.Timeout)
	require.Equal(t, "local", c.LLM.DefaultCompletion)
	require.Equal(t, "hashing", c.LLM.DefaultEmbedding, "the default stays")
	require.Equal(t, "norwegian", c.Search.Language)
	require.Equal(t, "openai-small", c.Search.DefaultModel)
	require.Equal(t, "env FACTFLOW_SEARCH_DEFAULT_MODEL", c.Source("search.default_model"))
	require.Contains(t, c.Source("llm.providers[0].api_key"), path)

	cc := c.ContainerConfig()
	require.Len(t, cc.LLMProfiles, 2)
	require.Equal(t, "norwegian", cc.SearchLanguage)

	r := c.Redacted()
	require.Equal(t, "xxxxx", r.LLM.Providers[0].APIKey)
	require.NotContains(t, r.LLM.Providers[1].BaseURL, "pw")
	require.Equal(t, "sk-secret-value", c.LLM.Providers[0].APIKey, "redacting copies")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
	require.NotContains(t, logged.String(), "sk-secret")
	require.Contains(t, logged.String(), "openai-small (openai)")

	for _, tc := range []struct{ yaml, want string }{
		{"llm:\n  providers:\n    - name: a\n      api_kee: x\n", `unknown key "api_kee"`},
		{"llm:\n  providers: openai\n", "llm.providers: want a list of mappings"},
		{"llm:\n  providers:\n    - just-a-name\n", "llm.providers[0]: want a mapping of keys"},
		{"llm:\n  providers:\n    - name: a\n    - name: a\n", `llm.providers[1] (`},
		{"llm:\n  providers:\n    - provider_type: hashing\n", "has no name"},
		{"search:\n  language: \"\"\n", "search.language"},
	} {
		_, err := appconfig.Load(appconfig.Options{File: writeConfig(t, tc.yaml), LookupEnv: env("DATABASE_URL", "postgres://x/y")})
		msg := requireCode(t, err, appconfig.CodeInvalid)
		require.Contains(t, msg, tc.want, tc.yaml)
	}
}

func TestAppConfigLLMProfileChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"llm:\n  providers:\n    - name: a\n      provider_type: nope\n", `provider_type`},
		{"llm:\n  providers:\n    - name: a\n      provider_type: openai\n      model: m\n", `api_key`},
		{"llm:\n  providers:\n    - name: a\n      provider_type: openai_compatible\n      model: m\n", `base_url`},
		{"llm:\n  default_embedding: missing\n", `missing`},
		{"llm:\n  default_completion: hashing\n", `hashing`},
	} {
		_, err := appconfig.Load(appconfig.Options{File: writeConfig(t, tc.yaml), LookupEnv: env("DATABASE_URL", "postgres://x/y")})
		msg := requireCode(t, err, appconfig.CodeInvalid)
		require.Contains(t, msg, tc.want, tc.yaml)
	}
}

// S3 settings come from the file or the standard AWS variables (which
// win, as every environment twin does); the secret is never shown.
func TestAppConfigS3(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `
storage:
  uri: minio://artefacts/prod
  s3:
    endpoint: http://minio.internal:9000
    region: eu-north-1
    access_key: from-file
    secret_key: file-secret
    path_style: true
`)
	c, err := appconfig.Load(appconfig.Options{File: path, LookupEnv: env("DATABASE_URL", "postgres://db.test/x",
		"AWS_SECRET_ACCESS_KEY", "env-secret", "AWS_REGION", "eu-west-1")})
	require.NoError(t, err)
	cc := c.ContainerConfig()
	require.Equal(t, "minio://artefacts/prod", cc.StorageURI)
	require.Equal(t, "http://minio.internal:9000", cc.S3.Endpoint)
	require.Equal(t, "eu-west-1", cc.S3.Region, "the environment wins over the file")
	require.Equal(t, "from-file", cc.S3.AccessKey)
	require.Equal(t, "env-secret", cc.S3.SecretKey)
	require.True(t, cc.S3.PathStyle)
	require.Equal(t, "env AWS_SECRET_ACCESS_KEY", c.Source("storage.s3.secret_key"))
	require.Equal(t, "xxxxx", c.Redacted().Storage.S3.SecretKey)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
	require.NotContains(t, logged.String(), "secret")
	require.Contains(t, logged.String(), "minio.internal")
}

func TestAppConfigWebhookSchedule(t *testing.T) {
	t.Parallel()
	c, err := appconfig.Load(appconfig.Options{File: writeConfig(t, "webhooks:\n  retry_schedule: [10s, 2m]\n"),
		LookupEnv: env("DATABASE_URL", "postgres://x/y")})
	require.NoError(t, err)
	require.Equal(t, []time.Duration{10 * time.Second, 2 * time.Minute}, c.ContainerConfig().WebhookSchedule)

	c, err = appconfig.Load(appconfig.Options{File: writeConfig(t, "webhooks:\n  retry_schedule: []\n"),
		LookupEnv: env("DATABASE_URL", "postgres://x/y")})
	require.NoError(t, err)
	require.NotNil(t, c.ContainerConfig().WebhookSchedule, "an empty schedule is kept: no retries")
	require.Empty(t, c.ContainerConfig().WebhookSchedule)

	c, err = appconfig.Load(appconfig.Options{LookupEnv: env("DATABASE_URL", "postgres://x/y")})
	require.NoError(t, err)
	require.Equal(t, []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour},
		c.ContainerConfig().WebhookSchedule)

	_, err = appconfig.Load(appconfig.Options{File: writeConfig(t, "webhooks:\n  retry_schedule: [1m, -5s]\n"),
		LookupEnv: env("DATABASE_URL", "postgres://x/y")})
	require.Contains(t, requireCode(t, err, appconfig.CodeInvalid), "webhooks.retry_schedule")
	_, err = appconfig.Load(appconfig.Options{File: writeConfig(t, "webhooks:\n  retry_schedule: [soon]\n"),
		LookupEnv: env("DATABASE_URL", "postgres://x/y")})
	requireCode(t, err, appconfig.CodeInvalid)
}

// security.secret_key is 64 hex characters, reaches the container, and is
// never shown: not when rejected, not in the redacted view, not in logs.
func TestAppConfigSecretKey(t *testing.T) {
	t.Parallel()
	for name, bad := range map[string]string{
		"short":   "0123456789abcdef",
		"not hex": strings.Repeat("zy", 32),
		"long":    strings.Repeat("ab", 33),
	} {
		_, err := appconfig.Load(appconfig.Options{LookupEnv: env("DATABASE_URL", "postgres://x/y", "FACTFLOW_SECRET_KEY", bad)})
		msg := requireCode(t, err, appconfig.CodeInvalid)
		require.Contains(t, msg, "security.secret_key (env FACTFLOW_SECRET_KEY)", name)
		require.Contains(t, msg, "openssl rand -hex 32", name)
		require.NotContains(t, msg, bad, name)
	}
	_, err := appconfig.Load(appconfig.Options{File: writeConfig(t, "security:\n  secret_key: nothex\n"),
		LookupEnv: env("DATABASE_URL", "postgres://x/y")})
	require.Contains(t, requireCode(t, err, appconfig.CodeInvalid), "security.secret_key (")

	key := strings.Repeat("5e", 32)
	c, err := appconfig.Load(appconfig.Options{LookupEnv: env("DATABASE_URL", "postgres://x/y", "FACTFLOW_SECRET_KEY", key)})
	require.NoError(t, err)
	require.Equal(t, key, c.ContainerConfig().SecretKey)
	require.Equal(t, "env FACTFLOW_SECRET_KEY", c.Source("security.secret_key"))
	require.Equal(t, "xxxxx", c.Redacted().Security.SecretKey)
	require.Equal(t, key, c.Security.SecretKey, "the config itself keeps the key")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
	require.Contains(t, logged.String(), "database_url=")
	require.NotContains(t, logged.String(), key)

	c, err = appconfig.Load(appconfig.Options{LookupEnv: env("DATABASE_URL", "postgres://x/y")})
	require.NoError(t, err)
	require.Empty(t, c.ContainerConfig().SecretKey, "unset: the container uses the data dir's key file")
	require.Empty(t, c.Redacted().Security.SecretKey)
}

// TestRateLimitFollowsAuthMode: unset, the limit is off on a loopback
// server without auth and on at DefaultAuthenticatedRPS once callers
// authenticate; set explicitly, it is kept either way.
func TestRateLimitFollowsAuthMode(t *testing.T) {
	t.Parallel()
	load := func(lookup func(string) (string, bool)) *appconfig.Config {
		t.Helper()
		c, err := appconfig.Load(appconfig.Options{LookupEnv: lookup, Flags: appconfig.Flags{Embedded: ptr(true)}})
		require.NoError(t, err)
		return c
	}
	require.Zero(t, load(env()).Security.RateLimit.RequestsPerSecond)
	require.Equal(t, float64(appconfig.DefaultAuthenticatedRPS),
		load(env("FACTFLOW_AUTH_MODE", "token")).Security.RateLimit.RequestsPerSecond)
	require.Equal(t, 7.0, load(env("FACTFLOW_AUTH_MODE", "token", "FACTFLOW_RATE_LIMIT_RPS", "7")).Security.RateLimit.RequestsPerSecond)
	c := load(env("FACTFLOW_MAX_BODY_BYTES", "1048576", "FACTFLOW_RATE_LIMIT_RPS", "2.5"))
	require.Equal(t, int64(1<<20), c.Server.MaxBodyBytes, "64-bit and fractional values come from the environment too")
	require.Equal(t, 2.5, c.Security.RateLimit.RequestsPerSecond)
	off := load(env("FACTFLOW_AUTH_MODE", "token", "FACTFLOW_RATE_LIMIT_RPS", "0"))
	require.Zero(t, off.Security.RateLimit.RequestsPerSecond, "0 set explicitly turns the limit off")
}
