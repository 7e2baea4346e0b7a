package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/store"
)

// Codes of the auth operations.
const (
	CodeRequestTimeout = "REQUEST_TIMEOUT"
	CodeExpiryInvalid  = "TOKEN_EXPIRY_INVALID"
)

// operationScopes are the scopes that differ from the default: read for
// GET, write for every other method. Reads sent as POST (searches, chat
// answers, validation, archive preparation) stay read; what reaches
// outside (webhooks), changes the database's shape (indexes) or governs
// access (tokens, audit) is admin.
var operationScopes = map[string]auth.Scope{
	"get-system-health": auth.Public,
	"whoami":            auth.Public,

	"validate-config":    auth.Read,
	"search-semantic":    auth.Read,
	"search-hybrid":      auth.Read,
	"search-rrf":         auth.Read,
	"search-multi-model": auth.Read,
	"chat-complete":      auth.Read,
	"chat-stream":        auth.Read,
	"count-archive":      auth.Read,
	"prepare-archive":    auth.Read,
	"delete-archive":     auth.Read,

	"run-mq-diagnostic":   auth.Admin,
	"create-index":        auth.Admin,
	"delete-index":        auth.Admin,
	"auto-manage-indexes": auth.Admin,
	"create-webhook":      auth.Admin,
	"update-webhook":      auth.Admin,
	"delete-webhook":      auth.Admin,
	"test-webhook":        auth.Admin,
	"redeliver-webhook":   auth.Admin,
	"create-token":        auth.Admin,
	"list-tokens":         auth.Admin,
	"revoke-token":        auth.Admin,
	"list-audit":          auth.Admin,
}

// notMutating are non-GET operations that change nothing worth auditing.
var notMutating = map[string]bool{
	"validate-config": true, "search-semantic": true, "search-hybrid": true, "search-rrf": true,
	"search-multi-model": true, "chat-complete": true, "chat-stream": true, "count-archive": true,
}

// unbounded operations stream or send large bodies: they end when the
// client or the execution does, so the request timeout does not apply.
var unbounded = map[string]bool{
	"stream-execution-events": true, "stream-storage-events": true, "chat-stream": true, "chat-complete": true,
	"send-chat-message": true, "download-archive": true, "get-object": true,
}

// ScopeOf is the scope an operation needs.
func ScopeOf(o *huma.Operation) auth.Scope {
	if s, ok := operationScopes[o.OperationID]; ok {
		return s
	}
	if o.Method == http.MethodGet {
		return auth.Read
	}
	return auth.Write
}

func mutating(o *huma.Operation) bool {
	return o.Method != http.MethodGet && o.Method != http.MethodHead && !notMutating[o.OperationID]
}

// requestState is what the layers of one request tell each other.
type requestState struct {
	errorCode string
}

const requestStateKey ctxKey = iota + 100

func stateOf(ctx context.Context) *requestState {
	s, _ := ctx.Value(requestStateKey).(*requestState)
	return s
}

// useAuth checks each operation's scope, bounds its time, and records
// mutating calls in the audit log. Installed before the operations.
func (a *API) useAuth() {
	a.huma.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		o := ctx.Operation()
		start := time.Now()
		need := ScopeOf(o)
		p, refusal := auth.Check(ctx.Context(), need)
		if refusal != nil {
			writeRefusal(ctx, refusal, need)
		} else {
			c := ctx
			if !unbounded[o.OperationID] && a.opts.RequestTimeout > 0 {
				tctx, cancel := context.WithTimeout(ctx.Context(), a.opts.RequestTimeout)
				defer cancel()
				c = huma.WithContext(ctx, tctx)
			}
			next(c)
		}
		status := ctx.Status()
		if status == 0 {
			status = http.StatusOK
		}
		code := ""
		if refusal != nil {
			code = refusal.Code
		} else if st := stateOf(ctx.Context()); st != nil {
			code = st.errorCode
		}
		a.logRequest(ctx, p, status, code, time.Since(start))
		if mutating(o) {
			a.audit(ctx, p, status, code, refusal != nil, time.Since(start))
		}
	})
}

// writeRefusal answers 401 or 403 with the problem shape and the
// WWW-Authenticate challenge RFC 6750 describes.
func writeRefusal(ctx huma.Context, e *auth.Error, need auth.Scope) {
	if ch := challenge(e, need); ch != "" {
		ctx.SetHeader("WWW-Authenticate", ch)
	}
	p := problem(e.Status, e.Code, e.Msg, e.Hint)
	p.CorrelationID = requestID(ctx.Context())
	p.Timestamp = time.Now().UTC()
	if st := stateOf(ctx.Context()); st != nil {
		st.errorCode = e.Code
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(e.Status)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(p)
}

// challenge is the WWW-Authenticate value RFC 6750 describes for a
// refusal ("" when the refusal is not about credentials).
func challenge(e *auth.Error, need auth.Scope) string {
	switch e.Status {
	case http.StatusUnauthorized:
		ch := `Bearer realm="factflow"`
		if e.Code != auth.CodeAuthRequired && e.Code != auth.CodeUntrustedProxy {
			ch += `, error="invalid_token"`
		}
		return ch
	case http.StatusForbidden:
		return fmt.Sprintf(`Bearer realm="factflow", error="insufficient_scope", scope="%s"`, need)
	}
	return ""
}

// requireScope guards a plain handler (/metrics) like an operation.
func requireScope(s auth.Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, refusal := auth.Check(r.Context(), s); refusal != nil {
			if ch := challenge(refusal, s); ch != "" {
				w.Header().Set("WWW-Authenticate", ch)
			}
			writeProblem(w, r, refusal.Status, refusal.Code, refusal.Msg, refusal.Hint)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) logRequest(ctx huma.Context, p *auth.Principal, status int, code string, took time.Duration) {
	o := ctx.Operation()
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelWarn
	case mutating(o):
		level = slog.LevelInfo
	}
	if !a.log.Enabled(ctx.Context(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("correlation_id", requestID(ctx.Context())), slog.String("operation", o.OperationID),
		slog.String("method", ctx.Method()), slog.String("path", ctx.URL().Path), slog.Int("status", status),
		slog.String("actor", p.Subject), slog.Float64("ms", ms(took))}
	if code != "" {
		attrs = append(attrs, slog.String("error_code", code))
	}
	a.log.LogAttrs(ctx.Context(), level, "request", attrs...)
}

func (a *API) audit(ctx huma.Context, p *auth.Principal, status int, code string, denied bool, took time.Duration) {
	result := store.AuditOK
	switch {
	case denied:
		result = store.AuditDenied
	case status >= 400:
		result = store.AuditError
	}
	e := &store.AuditEntry{Actor: p.Subject, ActorKind: p.Kind, Action: ctx.Operation().OperationID, Method: ctx.Method(),
		Target: strings.TrimPrefix(ctx.URL().Path, BasePath), Status: status, Result: result, ErrorCode: code,
		RequestID: requestID(ctx.Context()), RemoteAddr: ctx.RemoteAddr(), DurationMS: int(took.Milliseconds())}
	// The answer is out already; the record must still be written when
	// the client has gone.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx.Context()), 5*time.Second)
	defer cancel()
	if err := a.auditLog.Append(wctx, e); err != nil {
		a.log.Error("an audit record was not written", "correlation_id", e.RequestID, "action", e.Action,
			"target", e.Target, "actor", e.Actor, "error", err)
	}
}

// TokenCreate is the body of POST /auth/tokens.
type TokenCreate struct {
	Name      string     `json:"name" minLength:"1" maxLength:"100" doc:"What the token is for, e.g. ci-nightly"`
	Scopes    []string   `json:"scopes" minItems:"1" maxItems:"3" enum:"read,write,admin" doc:"read < write < admin: each includes the weaker ones"`
	ExpiresIn string     `json:"expires_in,omitempty" maxLength:"20" doc:"Lifetime, e.g. 720h or 90d; empty with no expires_at: never expires"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"Expiry instant (instead of expires_in)"`
}

// TokenCreated is a new token with its secret, shown this once.
type TokenCreated struct {
	store.APIToken
	Token string `json:"token" doc:"The token; send it as \"Authorization: Bearer <token>\". It is not shown again"`
}

// Whoami is the caller as the server sees it.
type Whoami struct {
	auth.Principal
	Scopes   []string `json:"scopes"`
	AuthMode string   `json:"auth_mode" enum:"none,token,trusted_headers,oidc"`
}

func parseExpiry(in string, now time.Time) (time.Time, error) {
	in = strings.TrimSpace(in)
	var d time.Duration
	if days, ok := strings.CutSuffix(in, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return time.Time{}, err
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(in); err != nil {
			return time.Time{}, err
		}
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("not positive")
	}
	return now.Add(d), nil
}

func (a *API) registerAuth() {
	const tag = "auth"
	tokens := a.tokens

	huma.Register(a.huma, op(http.MethodGet, "/auth/whoami", "whoami", "Who the server takes the caller for", tag),
		func(ctx context.Context, _ *struct{}) (*struct{ Body Whoami }, error) {
			p, _ := auth.FromContext(ctx)
			return &struct{ Body Whoami }{Body: Whoami{Principal: *p, Scopes: p.ScopeNames(), AuthMode: string(a.authMode())}}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/auth/tokens", "create-token", "Create an API token", tag)
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *struct{ Body TokenCreate }) (*struct{ Body TokenCreated }, error) {
		b := in.Body
		scopes, err := auth.ParseScopes(b.Scopes)
		if err != nil {
			return nil, problem(http.StatusUnprocessableEntity, auth.CodeScopeInvalid, err.Error(), "use read, write or admin")
		}
		now := time.Now()
		var expires *time.Time
		switch {
		case b.ExpiresIn != "" && b.ExpiresAt != nil:
			return nil, problem(http.StatusUnprocessableEntity, CodeExpiryInvalid, "expires_in and expires_at are both given", "give one of them")
		case b.ExpiresIn != "":
			t, err := parseExpiry(b.ExpiresIn, now)
			if err != nil {
				return nil, problem(http.StatusUnprocessableEntity, CodeExpiryInvalid,
					fmt.Sprintf("expires_in %q is not a positive duration", b.ExpiresIn), "write e.g. 12h, 720h or 90d")
			}
			expires = &t
		case b.ExpiresAt != nil:
			if !b.ExpiresAt.After(now) {
				return nil, problem(http.StatusUnprocessableEntity, CodeExpiryInvalid, "expires_at is in the past", "give a future instant")
			}
			expires = b.ExpiresAt
		}
		plain, hash, prefix, err := auth.NewToken()
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		p, _ := auth.FromContext(ctx)
		t := &store.APIToken{Name: b.Name, Prefix: prefix, Hash: hash, Scopes: auth.ScopeNames(scopes),
			CreatedBy: p.Subject, ExpiresAt: expires}
		if err := tokens.Create(ctx, t); err != nil {
			return nil, a.fail(ctx, err)
		}
		a.log.Info("API token created", "token_id", t.ID, "name", t.Name, "scopes", strings.Join(t.Scopes, ","),
			"actor", p.Subject, "correlation_id", requestID(ctx))
		return &struct{ Body TokenCreated }{Body: TokenCreated{APIToken: *t, Token: plain}}, nil
	})

	type listIn struct {
		IncludeRevoked bool `query:"include_revoked" doc:"Also list revoked tokens"`
		Limit          int  `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		Offset         int  `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/auth/tokens", "list-tokens", "API tokens (never their secrets)", tag),
		func(ctx context.Context, in *listIn) (*struct{ Body Page[store.APIToken] }, error) {
			pg, err := tokens.List(ctx, in.IncludeRevoked, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[store.APIToken] }{Body: pageOf(pg)}, nil
		})

	huma.Register(a.huma, op(http.MethodDelete, "/auth/tokens/{id}", "revoke-token", "Revoke an API token", tag),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"64" doc:"Token id"`
		}) (*struct{ Body store.APIToken }, error) {
			t, err := tokens.Revoke(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			a.authn.ForgetToken(t.ID)
			p, _ := auth.FromContext(ctx)
			a.log.Info("API token revoked", "token_id", t.ID, "name", t.Name, "actor", p.Subject, "correlation_id", requestID(ctx))
			return &struct{ Body store.APIToken }{Body: *t}, nil
		})

	type auditIn struct {
		Actor  string    `query:"actor" maxLength:"200" doc:"Exactly this actor, e.g. token:ci or alice"`
		Action string    `query:"action" maxLength:"100" doc:"Operation id, e.g. create-config"`
		Target string    `query:"target" maxLength:"500" doc:"Path prefix under /api/v1, e.g. /configs/"`
		Result string    `query:"result" enum:"ok,error,denied"`
		Since  time.Time `query:"since" doc:"From this instant (RFC 3339)"`
		Until  time.Time `query:"until" doc:"Before this instant (RFC 3339)"`
		Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		Offset int       `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/audit", "list-audit", "The audit log: every mutating call, newest first", "audit"),
		func(ctx context.Context, in *auditIn) (*struct{ Body Page[store.AuditEntry] }, error) {
			pg, err := a.auditLog.List(ctx, store.AuditFilter{Actor: in.Actor, Action: in.Action, Target: in.Target,
				Result: in.Result, Since: in.Since, Until: in.Until}, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[store.AuditEntry] }{Body: pageOf(pg)}, nil
		})
}

func (a *API) authMode() auth.Mode { return a.authn.Mode() }
