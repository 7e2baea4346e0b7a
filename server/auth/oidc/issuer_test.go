package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

const testAudience = "factflow-api"

// testKey is a signing key of the test issuer with its public JWK.
type testKey struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
	jwk    map[string]any
}

var (
	rsaMu    sync.Mutex
	rsaCache []*rsa.PrivateKey
)

// rsaPriv returns the i-th shared RSA key; generating 2048-bit keys is
// slow enough to be worth reusing across tests.
func rsaPriv(t testing.TB, i int) *rsa.PrivateKey {
	rsaMu.Lock()
	defer rsaMu.Unlock()
	for len(rsaCache) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		rsaCache = append(rsaCache, k)
	}
	return rsaCache[i]
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaKey(t testing.TB, kid string, i int, method jwt.SigningMethod) *testKey {
	priv := rsaPriv(t, i)
	return &testKey{kid: kid, method: method, priv: priv, jwk: map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": method.Alg(),
		"n": b64u(priv.N.Bytes()), "e": b64u(big.NewInt(int64(priv.E)).Bytes()),
	}}
}

func ecKey(t testing.TB, kid string, curve elliptic.Curve, method jwt.SigningMethod) *testKey {
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	pt, err := priv.PublicKey.Bytes()
	require.NoError(t, err)
	size := (len(pt) - 1) / 2
	return &testKey{kid: kid, method: method, priv: priv, jwk: map[string]any{
		"kty": "EC", "kid": kid, "use": "sig", "crv": curve.Params().Name,
		"x": b64u(pt[1 : 1+size]), "y": b64u(pt[1+size:]),
	}}
}

func edKey(t testing.TB, kid string) *testKey {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return &testKey{kid: kid, method: jwt.SigningMethodEdDSA, priv: priv, jwk: map[string]any{
		"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64u(pub),
	}}
}

// testIssuer serves discovery and a JWKS that tests can change.
type testIssuer struct {
	srv           *httptest.Server
	jwksHits      atomic.Int64
	discoveryHits atomic.Int64

	mu          sync.Mutex
	keys        []map[string]any
	status      int    // JWKS status; 0 means 200
	contentType string // JWKS content type override
	body        string // JWKS body override
	discIssuer  string // issuer named by discovery; "" means the real one
	entered     chan struct{}
	release     chan struct{} // when set, the JWKS handler waits for it
}

func newIssuer(t testing.TB, keys ...*testKey) *testIssuer {
	iss := &testIssuer{}
	for _, k := range keys {
		iss.keys = append(iss.keys, k.jwk)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss.discoveryHits.Add(1)
		iss.mu.Lock()
		name := iss.discIssuer
		iss.mu.Unlock()
		if name == "" {
			name = iss.srv.URL
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": name, "jwks_uri": iss.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.jwksHits.Add(1)
		iss.mu.Lock()
		entered, release := iss.entered, iss.release
		status, ct, body := iss.status, iss.contentType, iss.body
		if body == "" {
			b, _ := json.Marshal(map[string]any{"keys": iss.keys})
			body = string(b)
		}
		iss.mu.Unlock()
		if release != nil {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

func (i *testIssuer) add(k *testKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, k.jwk)
}

// serve makes the JWKS endpoint answer status with body (status 0 and
// body "" restore the key set).
func (i *testIssuer) serve(status int, contentType, body string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.status, i.contentType, i.body = status, contentType, body
}

// block makes the JWKS handler wait until the returned func is called;
// entered receives once a request is waiting.
func (i *testIssuer) block() (entered <-chan struct{}, release func()) {
	i.mu.Lock()
	defer i.mu.Unlock()
	e, r := make(chan struct{}, 1), make(chan struct{})
	i.entered, i.release = e, r
	var once sync.Once
	return e, func() { once.Do(func() { close(r) }) }
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newVerifier(t testing.TB, iss *testIssuer, clk *clock, mutate ...func(*Config)) *Verifier {
	cfg := Config{
		Issuer:     iss.srv.URL,
		Audience:   []string{testAudience},
		HTTPClient: iss.srv.Client(),
		Now:        clk.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := New(cfg)
	require.NoError(t, err)
	return v
}

func baseClaims(iss *testIssuer, clk *clock) jwt.MapClaims {
	now := clk.Now()
	return jwt.MapClaims{
		"iss": iss.srv.URL,
		"aud": testAudience,
		"sub": "user-1",
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
	}
}

// sign signs claims with k; header edits the header before signing.
func sign(t testing.TB, k *testKey, claims jwt.MapClaims, header ...func(map[string]any)) string {
	tok := jwt.NewWithClaims(k.method, claims)
	if k.kid != "" {
		tok.Header["kid"] = k.kid
	}
	for _, h := range header {
		h(tok.Header)
	}
	s, err := tok.SignedString(k.priv)
	require.NoError(t, err)
	return s
}

// requireRefused checks that Verify refuses raw with code and that the
// error is a well-formed *Error that does not repeat the token.
func requireRefused(t testing.TB, v *Verifier, raw, code string) *Error {
	t.Helper()
	c, err := v.Verify(context.Background(), raw)
	require.Nil(t, c)
	return requireCode(t, err, raw, code)
}

func requireCode(t testing.TB, err error, raw, code string) *Error {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "want *Error, got %T: %v", err, err)
	require.Equal(t, code, e.Code, "error: %v", err)
	require.NotEmpty(t, e.Msg)
	require.NotEmpty(t, e.Hint)
	if len(raw) >= 16 {
		require.NotContains(t, err.Error(), raw)
		for _, part := range strings.Split(raw, ".") {
			if len(part) >= 16 {
				require.NotContains(t, err.Error(), part)
			}
		}
	}
	return e
}
