package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/server/auth/oidc"
	"github.com/factflow/factflow/store"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	userHeader   = "X-Forwarded-User"
	emailHeader  = "X-Forwarded-Email"
	groupsHeader = "X-Forwarded-Groups"
)

func newAuth(t testing.TB, cfg auth.Config) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// request is a GET from remote with the given Authorization header ("" for none).
func request(authz, remote string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/pipelines", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	return r
}

func bearer(plain string) string { return "Bearer " + plain }

// tokenSetup is a token-mode authenticator over a fake store and clock.
type tokenSetup struct {
	a      *auth.Authenticator
	tokens *fakeTokens
	clock  *fakeClock
}

func newTokenSetup(t *testing.T, mode auth.Mode) tokenSetup {
	t.Helper()
	cfg := auth.Config{Mode: mode}
	if mode == auth.ModeTrustedHeaders {
		cfg.TrustedHeaders = trustedHeaders()
	}
	return newTokenSetupWith(t, cfg)
}

func trustedHeaders() auth.TrustedHeaders {
	return auth.TrustedHeaders{
		ProxyCIDRs:    []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
		UserHeader:    userHeader,
		EmailHeader:   emailHeader,
		GroupsHeader:  groupsHeader,
		Scopes:        auth.ScopeMap{auth.Write: {"editors"}, auth.Admin: {"ops", "root"}},
		DefaultScopes: []auth.Scope{auth.Read},
	}
}

// mustAuth authenticates r with a and fails the test on a refusal.
func mustAuth(t *testing.T, a *auth.Authenticator, r *http.Request) *auth.Principal {
	t.Helper()
	p, err := a.Authenticate(r)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if p == nil {
		t.Fatal("no principal and no error")
	}
	return p
}

func wantError(t *testing.T, p *auth.Principal, err *auth.Error, status int, code string) *auth.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted as %+v, want %d %s", p, status, code)
	}
	if p != nil {
		t.Errorf("principal %+v returned with error %v", p, err)
	}
	return asAuthError(t, err, status, code)
}

func TestNewConfigErrors(t *testing.T) {
	tokens := newFakeTokens()
	th := trustedHeaders()
	noCIDRs := th
	noCIDRs.ProxyCIDRs = nil
	noUser := th
	noUser.UserHeader = ""
	tests := []struct {
		name string
		cfg  auth.Config
	}{
		{"empty mode", auth.Config{}},
		{"unknown mode", auth.Config{Mode: "ldap", Tokens: tokens}},
		{"token without store", auth.Config{Mode: auth.ModeToken}},
		{"trusted_headers without store", auth.Config{Mode: auth.ModeTrustedHeaders, TrustedHeaders: th}},
		{"trusted_headers without CIDRs", auth.Config{Mode: auth.ModeTrustedHeaders, Tokens: tokens, TrustedHeaders: noCIDRs}},
		{"trusted_headers without user header", auth.Config{Mode: auth.ModeTrustedHeaders, Tokens: tokens, TrustedHeaders: noUser}},
		{"oidc without verifier", auth.Config{Mode: auth.ModeOIDC, Tokens: tokens}},
		{"oidc without store", auth.Config{Mode: auth.ModeOIDC, OIDC: &fakeVerifier{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := auth.New(tt.cfg)
			if err == nil {
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if a != nil {
				t.Error("New returned an authenticator with its error")
			}
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Code != auth.CodeConfigInvalid {
				t.Fatalf("error %v, want code %s", err, auth.CodeConfigInvalid)
			}
		})
	}
	for _, m := range auth.Modes {
		cfg := auth.Config{Mode: m, Tokens: tokens, TrustedHeaders: th, OIDC: &fakeVerifier{}}
		if a := newAuth(t, cfg); a.Mode() != m {
			t.Errorf("Mode() = %s, want %s", a.Mode(), m)
		}
	}
}

func TestModeNone(t *testing.T) {
	a := newAuth(t, auth.Config{Mode: auth.ModeNone})
	for _, h := range []string{"", "Bearer whatever", "Basic abc"} {
		p := mustAuth(t, a, request(h, ""))
		if p.Kind != auth.KindLocal || p.Subject != "local" {
			t.Errorf("header %q: principal %+v, want local", h, p)
		}
		if !slices.Equal(p.ScopeNames(), []string{"read", "write", "admin"}) {
			t.Errorf("local scopes = %v", p.ScopeNames())
		}
	}
}

func TestTokenMode(t *testing.T) {
	s := newTokenSetup(t, auth.ModeToken)
	valid, _, _, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	s.tokens.add(valid, &store.APIToken{ID: "tok-1", Name: "ci", Scopes: []string{"write"}})
	revokedAt := t0.Add(-time.Hour)
	s.tokens.add("fft_revokedtokensecret", &store.APIToken{ID: "tok-2", Name: "old", Scopes: []string{"admin"},
		RevokedAt: &revokedAt})
	expires := t0.Add(time.Hour)
	s.tokens.add("fft_expiringtokensecret", &store.APIToken{ID: "tok-3", Name: "short", Scopes: []string{"read"},
		ExpiresAt: &expires})
	s.tokens.add("fft_badscopetokensecret", &store.APIToken{ID: "tok-4", Name: "odd", Scopes: []string{"superuser"}})
	s.tokens.add("jwt.shaped.secret", &store.APIToken{ID: "tok-5", Name: "dotted", Scopes: []string{"read"}})

	t.Run("valid", func(t *testing.T) {
		p := mustAuth(t, s.a, request(bearer(valid), ""))
		if p.Kind != auth.KindToken || p.Subject != "token:ci" || p.TokenID != "tok-1" {
			t.Errorf("principal = %+v", p)
		}
		if !slices.Equal(p.Scopes, []auth.Scope{auth.Read, auth.Write}) {
			t.Errorf("scopes = %v, want read and write", p.Scopes)
		}
		if p.Email != "" || p.Groups != nil {
			t.Errorf("token principal has identity fields: %+v", p)
		}
	})
	t.Run("lower-case scheme", func(t *testing.T) {
		mustAuth(t, s.a, request("bearer "+valid, ""))
	})
	t.Run("unknown", func(t *testing.T) {
		p, err := s.a.Authenticate(request(bearer("fft_nosuchtokenatall"), ""))
		e := wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenInvalid)
		if strings.Contains(e.Error(), "nosuchtoken") {
			t.Errorf("error %q leaks the credential", e)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		p, err := s.a.Authenticate(request(bearer("fft_revokedtokensecret"), ""))
		e := wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenRevoked)
		if strings.Contains(e.Error(), "tokensecret") {
			t.Errorf("error %q leaks the credential", e)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		clock := &fakeClock{t: t0.Add(time.Hour - time.Nanosecond)}
		a := newAuth(t, auth.Config{Mode: auth.ModeToken, Tokens: s.tokens, Now: clock.Now})
		mustAuth(t, a, request(bearer("fft_expiringtokensecret"), ""))
		clock.Advance(time.Nanosecond)
		p, err := a.Authenticate(request(bearer("fft_expiringtokensecret"), ""))
		wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenExpired)
		clock.Advance(24 * time.Hour)
		p, err = a.Authenticate(request(bearer("fft_expiringtokensecret"), ""))
		wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenExpired)
	})
	t.Run("unknown stored scope", func(t *testing.T) {
		p, err := s.a.Authenticate(request(bearer("fft_badscopetokensecret"), ""))
		wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenInvalid)
	})
	t.Run("jwt-shaped credential is a token here", func(t *testing.T) {
		p := mustAuth(t, s.a, request(bearer("jwt.shaped.secret"), ""))
		if p.TokenID != "tok-5" {
			t.Errorf("principal = %+v", p)
		}
	})
	t.Run("no header", func(t *testing.T) {
		p := mustAuth(t, s.a, request("", ""))
		if p.Authenticated() || len(p.Scopes) != 0 {
			t.Errorf("principal = %+v, want anonymous", p)
		}
	})
	t.Run("identity headers are ignored", func(t *testing.T) {
		r := request("", "10.0.0.1:1234")
		r.Header.Set(userHeader, "alice")
		p := mustAuth(t, s.a, r)
		if p.Authenticated() {
			t.Errorf("principal = %+v, want anonymous", p)
		}
	})
	t.Run("bad header", func(t *testing.T) {
		before := s.tokens.lookupCount()
		p, err := s.a.Authenticate(request("Basic dXNlcjpwYXNz", ""))
		wantError(t, p, err, http.StatusUnauthorized, auth.CodeAuthHeaderInvalid)
		if s.tokens.lookupCount() != before {
			t.Error("the token store was asked about an unusable header")
		}
	})
}

func TestTokenStoreUnavailable(t *testing.T) {
	s := newTokenSetup(t, auth.ModeToken)
	down := errors.New("dial tcp: connection refused")
	s.tokens.err = down
	p, err := s.a.Authenticate(request(bearer("fft_anytokenatall"), ""))
	e := wantError(t, p, err, http.StatusServiceUnavailable, auth.CodeUnavailable)
	if !errors.Is(e, down) {
		t.Errorf("error %v does not wrap the store's", e)
	}
	// Without credentials the store is not needed.
	mustAuth(t, s.a, request("", ""))
}

func TestTouchAtMostOncePerMinute(t *testing.T) {
	s := newTokenSetup(t, auth.ModeToken)
	s.tokens.add("fft_busytokensecret", &store.APIToken{ID: "busy", Name: "busy", Scopes: []string{"read"}})
	s.tokens.add("fft_quiettokensecret", &store.APIToken{ID: "quiet", Name: "quiet", Scopes: []string{"read"}})
	use := func(plain string) {
		t.Helper()
		mustAuth(t, s.a, request(bearer(plain), ""))
	}
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 1},                // never used: recorded
		{0, 1},                // same instant
		{30 * time.Second, 1}, // within the minute
		{30 * time.Second, 1}, // exactly a minute later
		{time.Second, 2},      // past the minute
		{59 * time.Second, 2},
		{10 * time.Minute, 3},
	}
	for i, st := range steps {
		s.clock.Advance(st.advance)
		use("fft_busytokensecret")
		if got := s.tokens.touchCount("busy"); got != st.want {
			t.Fatalf("step %d: %d touches, want %d", i, got, st.want)
		}
	}
	// Many uses spread over ten minutes: consecutive touches are more
	// than a minute apart.
	for range 120 {
		s.clock.Advance(5 * time.Second)
		use("fft_busytokensecret")
	}
	s.tokens.mu.Lock()
	at := slices.Clone(s.tokens.touches["busy"])
	s.tokens.mu.Unlock()
	for i := 1; i < len(at); i++ {
		if d := at[i].Sub(at[i-1]); d <= time.Minute {
			t.Errorf("touches %d and %d only %s apart", i-1, i, d)
		}
	}
	if len(at) < 10 {
		t.Errorf("only %d touches over ten minutes of use", len(at))
	}
	if n := s.tokens.touchCount("quiet"); n != 0 {
		t.Errorf("an unused token was touched %d times", n)
	}
	use("fft_quiettokensecret")
	if n := s.tokens.touchCount("quiet"); n != 1 {
		t.Errorf("the other token was touched %d times, want 1 (counted per token)", n)
	}
}

func TestTouchErrorDoesNotRefuse(t *testing.T) {
	s := newTokenSetup(t, auth.ModeToken)
	s.tokens.touchErr = errors.New("read-only transaction")
	s.tokens.add("fft_sometokensecret", &store.APIToken{ID: "t", Name: "n", Scopes: []string{"admin"}})
	for range 3 {
		p := mustAuth(t, s.a, request(bearer("fft_sometokensecret"), ""))
		if !p.Can(auth.Admin) {
			t.Errorf("principal = %+v", p)
		}
	}
	if s.tokens.touchCount("t") == 0 {
		t.Error("Touch was never tried")
	}
}

func TestTrustedHeaders(t *testing.T) {
	s := newTokenSetup(t, auth.ModeTrustedHeaders)
	s.tokens.add("fft_scripttokensecret", &store.APIToken{ID: "tok-s", Name: "script", Scopes: []string{"write"}})
	proxied := func(remote, user, email, groups string) *http.Request {
		r := request("", "")
		r.RemoteAddr = remote
		if user != "" {
			r.Header.Set(userHeader, user)
		}
		if email != "" {
			r.Header.Set(emailHeader, email)
		}
		if groups != "" {
			r.Header.Set(groupsHeader, groups)
		}
		return r
	}
	tests := []struct {
		name, remote, user, email, groups string
		wantGroups                        []string
		wantScopes                        []auth.Scope
	}{
		{"defaults only", "10.1.2.3:5555", "alice", "alice@example.com", "", nil, []auth.Scope{auth.Read}},
		{"group grants write", "10.1.2.3:5555", "alice", "alice@example.com", " viewers , editors ,, ",
			[]string{"viewers", "editors"}, []auth.Scope{auth.Read, auth.Write}},
		{"group grants admin", "10.255.0.1:1", "bob", "", "ops", []string{"ops"},
			[]auth.Scope{auth.Read, auth.Write, auth.Admin}},
		{"ipv4-mapped ipv6", "[::ffff:10.1.2.3]:5555", "carol", "", "", nil, []auth.Scope{auth.Read}},
		{"ipv6", "[2001:db8::7]:443", "dave", "", "editors", []string{"editors"}, []auth.Scope{auth.Read, auth.Write}},
		{"no port", "10.9.9.9", "erin", "", "", nil, []auth.Scope{auth.Read}},
		{"user trimmed", "10.0.0.1:1", "  frank  ", "", "", nil, []auth.Scope{auth.Read}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustAuth(t, s.a, proxied(tt.remote, tt.user, tt.email, tt.groups))
			if p.Kind != auth.KindProxy || p.Subject != strings.TrimSpace(tt.user) || p.Email != tt.email {
				t.Errorf("principal = %+v", p)
			}
			if !slices.Equal(p.Groups, tt.wantGroups) {
				t.Errorf("groups = %q, want %q", p.Groups, tt.wantGroups)
			}
			if !slices.Equal(p.Scopes, tt.wantScopes) {
				t.Errorf("scopes = %v, want %v", p.Scopes, tt.wantScopes)
			}
			if p.TokenID != "" {
				t.Errorf("proxy principal has a token id")
			}
		})
	}
	t.Run("outside with user header", func(t *testing.T) {
		for _, remote := range []string{"192.0.2.1:1234", "11.0.0.1:80", "[2001:db9::1]:1", "[::ffff:192.0.2.1]:1", "", "garbage"} {
			p, err := s.a.Authenticate(proxied(remote, "mallory", "", "ops"))
			wantError(t, p, err, http.StatusUnauthorized, auth.CodeUntrustedProxy)
		}
	})
	t.Run("outside without user header", func(t *testing.T) {
		p := mustAuth(t, s.a, proxied("192.0.2.1:1234", "", "x@example.com", "ops"))
		if p.Authenticated() || len(p.Scopes) != 0 {
			t.Errorf("principal = %+v, want anonymous", p)
		}
	})
	t.Run("inside without user header", func(t *testing.T) {
		p := mustAuth(t, s.a, proxied("10.0.0.1:1", "  ", "", "ops"))
		if p.Authenticated() {
			t.Errorf("principal = %+v, want anonymous", p)
		}
	})
	t.Run("bearer token still works", func(t *testing.T) {
		for _, remote := range []string{"10.0.0.1:1", "192.0.2.1:1"} {
			r := proxied(remote, "alice", "", "ops")
			r.Header.Set("Authorization", bearer("fft_scripttokensecret"))
			p := mustAuth(t, s.a, r)
			if p.Kind != auth.KindToken || p.TokenID != "tok-s" || p.Can(auth.Admin) {
				t.Errorf("from %s: principal = %+v", remote, p)
			}
		}
	})
	t.Run("bad bearer token is not downgraded to the proxy user", func(t *testing.T) {
		r := proxied("10.0.0.1:1", "alice", "", "ops")
		r.Header.Set("Authorization", bearer("fft_wrongtokensecret"))
		p, err := s.a.Authenticate(r)
		wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenInvalid)
	})
	t.Run("no default scopes", func(t *testing.T) {
		th := trustedHeaders()
		th.DefaultScopes = nil
		a := newAuth(t, auth.Config{Mode: auth.ModeTrustedHeaders, Tokens: s.tokens, TrustedHeaders: th})
		p := mustAuth(t, a, proxied("10.0.0.1:1", "guest", "", "visitors"))
		if !p.Authenticated() || len(p.Scopes) != 0 || p.Can(auth.Read) {
			t.Errorf("principal = %+v, want an authenticated user without scopes", p)
		}
	})
}

// oidcSetup is an oidc-mode authenticator over fakes.
func oidcSetup(t *testing.T) (*auth.Authenticator, *fakeTokens, *fakeVerifier) {
	t.Helper()
	tokens := newFakeTokens()
	v := &fakeVerifier{claims: map[string]*oidc.Claims{}, errs: map[string]error{}}
	a := newAuth(t, auth.Config{Mode: auth.ModeOIDC, Tokens: tokens, OIDC: v,
		OIDCScopes: auth.ScopeMap{
			auth.Read:  {"factflow:read"},
			auth.Write: {"factflow:write", "editor"},
			auth.Admin: {"factflow-admins"},
		}})
	return a, tokens, v
}

func TestOIDC(t *testing.T) {
	a, tokens, v := oidcSetup(t)
	v.claims["h.writer.s"] = &oidc.Claims{Subject: "sub-1", Username: "alice", Email: "alice@example.com",
		Scopes: []string{"openid", "factflow:write"}, Roles: []string{"staff"}}
	v.claims["h.admin.s"] = &oidc.Claims{Subject: "sub-2", Scopes: []string{"openid"}, Roles: []string{"factflow-admins"}}
	v.claims["h.role.s"] = &oidc.Claims{Subject: "sub-3", Username: "carol", Roles: []string{"editor"}}
	v.claims["h.nothing.s"] = &oidc.Claims{Subject: "sub-4", Scopes: []string{"openid", "profile"}}
	tokens.add("fft_clitokensecret", &store.APIToken{ID: "tok-c", Name: "cli", Scopes: []string{"read"}})

	tests := []struct {
		raw, subject, email string
		groups              []string
		scopes              []auth.Scope
	}{
		{"h.writer.s", "alice", "alice@example.com", []string{"staff"}, []auth.Scope{auth.Read, auth.Write}},
		{"h.admin.s", "sub-2", "", []string{"factflow-admins"}, []auth.Scope{auth.Read, auth.Write, auth.Admin}},
		{"h.role.s", "carol", "", []string{"editor"}, []auth.Scope{auth.Read, auth.Write}},
		{"h.nothing.s", "sub-4", "", nil, []auth.Scope{}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p := mustAuth(t, a, request(bearer(tt.raw), ""))
			if p.Kind != auth.KindOIDC || p.Subject != tt.subject || p.Email != tt.email || p.TokenID != "" {
				t.Errorf("principal = %+v", p)
			}
			if !slices.Equal(p.Groups, tt.groups) {
				t.Errorf("groups = %q, want %q", p.Groups, tt.groups)
			}
			if !slices.Equal(p.Scopes, tt.scopes) {
				t.Errorf("scopes = %v, want %v", p.Scopes, tt.scopes)
			}
		})
	}
	if n := tokens.lookupCount(); n != 0 {
		t.Errorf("JWTs were looked up in the token store %d times", n)
	}

	t.Run("api token goes to the store", func(t *testing.T) {
		calls := v.callCount()
		p := mustAuth(t, a, request(bearer("fft_clitokensecret"), ""))
		if p.Kind != auth.KindToken || p.TokenID != "tok-c" {
			t.Errorf("principal = %+v", p)
		}
		p, err := a.Authenticate(request(bearer("fft_unknowntokensecret"), ""))
		wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenInvalid)
		// Two dots only make a JWT; one or three stay with the store.
		for _, cred := range []string{"a.b", "a.b.c.d"} {
			p, err := a.Authenticate(request(bearer(cred), ""))
			wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenInvalid)
		}
		if v.callCount() != calls {
			t.Error("the verifier saw an API token")
		}
	})
	t.Run("no header", func(t *testing.T) {
		p := mustAuth(t, a, request("", ""))
		if p.Authenticated() {
			t.Errorf("principal = %+v", p)
		}
	})
}

func TestOIDCVerifierErrors(t *testing.T) {
	a, _, v := oidcSetup(t)
	jwksDown := &oidc.Error{Code: oidc.CodeJWKSUnavailable, Msg: "cannot fetch the key set", Hint: "retry"}
	other := errors.New("something odd")
	v.errs["h.expired.s"] = &oidc.Error{Code: oidc.CodeTokenExpired, Msg: "token expired", Hint: "log in again"}
	v.errs["h.issuer.s"] = &oidc.Error{Code: oidc.CodeTokenIssuerMismatch, Msg: "wrong issuer"}
	v.errs["h.jwks.s"] = jwksDown
	v.errs["h.wrapped.s"] = fmt.Errorf("verifying: %w", &oidc.Error{Code: oidc.CodeTokenAudienceMismatch, Msg: "aud"})
	v.errs["h.other.s"] = other
	tests := []struct {
		raw    string
		status int
		code   string
	}{
		{"h.expired.s", http.StatusUnauthorized, oidc.CodeTokenExpired},
		{"h.issuer.s", http.StatusUnauthorized, oidc.CodeTokenIssuerMismatch},
		{"h.unsigned.s", http.StatusUnauthorized, oidc.CodeTokenSignatureInvalid},
		{"h.wrapped.s", http.StatusUnauthorized, oidc.CodeTokenAudienceMismatch},
		{"h.jwks.s", http.StatusServiceUnavailable, oidc.CodeJWKSUnavailable},
		{"h.other.s", http.StatusServiceUnavailable, auth.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p, err := a.Authenticate(request(bearer(tt.raw), ""))
			e := wantError(t, p, err, tt.status, tt.code)
			if e.Err == nil {
				t.Error("the verifier's error is not kept")
			}
		})
	}
	_, err := a.Authenticate(request(bearer("h.jwks.s"), ""))
	if !errors.Is(err, jwksDown) {
		t.Errorf("error %v does not wrap the verifier's", err)
	}
	_, err = a.Authenticate(request(bearer("h.other.s"), ""))
	if !errors.Is(err, other) {
		t.Errorf("error %v does not wrap the verifier's", err)
	}
}

// authenticated runs r through a's middleware and returns the context the
// handler saw.
func authenticated(t *testing.T, a *auth.Authenticator, r *http.Request) context.Context {
	t.Helper()
	var ctx context.Context
	calls := 0
	a.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		calls++
		ctx = r.Context()
	})).ServeHTTP(httptest.NewRecorder(), r)
	if calls != 1 {
		t.Fatalf("the handler ran %d times", calls)
	}
	return ctx
}

func TestCheck(t *testing.T) {
	s := newTokenSetup(t, auth.ModeToken)
	s.tokens.add("fft_readertokensecret", &store.APIToken{ID: "r", Name: "reader", Scopes: []string{"read"}})
	s.tokens.add("fft_admintokensecret", &store.APIToken{ID: "a", Name: "boss", Scopes: []string{"admin"}})
	s.tokens.failFor("fft_unreachabletoken", errors.New("database down"))
	ctxOf := func(authz string) context.Context { return authenticated(t, s.a, request(authz, "")) }

	t.Run("public op with bad credentials", func(t *testing.T) {
		for _, h := range []string{bearer("fft_wrongtokensecret"), "Basic abc", "Bearer"} {
			p, err := auth.Check(ctxOf(h), auth.Public)
			if err == nil || err.Status != http.StatusUnauthorized {
				t.Errorf("header %q: Check(public) = %+v, %v; want 401", h, p, err)
			}
		}
	})
	t.Run("public op while auth is unavailable", func(t *testing.T) {
		p, err := auth.Check(ctxOf(bearer("fft_unreachabletoken")), auth.Public)
		if err != nil || p.Authenticated() {
			t.Errorf("Check(public) = %+v, %v; want anonymous", p, err)
		}
		_, err = auth.Check(ctxOf(bearer("fft_unreachabletoken")), auth.Read)
		if err == nil || err.Status != http.StatusServiceUnavailable || err.Code != auth.CodeUnavailable {
			t.Errorf("Check(read) = %v, want 503 %s", err, auth.CodeUnavailable)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		for _, ctx := range []context.Context{ctxOf(""), context.Background()} {
			if p, err := auth.Check(ctx, auth.Public); err != nil || p.Authenticated() {
				t.Errorf("Check(public) = %+v, %v", p, err)
			}
			for _, sc := range auth.AllScopes {
				_, err := auth.Check(ctx, sc)
				if err == nil || err.Status != http.StatusUnauthorized || err.Code != auth.CodeAuthRequired {
					t.Errorf("Check(%s) = %v, want 401 %s", sc, err, auth.CodeAuthRequired)
				}
			}
		}
	})
	t.Run("reader", func(t *testing.T) {
		ctx := ctxOf(bearer("fft_readertokensecret"))
		for _, sc := range []auth.Scope{auth.Public, auth.Read} {
			if p, err := auth.Check(ctx, sc); err != nil || p.TokenID != "r" {
				t.Errorf("Check(%s) = %+v, %v", sc, p, err)
			}
		}
		for _, sc := range []auth.Scope{auth.Write, auth.Admin} {
			p, err := auth.Check(ctx, sc)
			if err == nil || err.Status != http.StatusForbidden || err.Code != auth.CodeScopeInsufficient {
				t.Fatalf("Check(%s) = %v, want 403 %s", sc, err, auth.CodeScopeInsufficient)
			}
			if p == nil || p.TokenID != "r" {
				t.Errorf("refusal names no caller: %+v", p)
			}
			if !strings.Contains(err.Msg, "needs "+sc.String()) || !strings.Contains(err.Hint, sc.String()) ||
				!strings.Contains(err.Msg, "token:reader") {
				t.Errorf("refusal %q does not name the scope or the caller", err)
			}
		}
	})
	t.Run("admin", func(t *testing.T) {
		ctx := ctxOf(bearer("fft_admintokensecret"))
		for _, sc := range []auth.Scope{auth.Public, auth.Read, auth.Write, auth.Admin} {
			if _, err := auth.Check(ctx, sc); err != nil {
				t.Errorf("Check(%s) = %v", sc, err)
			}
		}
	})
	t.Run("local", func(t *testing.T) {
		a := newAuth(t, auth.Config{Mode: auth.ModeNone})
		ctx := authenticated(t, a, request("", ""))
		if _, err := auth.Check(ctx, auth.Admin); err != nil {
			t.Errorf("Check(admin) as local = %v", err)
		}
	})
	t.Run("authenticated without scopes", func(t *testing.T) {
		p := &auth.Principal{Subject: "guest", Kind: auth.KindProxy}
		_, err := auth.Check(auth.WithPrincipal(context.Background(), p), auth.Read)
		if err == nil || err.Status != http.StatusForbidden || err.Code != auth.CodeScopeInsufficient {
			t.Fatalf("Check(read) = %v, want 403", err)
		}
		if !strings.Contains(err.Msg, "guest holds no scope") {
			t.Errorf("refusal %q", err.Msg)
		}
	})
}

func TestMiddlewareFromContextClientKey(t *testing.T) {
	s := newTokenSetup(t, auth.ModeTrustedHeaders)
	s.tokens.add("fft_keytokensecret", &store.APIToken{ID: "tok-k", Name: "k", Scopes: []string{"read"}})
	oidcAuth, _, v := oidcSetup(t)
	v.claims["h.p.s"] = &oidc.Claims{Subject: "sub-9", Username: "olga"}

	proxyReq := request("", "10.0.0.5:999")
	proxyReq.Header.Set(userHeader, "alice")
	untrusted := request("", "192.0.2.9:999")
	untrusted.Header.Set(userHeader, "alice")
	tests := []struct {
		name    string
		a       *auth.Authenticator
		r       *http.Request
		kind    string
		failure string
		key     string
	}{
		{"token", s.a, request(bearer("fft_keytokensecret"), ""), auth.KindToken, "", "token:tok-k"},
		{"proxy", s.a, proxyReq, auth.KindProxy, "", "proxy:alice"},
		{"oidc", oidcAuth, request(bearer("h.p.s"), ""), auth.KindOIDC, "", "oidc:olga"},
		{"anonymous", s.a, request("", ""), auth.KindAnonymous, "", ""},
		{"local", newAuth(t, auth.Config{Mode: auth.ModeNone}), request("", ""), auth.KindLocal, "", ""},
		{"refused token", s.a, request(bearer("fft_nopetokensecret"), ""), auth.KindAnonymous, auth.CodeTokenInvalid, ""},
		{"untrusted proxy", s.a, untrusted, auth.KindAnonymous, auth.CodeUntrustedProxy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := authenticated(t, tt.a, tt.r)
			p, err := auth.FromContext(ctx)
			if p == nil || p.Kind != tt.kind {
				t.Errorf("FromContext principal = %+v, want kind %s", p, tt.kind)
			}
			switch {
			case tt.failure == "" && err != nil:
				t.Errorf("FromContext error = %v", err)
			case tt.failure != "" && (err == nil || err.Code != tt.failure):
				t.Errorf("FromContext error = %v, want %s", err, tt.failure)
			}
			if got := auth.ClientKey(tt.r.WithContext(ctx)); got != tt.key {
				t.Errorf("ClientKey = %q, want %q", got, tt.key)
			}
		})
	}
	t.Run("never authenticated", func(t *testing.T) {
		p, err := auth.FromContext(context.Background())
		if p != auth.Anonymous || err != nil {
			t.Errorf("FromContext = %+v, %v", p, err)
		}
		if got := auth.ClientKey(request("", "")); got != "" {
			t.Errorf("ClientKey = %q", got)
		}
		if p, _ := auth.FromContext(auth.WithPrincipal(context.Background(), nil)); p != auth.Anonymous {
			t.Errorf("a nil principal reads back as %+v", p)
		}
	})
}
