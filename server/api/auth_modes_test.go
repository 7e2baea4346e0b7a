package api_test

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/server/auth/oidc"
	"github.com/factflow/factflow/store"
)

// issuer is an identity provider: it serves its JWKS and signs tokens.
type issuer struct {
	url string
	key *rsa.PrivateKey
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	is := &issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	is.url = srv.URL
	return is
}

func (is *issuer) sign(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func (is *issuer) claims(aud string, ttl time.Duration, scope string, roles ...string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": is.url, "aud": aud, "sub": "u-123", "preferred_username": "alice",
		"email": "alice@example.com", "iat": now.Unix(), "exp": now.Add(ttl).Unix(), "scope": scope, "roles": roles}
}

// TestOIDCMode: JWTs from the configured issuer authenticate, their scope
// and role claims map onto Factflow's scopes, and expired, foreign-audience
// and foreign-key tokens are refused with their reason. API tokens keep
// working beside them.
func TestOIDCMode(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	v, err := oidc.New(oidc.Config{Issuer: is.url, Audience: []string{"factflow"}, JWKSURL: is.url + "/jwks"})
	require.NoError(t, err)
	e := newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond, Auth: auth.Config{Mode: auth.ModeOIDC, OIDC: v,
		OIDCScopes: auth.ScopeMap{auth.Read: {"factflow:read"}, auth.Write: {"factflow:write"}, auth.Admin: {"ops-admins"}}}})

	whoami := func(token string) api.Whoami {
		t.Helper()
		r := e.do(http.MethodGet, "/api/v1/auth/whoami", nil, bearer(token)...)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var w api.Whoami
		require.NoError(t, json.Unmarshal(r.body, &w))
		return w
	}
	reader := is.sign(t, is.key, is.claims("factflow", time.Hour, "openid factflow:read"))
	w := whoami(reader)
	require.Equal(t, "alice", w.Subject)
	require.Equal(t, "oidc", w.Kind)
	require.Equal(t, "alice@example.com", w.Email)
	require.Equal(t, []string{"read"}, w.Scopes)
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/configs", nil, bearer(reader)...).status)
	e.problem(e.do(http.MethodPost, "/api/v1/configs", api.ConfigCreate{Name: "x", ConfigYAML: "a: 1"}, bearer(reader)...),
		http.StatusForbidden, auth.CodeScopeInsufficient)

	admin := is.sign(t, is.key, is.claims("factflow", time.Hour, "openid", "ops-admins"))
	require.Equal(t, []string{"read", "write", "admin"}, whoami(admin).Scopes, "a role grants admin")
	r := e.do(http.MethodPost, "/api/v1/configs", api.ConfigCreate{Name: "by-oidc", ConfigYAML: "a: 1"}, bearer(admin)...)
	require.Equal(t, http.StatusCreated, r.status, string(r.body))

	nobody := is.sign(t, is.key, is.claims("factflow", time.Hour, "openid"))
	require.Empty(t, whoami(nobody).Scopes)
	e.problem(e.do(http.MethodGet, "/api/v1/configs", nil, bearer(nobody)...), http.StatusForbidden, auth.CodeScopeInsufficient)

	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		token, code string
	}{
		"expired":        {is.sign(t, is.key, is.claims("factflow", -2*time.Hour, "factflow:read")), oidc.CodeTokenExpired},
		"wrong audience": {is.sign(t, is.key, is.claims("billing", time.Hour, "factflow:read")), oidc.CodeTokenAudienceMismatch},
		"wrong key":      {is.sign(t, stranger, is.claims("factflow", time.Hour, "factflow:read")), oidc.CodeTokenSignatureInvalid},
		"tampered":       {reader[:strings.LastIndex(reader, ".")] + ".AAAA", oidc.CodeTokenSignatureInvalid},
	} {
		r := e.do(http.MethodGet, "/api/v1/configs", nil, bearer(tc.token)...)
		p := e.problem(r, http.StatusUnauthorized, tc.code)
		require.NotContains(t, string(r.body), tc.token, name)
		require.NotEmpty(t, p.Hint, name)
		require.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`, name)
	}

	// API tokens work beside the identity provider's.
	tok := e.mintToken("ci", "write")
	require.Equal(t, "token:ci", whoami(tok).Subject)

	// The audit log names the person.
	var pg api.Page[store.AuditEntry]
	r = e.do(http.MethodGet, "/api/v1/audit?action=create-config&result=ok", nil, bearer(admin)...)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.NoError(t, json.Unmarshal(r.body, &pg))
	require.Len(t, pg.Items, 1)
	require.Equal(t, "alice", pg.Items[0].Actor)
	require.Equal(t, auth.KindOIDC, pg.Items[0].ActorKind)
}

// TestTrustedHeadersMode: identity headers count only from the proxy's
// networks; from anywhere else they are refused, not ignored.
func TestTrustedHeadersMode(t *testing.T) {
	t.Parallel()
	th := auth.TrustedHeaders{ProxyCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		UserHeader: "X-Forwarded-User", EmailHeader: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups",
		DefaultScopes: []auth.Scope{auth.Read}, Scopes: auth.ScopeMap{auth.Write: {"editors"}, auth.Admin: {"platform"}}}
	e := newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond, Auth: auth.Config{Mode: auth.ModeTrustedHeaders, TrustedHeaders: th}})

	r := e.do(http.MethodGet, "/api/v1/auth/whoami", nil, "X-Forwarded-User", "bob", "X-Forwarded-Email", "bob@example.com",
		"X-Forwarded-Groups", "staff, editors")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var w api.Whoami
	require.NoError(t, json.Unmarshal(r.body, &w))
	require.Equal(t, "bob", w.Subject)
	require.Equal(t, "proxy", w.Kind)
	require.Equal(t, []string{"staff", "editors"}, w.Groups)
	require.Equal(t, []string{"read", "write"}, w.Scopes)
	r = e.do(http.MethodPost, "/api/v1/configs", api.ConfigCreate{Name: "by-bob", ConfigYAML: "a: 1"}, "X-Forwarded-User", "bob",
		"X-Forwarded-Groups", "editors")
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	e.problem(e.do(http.MethodPost, "/api/v1/configs", api.ConfigCreate{Name: "by-carol", ConfigYAML: "a: 1"}, "X-Forwarded-User", "carol"),
		http.StatusForbidden, auth.CodeScopeInsufficient)
	e.problem(e.do(http.MethodGet, "/api/v1/configs", nil), http.StatusUnauthorized, auth.CodeAuthRequired)

	// The same headers from outside the proxy's networks.
	th.ProxyCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	far := newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond, Auth: auth.Config{Mode: auth.ModeTrustedHeaders, TrustedHeaders: th}})
	far.problem(far.do(http.MethodGet, "/api/v1/configs", nil, "X-Forwarded-User", "bob", "X-Forwarded-Groups", "platform"),
		http.StatusUnauthorized, auth.CodeUntrustedProxy)
	far.problem(far.do(http.MethodGet, "/api/v1/configs", nil), http.StatusUnauthorized, auth.CodeAuthRequired)
	// A token still works for scripts that do not pass the proxy.
	tok := far.mintToken("script", "read")
	require.Equal(t, http.StatusOK, far.do(http.MethodGet, "/api/v1/configs", nil, bearer(tok)...).status)
}

// TestRequestTimeoutSparesStreams: an operation that outlives the
// request timeout ends with 504 REQUEST_TIMEOUT, while an event stream
// stays open well past it.
func TestRequestTimeoutSparesStreams(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, api.Options{PollInterval: 100 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
		RequestTimeout: time.Nanosecond})
	e.problem(e.do(http.MethodGet, "/api/v1/configs", nil), http.StatusGatewayTimeout, api.CodeRequestTimeout)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url+"/api/v1/storage/events?keep_open=true", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	beats := 0
	for beats < 5 && sc.Scan() {
		if strings.HasPrefix(sc.Text(), ":") {
			beats++
		}
	}
	require.Equal(t, 5, beats, "heartbeats keep coming: %v", sc.Err())
}
