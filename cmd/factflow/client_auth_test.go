package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/api/apitest"
	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
)

// newTokenEnv serves the API in token mode and makes a token with each of
// the scopes asked for, named after it (an admin token is "admin").
func newTokenEnv(t *testing.T, scopes ...string) (*cliEnv, map[string]string) {
	t.Helper()
	s := apitest.Start(t, container.Config{}, api.Options{Auth: auth.Config{Mode: auth.ModeToken}})
	tokens := map[string]string{}
	for _, sc := range scopes {
		plain, hash, prefix, err := auth.NewToken()
		require.NoError(t, err)
		require.NoError(t, store.NewTokens(s.Container.DB).Create(context.Background(),
			&store.APIToken{Name: sc, Prefix: prefix, Hash: hash, Scopes: []string{sc}}))
		tokens[sc] = plain
	}
	return &cliEnv{t: t, c: s.Container, url: s.URL}, tokens
}

// tokenPattern finds the token in the table output of token create.
var tokenPattern = regexp.MustCompile(`\nToken:\s+(fft_\S+)`)

// TestCLITokenWhoamiAudit is not parallel: it sets FACTFLOW_TOKEN.
func TestCLITokenWhoamiAudit(t *testing.T) {
	e, tok := newTokenEnv(t, "admin", "read")
	t.Setenv("FACTFLOW_TOKEN", "")

	// Without a token: refused, with the code and a hint.
	res := e.cli("token", "list")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, auth.CodeAuthRequired)
	require.Contains(t, res.stderr, "(hint: ")
	who := decoded[api.Whoami](t, e.cli("whoami", "--output", "json"))
	require.Equal(t, auth.KindAnonymous, who.Kind)
	require.Equal(t, string(auth.ModeToken), who.AuthMode)

	// FACTFLOW_TOKEN works; --token wins over it.
	t.Setenv("FACTFLOW_TOKEN", tok["admin"])
	who = decoded[api.Whoami](t, e.cli("whoami", "--output", "json"))
	require.Equal(t, "token:admin", who.Subject)
	require.Equal(t, []string{"read", "write", "admin"}, who.Scopes)
	who = decoded[api.Whoami](t, e.cli("whoami", "--output", "json", "--token", tok["read"]))
	require.Equal(t, "token:read", who.Subject)
	require.Equal(t, []string{"read"}, who.Scopes)
	t.Setenv("FACTFLOW_TOKEN", "")
	admin := func(args ...string) runResult { return e.cli(append(args, "--token", tok["admin"])...) }

	// Create: the table shows the token once, prominently, with a warning.
	res = admin("token", "create", "--name", "ci", "--scope", "read,write", "--expires-in", "90d")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "shown this once")
	m := tokenPattern.FindStringSubmatch(res.stdout)
	require.NotNil(t, m, res.stdout)
	ci := m[1]
	who = decoded[api.Whoami](t, e.cli("whoami", "--output", "json", "--token", ci))
	require.Equal(t, "token:ci", who.Subject)
	require.Equal(t, auth.KindToken, who.Kind)
	require.Equal(t, []string{"read", "write"}, who.Scopes)
	res = e.cli("whoami", "--token", ci)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "token:ci")
	require.Contains(t, res.stdout, "read, write")

	res = admin("token", "create", "--name", "bot", "--scope", "read", "--scope", "admin",
		"--expires-at", "2099-01-01T00:00:00Z", "--output", "json")
	bot := decoded[api.TokenCreated](t, res)
	require.Contains(t, res.stderr, "shown this once")
	require.Equal(t, []string{"read", "admin"}, bot.Scopes)
	require.NotNil(t, bot.ExpiresAt)
	require.True(t, strings.HasPrefix(bot.Token, bot.Prefix), "the prefix begins the token")

	// Lists never show a secret, in any output.
	for _, out := range []string{"table", "json", "yaml"} {
		res = admin("token", "list", "--output", out)
		require.Equal(t, exitOK, res.code, res)
		for _, secret := range []string{ci, bot.Token, tok["admin"], tok["read"]} {
			require.NotContains(t, res.stdout, secret, out)
		}
		require.Contains(t, res.stdout, bot.Prefix, out)
	}

	// Revoke: the token is refused from then on, and lists mark it.
	res = admin("token", "revoke", bot.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "revoked")
	res = e.cli("config", "list", "--token", bot.Token)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, auth.CodeTokenRevoked)
	require.NotContains(t, res.stderr, bot.Token, "errors never show the token")
	pg := decoded[api.Page[store.APIToken]](t, admin("token", "list", "--output", "json"))
	require.Equal(t, 3, pg.Total, "revoked tokens are left out without --all")
	res = admin("token", "list", "--all")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^`+bot.ID+`\s+bot\s.*\srevoked\s*$`, res.stdout)
	require.Regexp(t, `(?m)^\S+\s+ci\s.*\sactive\s*$`, res.stdout)
	res = admin("token", "revoke", "0190c3a8-7d2e-7000-8000-000000000000")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "TOKEN_NOT_FOUND")

	// A read token may not create tokens.
	res = e.cli("token", "create", "--name", "sneaky", "--scope", "admin", "--token", tok["read"])
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, auth.CodeScopeInsufficient)
	require.Contains(t, res.stderr, "(hint: ")
	require.NotContains(t, res.stderr, tok["read"])

	// The audit log: the admin's creations and the refused attempt.
	all := decoded[api.Page[store.AuditEntry]](t, admin("audit", "list", "--output", "json"))
	var created, denied int
	for _, a := range all.Items {
		if a.Action == "create-token" && a.Actor == "token:admin" && a.Result == store.AuditOK {
			created++
		}
		if a.Action == "create-token" && a.Actor == "token:read" && a.Result == store.AuditDenied {
			denied++
			require.Equal(t, http.StatusForbidden, a.Status)
			require.Equal(t, auth.CodeScopeInsufficient, a.ErrorCode)
		}
	}
	require.Equal(t, 2, created, all.Items)
	require.Equal(t, 1, denied, all.Items)

	byActor := decoded[api.Page[store.AuditEntry]](t, admin("audit", "list", "--actor", "token:read", "--output", "json"))
	require.NotEmpty(t, byActor.Items)
	for _, a := range byActor.Items {
		require.Equal(t, "token:read", a.Actor)
	}
	deniedOnly := decoded[api.Page[store.AuditEntry]](t, admin("audit", "list", "--result", "denied", "--since", "1h", "--output", "json"))
	require.NotEmpty(t, deniedOnly.Items)
	for _, a := range deniedOnly.Items {
		require.Equal(t, store.AuditDenied, a.Result)
	}
	none := decoded[api.Page[store.AuditEntry]](t, admin("audit", "list", "--until", "1h", "--output", "json"))
	require.Zero(t, none.Total, "nothing is older than an hour")

	res = admin("audit", "list", "--result", "denied")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^AT\s+ACTOR\s+ACTION\s+TARGET\s+STATUS\s+RESULT\s+CODE\s*$`, res.stdout)
	require.Regexp(t, `token:read\s+create-token\s+/auth/tokens\s+403\s+denied\s+`+auth.CodeScopeInsufficient, res.stdout)
	require.Contains(t, res.stdout, "of "+strconv.Itoa(deniedOnly.Total))
	res = admin("audit", "list", "--output", "yaml", "--limit", "1")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "has_more: true")

	res = admin("audit", "list", "--since", "yesterday")
	require.Equal(t, exitUsage, res.code, res)
	res = e.cli("audit", "list", "--token", ci)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, auth.CodeScopeInsufficient)
}

// recordingProxy forwards to target and keeps the Authorization header of
// every request by path.
type recordingProxy struct {
	mu   sync.Mutex
	auth map[string][]string
}

func newRecordingProxy(t *testing.T, target string) (*recordingProxy, string) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &recordingProxy{auth: map[string][]string{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // event streams pass through as they come
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.auth[r.URL.Path] = append(p.auth[r.URL.Path], r.Header.Get("Authorization"))
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *recordingProxy) headers(path string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.auth[path]...)
}

// TestCLITokenStreams: event streams, like plain calls, carry the token.
func TestCLITokenStreams(t *testing.T) {
	t.Parallel()
	e, tok := newTokenEnv(t, "write", "read")
	proxy, proxyURL := newRecordingProxy(t, e.url)
	cli := func(args ...string) runResult { return cliAt(t, context.Background(), proxyURL, args...) }

	res := cli("config", "create", "-f", writeFile(t, "held.yaml", pausedYAML), "--token", tok["write"])
	require.Equal(t, exitOK, res.code, res)
	res = cli("config", "run", "held", "--payload", sixURLs, "--tag", "t1", "--wait", "--progress", "none", "--token", tok["write"])
	require.Equal(t, exitOK, res.code, res)
	ex := decoded[api.Execution](t, cli("execution", "get", "t1", "--output", "json", "--token", tok["read"]))

	// Without the token the stream is refused.
	res = cli("execution", "watch", ex.ID)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, auth.CodeAuthRequired)

	res = cli("execution", "watch", ex.ID, "--output", "json", "--token", tok["read"])
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, `"type":"status"`)
	events := proxy.headers(api.BasePath + "/executions/" + ex.ID + "/events")
	require.Contains(t, events, "Bearer "+tok["read"], "watch sent the token on the stream")
	// run --wait follows the stream only when the execution has not ended
	// by its first look, so its token is checked on that look; the stream
	// itself is covered by watch above.
	require.Contains(t, proxy.headers(api.BasePath+"/executions/"+ex.ID), "Bearer "+tok["write"],
		"run --wait sent the token")

	res = cli("storage", "watch", "--execution", "t1", "--output", "json", "--token", tok["read"])
	require.Equal(t, exitOK, res.code, res)
	storage := proxy.headers(api.BasePath + "/storage/events")
	require.NotEmpty(t, storage)
	for _, h := range storage {
		require.Equal(t, "Bearer "+tok["read"], h)
	}
}

// TestCLITokenHints: a refusal without the server's hint gets the
// client's, and a malformed token is refused before any call without
// being echoed.
func TestCLITokenHints(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"status":401,"error_code":"AUTH_REQUIRED","detail":"this operation needs credentials"}`))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"status":403,"error_code":"AUTH_SCOPE_INSUFFICIENT","detail":"needs admin"}`))
	}))
	t.Cleanup(srv.Close)

	res := cliAt(t, context.Background(), srv.URL, "audit", "list", "--token", "")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "AUTH_REQUIRED: this operation needs credentials (hint: pass --token or set FACTFLOW_TOKEN)")

	res = cliAt(t, context.Background(), srv.URL, "audit", "list", "--token", "fft_hidden")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "AUTH_SCOPE_INSUFFICIENT: needs admin (hint: ")
	require.Contains(t, res.stderr, "scope")
	require.NotContains(t, res.stderr, "fft_hidden")

	res = cliAt(t, context.Background(), srv.URL, "audit", "list", "--token", "fft_bad secret")
	require.Equal(t, exitUsage, res.code, res)
	require.NotContains(t, res.stderr, "secret")

	res = cliAt(t, context.Background(), "http://127.0.0.1:1", "whoami", "--token", "fft_unreachable")
	require.Equal(t, exitUnreachable, res.code, res)
	require.NotContains(t, res.stderr, "fft_unreachable")

	res, _ = cliBounded(context.Background(), "--help")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "[FACTFLOW_TOKEN]")
}
