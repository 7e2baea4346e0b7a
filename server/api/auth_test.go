package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/server/httpguard"
	"github.com/factflow/factflow/store"
)

// mintToken stores a token with scopes straight in the database.
func (e *env) mintToken(name string, scopes ...string) string {
	e.t.Helper()
	plain, hash, prefix, err := auth.NewToken()
	require.NoError(e.t, err)
	require.NoError(e.t, store.NewTokens(e.c.DB).Create(context.Background(),
		&store.APIToken{Name: name, Prefix: prefix, Hash: hash, Scopes: scopes}))
	return plain
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

type documentedOp struct {
	method, path, id, scope string
}

// operations reads every operation and the scope it documents from the
// server's own OpenAPI document.
func (e *env) operations() []documentedOp {
	e.t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
			Scope       string                `json:"x-factflow-scope"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type, Scheme string
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	r := e.do(http.MethodGet, "/openapi.json", nil)
	require.Equal(e.t, http.StatusOK, r.status)
	require.NoError(e.t, json.Unmarshal(r.body, &doc))
	require.Equal(e.t, "bearer", doc.Components.SecuritySchemes["bearer"].Scheme)
	var ops []documentedOp
	for path, byMethod := range doc.Paths {
		for method, o := range byMethod {
			scope := "public"
			if len(o.Security) > 0 {
				require.Len(e.t, o.Security[0]["bearer"], 1, "%s documents one scope", o.OperationID)
				scope = o.Security[0]["bearer"][0]
				require.Equal(e.t, scope, o.Scope, o.OperationID)
			} else {
				require.NotNil(e.t, o.Security, "%s must say it needs no credentials (security: [])", o.OperationID)
			}
			ops = append(ops, documentedOp{method: strings.ToUpper(method), path: path, id: o.OperationID, scope: scope})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })
	return ops
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestEveryOperationEnforcesItsScope walks every operation the server
// registers: a caller without credentials, with a made-up token, or with a
// scope below the one the operation documents is refused, including on
// event streams; a caller with the documented scope gets past
// authorization.
func TestEveryOperationEnforcesItsScope(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond, Auth: auth.Config{Mode: auth.ModeToken}})
	tokens := map[string]string{
		"read":  e.mintToken("reader", "read"),
		"write": e.mintToken("writer", "write"),
		"admin": e.mintToken("admin", "admin"),
	}
	rank := map[string]int{"public": 0, "read": 1, "write": 2, "admin": 3}
	ops := e.operations()
	require.Greater(t, len(ops), 80, "every operation is documented")
	seen := map[string]bool{}
	client := &http.Client{Timeout: 20 * time.Second}
	send := func(o documentedOp, header ...string) (int, api.Problem, http.Header) {
		t.Helper()
		path := pathParam.ReplaceAllString(o.path, "00000000-0000-0000-0000-000000000000")
		var body io.Reader
		if o.method != http.MethodGet && o.method != http.MethodDelete {
			body = strings.NewReader("{}")
		}
		req, err := http.NewRequest(o.method, e.url+path, body)
		require.NoError(t, err)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		require.NoError(t, err, o.id)
		defer res.Body.Close()
		var p api.Problem
		if strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			_ = json.NewDecoder(res.Body).Decode(&p)
		}
		return res.StatusCode, p, res.Header
	}
	for _, o := range ops {
		seen[o.id] = true
		need := rank[o.scope]
		status, p, h := send(o)
		if need == 0 {
			require.NotContains(t, []int{401, 403}, status, "%s is public: %+v", o.id, p)
		} else {
			require.Equal(t, http.StatusUnauthorized, status, "%s without credentials", o.id)
			require.Equal(t, auth.CodeAuthRequired, p.ErrorCode, o.id)
			require.Contains(t, h.Get("WWW-Authenticate"), "Bearer", o.id)
		}
		status, p, _ = send(o, bearer("fft_"+strings.Repeat("A", 43))...)
		require.Equal(t, http.StatusUnauthorized, status, "%s with an unknown token", o.id)
		require.Equal(t, auth.CodeTokenInvalid, p.ErrorCode, o.id)

		for scope, token := range tokens {
			status, p, h = send(o, bearer(token)...)
			if rank[scope] < need {
				require.Equal(t, http.StatusForbidden, status, "%s (needs %s) with a %s token", o.id, o.scope, scope)
				require.Equal(t, auth.CodeScopeInsufficient, p.ErrorCode, o.id)
				require.Contains(t, h.Get("WWW-Authenticate"), `scope="`+o.scope+`"`, o.id)
				continue
			}
			require.NotContains(t, []int{401, 403}, status, "%s (needs %s) with a %s token: %+v", o.id, o.scope, scope, p)
		}
	}
	for _, id := range []string{"stream-execution-events", "stream-storage-events", "chat-stream", "send-chat-message",
		"create-token", "list-audit", "create-webhook", "run-mq-diagnostic", "get-system-health", "whoami"} {
		require.True(t, seen[id], "%s is among the walked operations", id)
	}
	// Scopes as documented for the operations whose scope is a decision.
	scopes := map[string]string{}
	for _, o := range ops {
		scopes[o.id] = o.scope
	}
	require.Equal(t, "public", scopes["get-system-health"])
	require.Equal(t, "read", scopes["search-hybrid"])
	require.Equal(t, "read", scopes["stream-execution-events"])
	require.Equal(t, "write", scopes["run-config"])
	require.Equal(t, "admin", scopes["create-webhook"])
	require.Equal(t, "read", scopes["list-webhooks"])
	require.Equal(t, "admin", scopes["list-tokens"])

	// The UI and the API's description stay public: a browser must load
	// the page that asks for the token.
	r := e.do(http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.status)
	r = e.do(http.MethodGet, "/api/v1/system/health?debug=true", nil)
	e.problem(r, http.StatusUnauthorized, auth.CodeAuthRequired)
	r = e.do(http.MethodGet, "/api/v1/system/health?debug=true", nil, bearer(tokens["read"])...)
	require.Equal(t, http.StatusOK, r.status)
}

// TestTokensWhoamiAndAudit: an admin makes a token that is shown once and
// stored hashed; it works until it is revoked or expires; every mutating
// call, allowed, failed or refused, lands in the audit log, which only
// admins read.
func TestTokensWhoamiAndAudit(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond, Auth: auth.Config{Mode: auth.ModeToken}})
	admin := e.mintToken("root", "admin")
	reader := e.mintToken("reader", "read")
	as := func(token, method, path string, body any) response {
		return e.do(method, path, body, bearer(token)...)
	}

	var who api.Whoami
	r := e.do(http.MethodGet, "/api/v1/auth/whoami", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NoError(t, json.Unmarshal(r.body, &who))
	require.Equal(t, "anonymous", who.Subject)
	require.Equal(t, "token", who.AuthMode)
	require.Empty(t, who.Scopes)

	// Create: the token is in this answer only.
	r = as(admin, http.MethodPost, "/api/v1/auth/tokens", map[string]any{"name": "ci", "scopes": []string{"write"}, "expires_in": "30d"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var created api.TokenCreated
	require.NoError(t, json.Unmarshal(r.body, &created))
	require.True(t, strings.HasPrefix(created.Token, auth.TokenPrefix))
	require.Equal(t, created.Token[:len(created.Prefix)], created.Prefix)
	require.Equal(t, "token:root", created.CreatedBy)
	require.WithinDuration(t, time.Now().Add(30*24*time.Hour), *created.ExpiresAt, time.Minute)
	r = as(admin, http.MethodGet, "/api/v1/auth/tokens", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), created.Token, "listings never hold the token")
	require.Contains(t, string(r.body), created.Prefix)
	var stored []byte
	require.NoError(t, e.c.DB.Pool().QueryRow(context.Background(), `SELECT hash FROM api_tokens WHERE id = $1`, created.ID).Scan(&stored))
	require.Equal(t, auth.HashToken(created.Token), stored, "only the SHA-256 is stored")

	r = as(created.Token, http.MethodGet, "/api/v1/auth/whoami", nil)
	require.NoError(t, json.Unmarshal(r.body, &who))
	require.Equal(t, "token:ci", who.Subject)
	require.Equal(t, []string{"read", "write"}, who.Scopes)
	require.Equal(t, created.ID, who.TokenID)

	// Bad requests for tokens.
	e.problem(as(admin, http.MethodPost, "/api/v1/auth/tokens", map[string]any{"name": "x", "scopes": []string{"root"}}),
		http.StatusUnprocessableEntity, api.CodeValidationFailed)
	e.problem(as(admin, http.MethodPost, "/api/v1/auth/tokens", map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in": "-1h"}),
		http.StatusUnprocessableEntity, api.CodeExpiryInvalid)
	e.problem(as(reader, http.MethodPost, "/api/v1/auth/tokens", map[string]any{"name": "x", "scopes": []string{"admin"}}),
		http.StatusForbidden, auth.CodeScopeInsufficient)

	// Writes with the new token, a refused one, and a failed one.
	r = as(created.Token, http.MethodPost, "/api/v1/configs", api.ConfigCreate{Name: "audited", ConfigYAML: "version: \"1.0\"\n"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	e.problem(as(reader, http.MethodDelete, "/api/v1/configs/audited", nil), http.StatusForbidden, auth.CodeScopeInsufficient)
	e.problem(as(created.Token, http.MethodDelete, "/api/v1/configs/missing", nil), http.StatusNotFound, store.CodeConfigNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/executions", map[string]any{"config_id": "audited"}), http.StatusUnauthorized, auth.CodeAuthRequired)

	// Revoked and expired tokens are refused with their reason.
	r = as(admin, http.MethodDelete, "/api/v1/auth/tokens/"+created.ID, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	e.problem(as(created.Token, http.MethodGet, "/api/v1/configs", nil), http.StatusUnauthorized, auth.CodeTokenRevoked)
	expired := e.mintToken("old", "read")
	_, err := e.c.DB.Pool().Exec(context.Background(), `UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE name = 'old'`)
	require.NoError(t, err)
	e.problem(as(expired, http.MethodGet, "/api/v1/configs", nil), http.StatusUnauthorized, auth.CodeTokenExpired)
	e.problem(e.do(http.MethodGet, "/api/v1/configs", nil, "Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
		http.StatusUnauthorized, auth.CodeAuthHeaderInvalid)
	e.problem(as(admin, http.MethodDelete, "/api/v1/auth/tokens/00000000-0000-0000-0000-000000000000", nil),
		http.StatusNotFound, store.CodeTokenNotFound)

	// The audit log.
	audit := func(token, query string) api.Page[store.AuditEntry] {
		t.Helper()
		var pg api.Page[store.AuditEntry]
		r := as(token, http.MethodGet, "/api/v1/audit"+query, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.NoError(t, json.Unmarshal(r.body, &pg))
		return pg
	}
	all := audit(admin, "")
	byAction := map[string][]store.AuditEntry{}
	for _, a := range all.Items {
		byAction[a.Action] = append(byAction[a.Action], a)
		require.NotEmpty(t, a.RequestID)
		require.NotContains(t, a.Target, "?")
	}
	require.Empty(t, byAction["list-tokens"], "reads are not audited")
	require.Empty(t, byAction["whoami"])
	c := byAction["create-config"]
	require.Len(t, c, 1)
	require.Equal(t, "token:ci", c[0].Actor)
	require.Equal(t, "token", c[0].ActorKind)
	require.Equal(t, store.AuditOK, c[0].Result)
	require.Equal(t, http.StatusCreated, c[0].Status)
	require.Equal(t, "/configs", c[0].Target)
	deletes := byAction["delete-config"]
	require.Len(t, deletes, 2)
	results := map[string]store.AuditEntry{}
	for _, d := range deletes {
		results[d.Result] = d
	}
	require.Equal(t, "token:reader", results[store.AuditDenied].Actor)
	require.Equal(t, auth.CodeScopeInsufficient, results[store.AuditDenied].ErrorCode)
	require.Equal(t, "/configs/audited", results[store.AuditDenied].Target)
	require.Equal(t, store.CodeConfigNotFound, results[store.AuditError].ErrorCode)
	require.Equal(t, http.StatusNotFound, results[store.AuditError].Status)
	anon := byAction["start-execution"]
	require.Len(t, anon, 1)
	require.Equal(t, "anonymous", anon[0].Actor)
	require.Equal(t, store.AuditDenied, anon[0].Result)
	require.Len(t, byAction["revoke-token"], 2, "the revocation and the unknown id")
	require.Len(t, byAction["create-token"], 4, "one made, two invalid, one refused")

	denied := audit(admin, "?result=denied&actor=token:reader")
	require.Len(t, denied.Items, 2, "the reader's refused token creation and delete")
	require.Len(t, audit(admin, "?target=/configs/").Items, 2, "the two deletes; the create went to /configs")
	require.Len(t, audit(admin, "?target=/configs").Items, 3)
	require.Len(t, audit(admin, "?action=create-config").Items, 1)
	require.Zero(t, audit(admin, "?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)).Total)
	e.problem(as(reader, http.MethodGet, "/api/v1/audit", nil), http.StatusForbidden, auth.CodeScopeInsufficient)
}

// TestMetricsNeedReadAndLimitsCountPerToken: Prometheus scrapes with a
// read token; the rate limit counts each token on its own, so one busy
// script does not starve the others behind the same address.
func TestMetricsNeedReadAndLimitsCountPerToken(t *testing.T) {
	t.Parallel()
	e, _ := newSystemEnv(t, container.Config{}, func(o *api.Options) {
		o.Auth = auth.Config{Mode: auth.ModeToken}
		o.RateLimit = httpguard.RateLimit{RequestsPerSecond: 0.01, Burst: 2}
	})
	e.problem(e.do(http.MethodGet, "/metrics", nil), http.StatusUnauthorized, auth.CodeAuthRequired)
	one, two := e.mintToken("one", "read"), e.mintToken("two", "read")
	r := e.do(http.MethodGet, "/metrics", nil, bearer(one)...)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), "factflow_")

	for range 2 {
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/configs", nil, bearer(one)...).status)
	}
	e.problem(e.do(http.MethodGet, "/api/v1/configs", nil, bearer(one)...), http.StatusTooManyRequests, httpguard.CodeRateLimited)
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/configs", nil, bearer(two)...).status, "another token has its own budget")
}
