package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultScopeClaim         = "scope"
	DefaultRolesClaim         = "roles"
	DefaultUsernameClaim      = "preferred_username"
	DefaultLeeway             = 60 * time.Second
	DefaultRefreshInterval    = 10 * time.Minute
	DefaultMinRefreshInterval = 30 * time.Second
	defaultHTTPTimeout        = 10 * time.Second
)

// Config describes one trusted issuer. Zero durations and empty claim names
// take the defaults above.
type Config struct {
	// Issuer must equal the token's iss exactly.
	Issuer string
	// Audience lists the accepted audiences; the token's aud must contain
	// at least one of them.
	Audience []string
	// JWKSURL is the issuer's key set. When empty it is discovered from
	// Issuer + "/.well-known/openid-configuration" on first use.
	JWKSURL string
	// ScopeClaim holds a space-separated string or an array of strings.
	// When it is "scope" and the token has none, "scp" is read instead.
	ScopeClaim string
	// RolesClaim may be a dotted path such as "realm_access.roles"; a claim
	// whose name itself contains dots is matched first.
	RolesClaim string
	// UsernameClaim names the user; email and then sub are the fallbacks.
	UsernameClaim string
	// Leeway allows for clock skew when checking exp, nbf and iat.
	Leeway time.Duration
	// RefreshInterval is how long a fetched key set is used before it is
	// fetched again.
	RefreshInterval time.Duration
	// MinRefreshInterval spaces fetches: an unknown kid (or a failed fetch)
	// triggers at most one fetch per interval.
	MinRefreshInterval time.Duration
	// HTTPClient fetches discovery and key set documents.
	HTTPClient *http.Client
	// Now replaces the clock in tests.
	Now func() time.Time
}

// allowedAlgs are the asymmetric algorithms a token may use. HMAC is left
// out on purpose: with a public key set, accepting HS* lets anyone who knows
// a public key mint tokens (the alg-confusion attack).
var allowedAlgs = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// Verifier checks JWTs of one issuer. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	parser *jwt.Parser
	keys   *keyCache
}

// New checks cfg and applies defaults. It does not contact the issuer: keys
// are fetched on first use, so a server can start while its identity
// provider is briefly down.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("oidc config: %w", err)
	}
	cfg.applyDefaults()
	v := &Verifier{
		cfg: cfg,
		parser: jwt.NewParser(
			jwt.WithValidMethods(allowedAlgs),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithIssuedAt(),
			jwt.WithExpirationRequired(),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience...),
			// Strict decoding keeps one token from having several spellings.
			jwt.WithStrictDecoding(),
		),
	}
	v.keys = newKeyCache(cfg)
	return v, nil
}

func (c *Config) validate() error {
	if c.Issuer == "" {
		return errors.New("Issuer is required")
	}
	if err := checkHTTPURL(c.Issuer); err != nil {
		return fmt.Errorf("Issuer: %w", err)
	}
	if len(c.Audience) == 0 {
		return errors.New("Audience is required (at least one accepted audience)")
	}
	for i, a := range c.Audience {
		if a == "" {
			return fmt.Errorf("Audience[%d] is empty", i)
		}
	}
	if c.JWKSURL != "" {
		if err := checkHTTPURL(c.JWKSURL); err != nil {
			return fmt.Errorf("JWKSURL: %w", err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"Leeway", c.Leeway},
		{"RefreshInterval", c.RefreshInterval},
		{"MinRefreshInterval", c.MinRefreshInterval},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s must not be negative, got %s", d.name, d.v)
		}
	}
	refresh, minRefresh := c.RefreshInterval, c.MinRefreshInterval
	if refresh == 0 {
		refresh = DefaultRefreshInterval
	}
	if minRefresh == 0 {
		minRefresh = DefaultMinRefreshInterval
	}
	if minRefresh > refresh {
		return fmt.Errorf("MinRefreshInterval (%s) must not exceed RefreshInterval (%s)", minRefresh, refresh)
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("parsing %q: %w", s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

func (c *Config) applyDefaults() {
	if c.ScopeClaim == "" {
		c.ScopeClaim = DefaultScopeClaim
	}
	if c.RolesClaim == "" {
		c.RolesClaim = DefaultRolesClaim
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = DefaultUsernameClaim
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.MinRefreshInterval == 0 {
		c.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Audience = append([]string(nil), c.Audience...)
}
