package appconfig

import (
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"github.com/factflow/factflow/llm"
)

const mask = "xxxxx"

// Redacted returns a copy whose URLs carry no password (in the user info,
// in a password query parameter, or in a key=value connection string):
// the view to log or print.
func (c *Config) Redacted() Config {
	r := *c
	r.Database.URL = RedactURL(c.Database.URL)
	r.Queue.URL = RedactURL(c.Queue.URL)
	r.Storage.URI = RedactURL(c.Storage.URI)
	if r.Storage.S3.SecretKey != "" {
		r.Storage.S3.SecretKey = mask
	}
	r.Storage.S3.Endpoint = RedactURL(c.Storage.S3.Endpoint)
	if r.Auth.BootstrapToken != "" {
		r.Auth.BootstrapToken = mask
	}
	r.Security.AllowedHosts = append([]string(nil), c.Security.AllowedHosts...)
	if r.Security.SecretKey != "" {
		r.Security.SecretKey = mask
	}
	r.LLM.Providers = nil
	for _, p := range c.LLM.Providers {
		if p.APIKey != "" {
			p.APIKey = mask
		}
		p.BaseURL = RedactURL(p.BaseURL)
		r.LLM.Providers = append(r.LLM.Providers, p)
	}
	r.sources = nil
	return r
}

// LogValue makes slog print the redacted config.
func (c *Config) LogValue() slog.Value {
	r := c.Redacted()
	return slog.GroupValue(
		slog.String("host", r.Server.Host),
		slog.Int("port", r.Server.Port),
		slog.Duration("shutdown_timeout", r.Server.ShutdownTimeout),
		slog.Bool("embedded", r.Embedded),
		slog.String("data_dir", r.DataDir),
		slog.String("database_url", r.Database.URL),
		slog.String("queue_url", r.Queue.URL),
		slog.String("storage_uri", r.Storage.URI),
		slog.String("s3_endpoint", r.Storage.S3.Endpoint),
		slog.String("auth_mode", r.Auth.Mode),
		slog.Bool("allow_private_targets", r.Security.AllowPrivateTargets),
		slog.Any("allowed_hosts", r.Security.AllowedHosts),
		slog.Float64("rate_limit_rps", r.Security.RateLimit.RequestsPerSecond),
		slog.Any("cors_allowed_origins", r.Server.CORS.AllowedOrigins),
		slog.Int("max_concurrent_executions", r.Orchestrator.MaxConcurrentExecutions),
		slog.Bool("validate_strict", r.Pipelines.ValidateStrict),
		slog.String("pipelines_dir", r.Pipelines.Dir),
		slog.Any("llm_profiles", profileNames(r.LLM.Providers)),
		slog.String("search_language", r.Search.Language),
		slog.String("log_level", r.Logging.Level),
	)
}

func profileNames(ps []llm.Profile) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name + " (" + p.ProviderType + ")"
	}
	return names
}

var (
	dsnPasswordRe  = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	userinfoRe     = regexp.MustCompile(`(://[^/@:]*:)[^/@]*@`)
	secretQueryKey = map[string]bool{"password": true, "sslpassword": true, "token": true, "secret": true}
)

// RedactURL masks the password of a URL or of a PostgreSQL key=value
// connection string ("host=… password=…"). What it cannot parse it masks
// by pattern, so a malformed URL never leaks its password either.
func RedactURL(s string) string {
	if s == "" {
		return s
	}
	if !strings.Contains(s, "://") {
		return dsnPasswordRe.ReplaceAllString(s, "${1}"+mask)
	}
	u, err := url.Parse(s)
	if err != nil {
		return userinfoRe.ReplaceAllString(dsnPasswordRe.ReplaceAllString(s, "${1}"+mask), "${1}"+mask+"@")
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), mask)
	}
	if q := u.Query(); len(q) > 0 {
		changed := false
		for k := range q {
			if secretQueryKey[strings.ToLower(k)] {
				q.Set(k, mask)
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}
