package auth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/store"
)

// TestValidTokensAreCachedBriefly: a valid token is looked up once per
// TokenCacheTTL; a revocation through ForgetToken and an expiry apply at
// once; refused tokens are never cached; a negative TTL turns caching off.
func TestValidTokensAreCachedBriefly(t *testing.T) {
	s := newTokenSetup(t, auth.ModeToken)
	tok := s.tokens.add("fft_cachedtokensecret", &store.APIToken{ID: "c1", Name: "ci", Scopes: []string{"write"}})
	use := func() { mustAuth(t, s.a, request(bearer("fft_cachedtokensecret"), "")) }

	use()
	use()
	s.clock.Advance(auth.DefaultTokenCacheTTL - time.Millisecond)
	use()
	if n := s.tokens.lookupCount(); n != 1 {
		t.Fatalf("%d lookups within the cache's lifetime, want 1", n)
	}
	s.clock.Advance(time.Millisecond)
	use()
	if n := s.tokens.lookupCount(); n != 2 {
		t.Fatalf("%d lookups once the entry is stale, want 2", n)
	}

	// Revoked in the store and forgotten here (the API's revoke does both).
	now := s.clock.Now()
	tok.RevokedAt = &now
	s.a.ForgetToken("c1")
	p, err := s.a.Authenticate(request(bearer("fft_cachedtokensecret"), ""))
	wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenRevoked)
	p, err = s.a.Authenticate(request(bearer("fft_cachedtokensecret"), ""))
	wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenRevoked)
	if n := s.tokens.lookupCount(); n != 4 {
		t.Fatalf("%d lookups, want 4: refused tokens are not cached", n)
	}

	// An expiry inside the cache's lifetime still applies on time.
	exp := s.clock.Now().Add(time.Second)
	s.tokens.add("fft_shortlivedsecret", &store.APIToken{ID: "c2", Name: "short", Scopes: []string{"read"}, ExpiresAt: &exp})
	mustAuth(t, s.a, request(bearer("fft_shortlivedsecret"), ""))
	s.clock.Advance(time.Second)
	p, err = s.a.Authenticate(request(bearer("fft_shortlivedsecret"), ""))
	wantError(t, p, err, http.StatusUnauthorized, auth.CodeTokenExpired)

	off := newTokenSetupWith(t, auth.Config{Mode: auth.ModeToken, TokenCacheTTL: -1})
	off.tokens.add("fft_uncachedsecret", &store.APIToken{ID: "c3", Name: "x", Scopes: []string{"read"}})
	for range 3 {
		mustAuth(t, off.a, request(bearer("fft_uncachedsecret"), ""))
	}
	if n := off.tokens.lookupCount(); n != 3 {
		t.Fatalf("%d lookups without a cache, want 3", n)
	}
}

// newTokenSetupWith is newTokenSetup with more of the config.
func newTokenSetupWith(t *testing.T, cfg auth.Config) tokenSetup {
	t.Helper()
	s := tokenSetup{tokens: newFakeTokens(), clock: &fakeClock{t: t0}}
	cfg.Tokens, cfg.Now = s.tokens, s.clock.Now
	s.a = newAuth(t, cfg)
	return s
}
