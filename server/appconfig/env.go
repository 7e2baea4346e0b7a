package appconfig

import (
	"fmt"
	"reflect"
)

// EnvVar is an environment variable and the dotted config key it sets.
type EnvVar struct {
	Name string
	Key  string
}

// EnvVars are the environment twins of the config keys. Lists
// (FACTFLOW_ALLOWED_HOSTS) are comma-separated; booleans take
// true/false, 1/0, yes/no or on/off.
var EnvVars = []EnvVar{
	{"FACTFLOW_HOST", "server.host"},
	{"FACTFLOW_PORT", "server.port"},
	{"FACTFLOW_SHUTDOWN_TIMEOUT", "server.shutdown_timeout"},
	{"FACTFLOW_REQUEST_TIMEOUT", "server.request_timeout"},
	{"FACTFLOW_MAX_BODY_BYTES", "server.max_body_bytes"},
	{"FACTFLOW_EMBEDDED", "embedded"},
	{"FACTFLOW_DATA_DIR", "data_dir"},
	{"DATABASE_URL", "database.url"},
	{"FACTFLOW_QUEUE_PROVIDER", "queue.provider"},
	{"FACTFLOW_QUEUE_URL", "queue.url"},
	{"FACTFLOW_STORAGE_URI", "storage.uri"},
	{"AWS_ENDPOINT_URL_S3", "storage.s3.endpoint"},
	{"AWS_REGION", "storage.s3.region"},
	{"AWS_ACCESS_KEY_ID", "storage.s3.access_key"},
	{"AWS_SECRET_ACCESS_KEY", "storage.s3.secret_key"},
	{"FACTFLOW_AUTH_MODE", "auth.mode"},
	{"FACTFLOW_BOOTSTRAP_TOKEN", "auth.bootstrap_token"},
	{"FACTFLOW_TRUSTED_PROXY_CIDRS", "auth.trusted_headers.proxy_cidrs"},
	{"FACTFLOW_OIDC_ISSUER", "auth.oidc.issuer"},
	{"FACTFLOW_OIDC_AUDIENCE", "auth.oidc.audience"},
	{"FACTFLOW_OIDC_JWKS_URL", "auth.oidc.jwks_url"},
	{"FACTFLOW_ALLOW_PRIVATE_TARGETS", "security.allow_private_targets"},
	{"FACTFLOW_ALLOWED_HOSTS", "security.allowed_hosts"},
	{"FACTFLOW_RATE_LIMIT_RPS", "security.rate_limit.requests_per_second"},
	{"FACTFLOW_RATE_LIMIT_BURST", "security.rate_limit.burst"},
	{"FACTFLOW_AUDIT_RETENTION", "security.audit_retention"},
	{"FACTFLOW_SECRET_KEY", "security.secret_key"},
	{"FACTFLOW_CORS_ALLOWED_ORIGINS", "server.cors.allowed_origins"},
	{"FACTFLOW_MAX_CONCURRENT_EXECUTIONS", "orchestrator.max_concurrent_executions"},
	{"FACTFLOW_CONFIG_VALIDATOR_STRICT", "pipelines.validate_strict"},
	{"FACTFLOW_PIPELINES_DIR", "pipelines.dir"},
	{"FACTFLOW_LLM_DEFAULT_EMBEDDING", "llm.default_embedding"},
	{"FACTFLOW_LLM_DEFAULT_COMPLETION", "llm.default_completion"},
	{"FACTFLOW_SEARCH_LANGUAGE", "search.language"},
	{"FACTFLOW_SEARCH_DEFAULT_MODEL", "search.default_model"},
	{"FACTFLOW_LOG_LEVEL", "logging.level"},
	{"FACTFLOW_LOG_FORMAT", "logging.format"},
}

func applyEnv(c *Config, lookup func(string) (string, bool)) []string {
	var problems []string
	root := reflect.ValueOf(c).Elem()
	for _, e := range EnvVars {
		raw, ok := lookup(e.Name)
		if !ok || raw == "" {
			continue
		}
		f, ok := fieldByPath(root, e.Key)
		if !ok {
			panic("appconfig: EnvVars names unknown key " + e.Key)
		}
		if err := setFromText(f, raw); err != nil {
			// The value is not echoed: a malformed value may still be a
			// secret someone pasted into the wrong variable.
			problems = append(problems, fmt.Sprintf("%s (env %s): %v", e.Key, e.Name, err))
			continue
		}
		c.sources[e.Key] = "env " + e.Name
	}
	return problems
}
