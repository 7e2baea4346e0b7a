package auth

import (
	"context"
	"slices"
)

// Principal kinds.
const (
	KindAnonymous = "anonymous"
	KindLocal     = "local"
	KindToken     = "token"
	KindProxy     = "proxy"
	KindOIDC      = "oidc"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject names the caller in the audit log: "token:<name>",
	// a user name, or "local".
	Subject string   `json:"subject"`
	Kind    string   `json:"kind"`
	Email   string   `json:"email,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	// TokenID is set for API tokens.
	TokenID string  `json:"token_id,omitempty"`
	Scopes  []Scope `json:"-"`
}

// Anonymous is a caller that sent no credentials.
var Anonymous = &Principal{Subject: "anonymous", Kind: KindAnonymous}

// Local is the caller in mode none: the operator on this machine.
var Local = &Principal{Subject: "local", Kind: KindLocal, Scopes: []Scope{Read, Write, Admin}}

// Can reports whether p holds s or a stronger scope.
func (p *Principal) Can(s Scope) bool {
	return s == Public || highest(p.Scopes) >= s
}

// ScopeNames lists p's scopes, expanded (an admin also reads and writes).
func (p *Principal) ScopeNames() []string {
	out := []string{}
	h := highest(p.Scopes)
	for _, s := range AllScopes {
		if s <= h {
			out = append(out, s.String())
		}
	}
	return out
}

// Authenticated reports whether p is someone.
func (p *Principal) Authenticated() bool { return p.Kind != KindAnonymous }

func expand(scopes []Scope) []Scope {
	h := highest(scopes)
	return slices.DeleteFunc(slices.Clone(AllScopes), func(s Scope) bool { return s > h })
}

type ctxKey struct{}

// result is what authentication left in a request's context.
type result struct {
	p   *Principal
	err *Error
}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, result{p: p})
}

func withFailure(ctx context.Context, err *Error) context.Context {
	return context.WithValue(ctx, ctxKey{}, result{p: Anonymous, err: err})
}

// FromContext returns the caller and, when credentials were sent but
// refused, why. A context authentication never saw yields Anonymous.
func FromContext(ctx context.Context) (*Principal, *Error) {
	r, ok := ctx.Value(ctxKey{}).(result)
	if !ok || r.p == nil {
		return Anonymous, nil
	}
	return r.p, r.err
}
