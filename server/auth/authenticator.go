package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/factflow/factflow/server/auth/oidc"
	"github.com/factflow/factflow/store"
)

// Mode is how callers are authenticated.
type Mode string

// Modes.
const (
	ModeNone           Mode = "none"
	ModeToken          Mode = "token"
	ModeTrustedHeaders Mode = "trusted_headers"
	ModeOIDC           Mode = "oidc"
)

// Modes lists every mode.
var Modes = []Mode{ModeNone, ModeToken, ModeTrustedHeaders, ModeOIDC}

// TokenStore finds API tokens by hash.
type TokenStore interface {
	ByHash(ctx context.Context, hash []byte) (*store.APIToken, error)
	Touch(ctx context.Context, id string, at time.Time, interval time.Duration) error
}

// JWTVerifier checks an identity provider's token.
type JWTVerifier interface {
	Verify(ctx context.Context, raw string) (*oidc.Claims, error)
}

// ScopeMap names, per scope, the groups (trusted headers) or the scope
// and role claim values (OIDC) that grant it.
type ScopeMap map[Scope][]string

// grant returns the scopes values earn.
func (m ScopeMap) grant(values []string) []Scope {
	var out []Scope
	for s, names := range m {
		for _, v := range values {
			if slices.Contains(names, v) {
				out = append(out, s)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// TrustedHeaders configures mode trusted_headers.
type TrustedHeaders struct {
	// ProxyCIDRs are the networks the SSO proxy connects from.
	ProxyCIDRs []netip.Prefix
	// UserHeader, EmailHeader and GroupsHeader name the identity headers
	// (groups comma-separated).
	UserHeader, EmailHeader, GroupsHeader string
	// Scopes maps groups to scopes; DefaultScopes are every user's.
	Scopes        ScopeMap
	DefaultScopes []Scope
}

// Config configures an Authenticator.
type Config struct {
	Mode Mode
	// Tokens backs API tokens (every mode but none).
	Tokens         TokenStore
	TrustedHeaders TrustedHeaders
	// OIDC verifies JWTs in mode oidc; OIDCScopes maps their scope and
	// role claim values to scopes.
	OIDC       JWTVerifier
	OIDCScopes ScopeMap
	Logger     *slog.Logger
	// TokenCacheTTL is how long a valid API token is believed without a
	// database lookup (zero: DefaultTokenCacheTTL; negative: never).
	TokenCacheTTL time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

// touchInterval spaces the last-used writes of one token.
const touchInterval = time.Minute

// Authenticator turns requests into principals.
type Authenticator struct {
	cfg    Config
	log    *slog.Logger
	tokens *tokenCache
}

// New checks cfg and returns its Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	bad := func(msg string) error {
		return &Error{Code: CodeConfigInvalid, Status: http.StatusInternalServerError, Msg: msg,
			Hint: "see the auth section of the running guide"}
	}
	switch cfg.Mode {
	case ModeNone:
	case ModeToken, ModeTrustedHeaders, ModeOIDC:
		if cfg.Tokens == nil {
			return nil, bad(fmt.Sprintf("auth mode %s needs the token store", cfg.Mode))
		}
	default:
		return nil, bad(fmt.Sprintf("auth mode %q is unknown", cfg.Mode))
	}
	if cfg.Mode == ModeTrustedHeaders {
		th := &cfg.TrustedHeaders
		if len(th.ProxyCIDRs) == 0 {
			return nil, bad("auth mode trusted_headers needs auth.trusted_headers.proxy_cidrs")
		}
		if th.UserHeader == "" {
			return nil, bad("auth mode trusted_headers needs auth.trusted_headers.user_header")
		}
	}
	if cfg.Mode == ModeOIDC && cfg.OIDC == nil {
		return nil, bad("auth mode oidc needs a verifier")
	}
	if cfg.TokenCacheTTL == 0 {
		cfg.TokenCacheTTL = DefaultTokenCacheTTL
	}
	return &Authenticator{cfg: cfg, log: cfg.Logger, tokens: newTokenCache(cfg.TokenCacheTTL)}, nil
}

// Mode is the configured mode.
func (a *Authenticator) Mode() Mode { return a.cfg.Mode }

// Authenticate establishes who sent r. A request without credentials is
// Anonymous (public operations serve it); credentials that were sent but
// do not hold are an error, never a silent downgrade to anonymous.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, *Error) {
	if a.cfg.Mode == ModeNone {
		return Local, nil
	}
	cred, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		var ae *Error
		errors.As(err, &ae)
		return nil, ae
	}
	switch {
	case cred != "" && a.cfg.Mode == ModeOIDC && looksLikeJWT(cred):
		return a.jwt(r.Context(), cred)
	case cred != "":
		return a.token(r.Context(), cred)
	case a.cfg.Mode == ModeTrustedHeaders:
		return a.proxied(r)
	}
	return Anonymous, nil
}

// ForgetToken makes the next request with the token look it up again; the
// API calls it when it revokes one.
func (a *Authenticator) ForgetToken(id string) { a.tokens.forget(id) }

func (a *Authenticator) token(ctx context.Context, cred string) (*Principal, *Error) {
	now := a.cfg.Now()
	hash := HashToken(cred)
	t, cached := a.tokens.get(hash, now)
	var err error
	if !cached {
		t, err = a.cfg.Tokens.ByHash(ctx, hash)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, unauthorized(CodeTokenInvalid, "no API token matches the bearer credential",
			"check the token, or ask an admin for a new one")
	}
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Err: err,
			Msg: "API tokens cannot be checked right now", Hint: "retry shortly; the database may be unreachable"}
	}
	if t.RevokedAt != nil {
		return nil, unauthorized(CodeTokenRevoked, fmt.Sprintf("API token %q (%s…) was revoked", t.Name, t.Prefix),
			"ask an admin for a new token")
	}
	if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return nil, unauthorized(CodeTokenExpired, fmt.Sprintf("API token %q (%s…) expired at %s", t.Name, t.Prefix,
			t.ExpiresAt.UTC().Format(time.RFC3339)), "ask an admin for a new token")
	}
	scopes, err := ParseScopes(t.Scopes)
	if err != nil {
		return nil, unauthorized(CodeTokenInvalid, fmt.Sprintf("API token %q holds an unknown scope", t.Name),
			"revoke it and create a new one")
	}
	if !cached {
		a.tokens.put(hash, t, now)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > touchInterval {
		if err := a.cfg.Tokens.Touch(ctx, t.ID, now, touchInterval); err != nil {
			// Losing a last-used time must not refuse a valid caller.
			a.log.Warn("recording a token use failed", slog.String("token_id", t.ID), slog.Any("error", err))
		} else {
			a.tokens.touched(hash, now)
		}
	}
	return &Principal{Subject: "token:" + t.Name, Kind: KindToken, TokenID: t.ID, Scopes: expand(scopes)}, nil
}

// looksLikeJWT tells a JWT (three dot-separated parts) from an API token,
// which has no dots.
func looksLikeJWT(s string) bool { return strings.Count(s, ".") == 2 }

func (a *Authenticator) jwt(ctx context.Context, cred string) (*Principal, *Error) {
	c, err := a.cfg.OIDC.Verify(ctx, cred)
	if err == nil && c == nil {
		err = errors.New("the verifier returned no claims")
	}
	if err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) {
			status := http.StatusUnauthorized
			if oe.Code == oidc.CodeJWKSUnavailable {
				status = http.StatusServiceUnavailable
			}
			return nil, &Error{Code: oe.Code, Status: status, Msg: oe.Msg, Hint: oe.Hint, Err: err}
		}
		return nil, &Error{Code: CodeUnavailable, Status: http.StatusServiceUnavailable, Err: err,
			Msg: "the identity token cannot be checked right now", Hint: "retry shortly"}
	}
	scopes := a.cfg.OIDCScopes.grant(append(slices.Clone(c.Scopes), c.Roles...))
	name := c.Username
	if name == "" {
		name = c.Subject
	}
	return &Principal{Subject: name, Kind: KindOIDC, Email: c.Email, Groups: c.Roles, Scopes: expand(scopes)}, nil
}

func (a *Authenticator) proxied(r *http.Request) (*Principal, *Error) {
	th := &a.cfg.TrustedHeaders
	user := strings.TrimSpace(r.Header.Get(th.UserHeader))
	if !a.fromProxy(r) {
		if user != "" {
			return nil, unauthorized(CodeUntrustedProxy,
				fmt.Sprintf("identity headers are accepted only from the SSO proxy, and %s is not one of its networks", remoteIP(r)),
				"reach the server through the SSO proxy, or use an API token")
		}
		return Anonymous, nil
	}
	if user == "" {
		return Anonymous, nil
	}
	p := &Principal{Subject: user, Kind: KindProxy}
	if th.EmailHeader != "" {
		p.Email = strings.TrimSpace(r.Header.Get(th.EmailHeader))
	}
	if th.GroupsHeader != "" {
		for _, g := range strings.Split(r.Header.Get(th.GroupsHeader), ",") {
			if g = strings.TrimSpace(g); g != "" {
				p.Groups = append(p.Groups, g)
			}
		}
	}
	p.Scopes = expand(append(slices.Clone(th.DefaultScopes), th.Scopes.grant(p.Groups)...))
	return p, nil
}

func (a *Authenticator) fromProxy(r *http.Request) bool {
	ip, err := netip.ParseAddr(remoteIP(r))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.cfg.TrustedHeaders.ProxyCIDRs {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Middleware authenticates every request and leaves the outcome in its
// context for the operations to judge (FromContext).
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		var ctx context.Context
		if err != nil {
			ctx = withFailure(r.Context(), err)
		} else {
			ctx = WithPrincipal(r.Context(), p)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Check decides whether the caller in ctx may use an operation that needs
// scope s, returning the refusal to send when not.
func Check(ctx context.Context, s Scope) (*Principal, *Error) {
	p, failed := FromContext(ctx)
	if failed != nil {
		// Credentials that do not hold are refused even where none are
		// needed, so a client learns early that its token is wrong; but
		// when they merely cannot be checked, public operations (health)
		// still answer, since they are how an outage is seen.
		if s == Public && failed.Status == http.StatusServiceUnavailable {
			return Anonymous, nil
		}
		return p, failed
	}
	if p.Can(s) {
		return p, nil
	}
	if !p.Authenticated() {
		return p, unauthorized(CodeAuthRequired, "this operation needs credentials",
			"send \"Authorization: Bearer <token>\" (the CLI: --token or FACTFLOW_TOKEN); an admin creates tokens with factflow token create")
	}
	holds := strings.Join(p.ScopeNames(), ", ")
	if holds == "" {
		// A proxy or OIDC user whose groups grant nothing holds no scope.
		holds = "no scope"
	}
	return p, &Error{Code: CodeScopeInsufficient, Status: http.StatusForbidden,
		Msg:  fmt.Sprintf("%s holds %s, and this operation needs %s", p.Subject, holds, s),
		Hint: "use a token or account with the " + s.String() + " scope"}
}

// ClientKey names the caller for the rate limiter: the token or user
// when authenticated, else "" (the limiter then uses the address).
func ClientKey(r *http.Request) string {
	p, err := FromContext(r.Context())
	if err != nil || !p.Authenticated() || p.Kind == KindLocal {
		return ""
	}
	if p.TokenID != "" {
		return "token:" + p.TokenID
	}
	return p.Kind + ":" + p.Subject
}
