package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// inProcessServe is the serve command running in this process, so the
// race detector watches the server's own goroutines.
type inProcessServe struct {
	url            string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

// serveInProcess runs `factflow serve args...` and waits for its URL line;
// the server stops when the test ends unless stop was called.
func serveInProcess(t *testing.T, args ...string) *inProcessServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &inProcessServe{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { s.done <- runWith(ctx, append([]string{"serve"}, args...), s.stdout, s.stderr) }()
	t.Cleanup(func() { s.stop(t) })
	waitFor(t, time.Minute, "the server's URL line", func() bool {
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("serve returned %d before serving\n%s\n%s", code, s.stdout.String(), s.stderr.String())
		default:
		}
		if m := serveURLRe.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			return true
		}
		return false
	})
	return s
}

// stop ends the server and returns its exit code (-1 when it did not end
// within a minute).
func (s *inProcessServe) stop(t *testing.T) int {
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
		return code
	case <-time.After(time.Minute):
		t.Errorf("serve did not return within a minute of its context ending\n%s", s.stderr.String())
		return -1
	}
}

// serveWithConfig serves with appYAML as the app config, a fresh data
// dir and a fresh database.
func serveWithConfig(t *testing.T, appYAML string) *inProcessServe {
	t.Helper()
	file := filepath.Join(t.TempDir(), "app.yaml")
	require.NoError(t, os.WriteFile(file, []byte(appYAML), 0o600))
	return serveInProcess(t, "--config", file, "--data-dir", t.TempDir(), "--database-url", storetest.URL(t))
}

func callAs(t *testing.T, token, method, url string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// TestServeTokenModeWithBootstrapToken: the app config's auth section
// reaches the server; the bootstrap token is the first admin, and the
// bootstrap token never appears in the log.
func TestServeTokenModeWithBootstrapToken(t *testing.T) {
	t.Parallel()
	const bootstrap = "b00tstrap-0123456789abcdef0123456789abcdef"
	srv := serveWithConfig(t, `
server: { port: 0, shutdown_timeout: 20s }
embedded: true
auth: { mode: token, bootstrap_token: "`+bootstrap+`" }
logging: { level: debug }
`)
	url, stderr := srv.url, srv.stderr
	status, body := callAs(t, "", http.MethodGet, url+"/api/v1/configs")
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "AUTH_REQUIRED", body["error_code"])
	status, body = callAs(t, bootstrap, http.MethodGet, url+"/api/v1/auth/whoami")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "token:bootstrap", body["subject"])
	require.Equal(t, "token", body["auth_mode"])
	require.Equal(t, []any{"read", "write", "admin"}, body["scopes"])
	status, _ = callAs(t, bootstrap, http.MethodGet, url+"/api/v1/audit")
	require.Equal(t, http.StatusOK, status)
	status, _ = callAs(t, "", http.MethodGet, url+"/api/v1/system/health")
	require.Equal(t, http.StatusOK, status, "probes need no token")
	require.NotContains(t, stderr.String(), bootstrap)
	require.Contains(t, stderr.String(), "bootstrap admin token ready")
}

// TestServeOIDCMode: tokens of the configured issuer, with the key from
// its JWKS, are accepted by a server started from the app config.
func TestServeOIDCMode(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "a", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	}))
	t.Cleanup(idp.Close)
	url := serveWithConfig(t, `
server: { port: 0, shutdown_timeout: 20s }
embedded: true
auth:
  mode: oidc
  oidc:
    issuer: https://id.example.com
    audience: [factflow]
    jwks_url: `+idp.URL+`
    roles_claim: realm_access.roles
    scopes: { write: [pipeline-editors] }
logging: { level: warn }
`).url
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "https://id.example.com", "aud": "factflow",
		"sub": "u1", "preferred_username": "dana", "exp": time.Now().Add(time.Hour).Unix(),
		"realm_access": map[string]any{"roles": []string{"pipeline-editors"}}})
	tok.Header["kid"] = "a"
	signed, err := tok.SignedString(key)
	require.NoError(t, err)
	status, body := callAs(t, signed, http.MethodGet, url+"/api/v1/auth/whoami")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "dana", body["subject"])
	require.Equal(t, []any{"read", "write"}, body["scopes"])
	status, body = callAs(t, signed, http.MethodGet, url+"/api/v1/audit")
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "AUTH_SCOPE_INSUFFICIENT", body["error_code"])
}
