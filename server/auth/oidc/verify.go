package oidc

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenBytes refuses absurd inputs before any decoding; real tokens,
// even with many groups, stay far below it.
const maxTokenBytes = 64 << 10

// Claims is what the API needs to know about a verified caller.
type Claims struct {
	Subject, Username, Email, Issuer string
	// Scopes come from the scope claim.
	Scopes []string
	// Roles come from the roles claim.
	Roles     []string
	ExpiresAt time.Time
}

// Verify checks raw (the JWT without "Bearer ") and returns its claims.
// Every failure is an *Error. The key set is fetched here on first use,
// so ctx bounds how long the caller waits for it.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, malformed("token is empty", nil)
	}
	if len(raw) > maxTokenBytes {
		return nil, malformed(fmt.Sprintf("token is longer than %d bytes", maxTokenBytes), nil)
	}
	if e := checkHeader(raw); e != nil {
		return nil, e
	}
	mc := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(raw, mc, func(t *jwt.Token) (any, error) {
		k, e := v.keyFor(ctx, t)
		if e != nil {
			return nil, e
		}
		return k, nil
	})
	if err != nil {
		return nil, v.classify(err, mc)
	}
	// The parser checked the registered claims already; checking them again
	// here keeps the exact semantics (and error codes) in one place.
	if e := v.checkClaims(mc); e != nil {
		return nil, e
	}
	return v.mapClaims(mc), nil
}

// checkHeader refuses a token on its header alone, before any key lookup,
// so refused algorithms never cause a key set fetch.
func checkHeader(raw string) *Error {
	if strings.Count(raw, ".") != 2 {
		return malformed("token must be three base64url parts separated by dots", nil)
	}
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.Strict().DecodeString(head)
	if err != nil {
		return malformed("token header is not base64url", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil || h == nil {
		return malformed("token header is not a JSON object", err)
	}
	alg, ok := h["alg"].(string)
	if !ok {
		return malformed("token header has no alg", nil)
	}
	if !slices.Contains(allowedAlgs, alg) {
		return algRefused(fmt.Sprintf("token alg %s is not accepted", quote(alg)), nil)
	}
	if kid, ok := h["kid"]; ok {
		if _, ok := kid.(string); !ok {
			return malformed("token header kid is not a string", nil)
		}
	}
	// RFC 7515 requires refusing critical extensions one does not implement.
	if _, ok := h["crit"]; ok {
		return malformed("token header lists critical extensions, which are not supported", nil)
	}
	return nil
}

func (v *Verifier) keyFor(ctx context.Context, t *jwt.Token) (crypto.PublicKey, *Error) {
	alg := t.Method.Alg()
	if !slices.Contains(allowedAlgs, alg) {
		return nil, algRefused(fmt.Sprintf("token alg %s is not accepted", quote(alg)), nil)
	}
	kid, _ := t.Header["kid"].(string)
	set, err := v.keys.get(ctx, false)
	if err != nil {
		return nil, v.unavailable(err)
	}
	key, e, retry := pickKey(set, kid, alg)
	if !retry {
		return key, e
	}
	// The provider may have rotated keys since the last fetch.
	if set, err = v.keys.get(ctx, true); err != nil {
		return nil, v.unavailable(err)
	}
	key, e, _ = pickKey(set, kid, alg)
	return key, e
}

// pickKey finds the key for a token. retry reports that a fresher key set
// might have it.
func pickKey(set *keySet, kid, alg string) (key crypto.PublicKey, e *Error, retry bool) {
	if kid != "" {
		named := false
		for _, k := range set.keys {
			if k.kid != kid {
				continue
			}
			if k.fits(alg) {
				return k.key, nil, false
			}
			named = true
		}
		if named {
			return nil, algRefused(fmt.Sprintf("token alg %s does not fit the key %s it names", alg, quote(kid)), nil), false
		}
		return nil, keyUnknown(fmt.Sprintf("the issuer's key set has no key %s", quote(kid)),
			"obtain a new token; if the identity provider just rotated its keys, retrying shortly may succeed"), true
	}
	var fitting []crypto.PublicKey
	for _, k := range set.keys {
		if k.fits(alg) {
			fitting = append(fitting, k.key)
		}
	}
	switch len(fitting) {
	case 1:
		return fitting[0], nil, false
	case 0:
		return nil, keyUnknown(fmt.Sprintf("token has no kid and the issuer's key set has no %s key", alg),
			"obtain a new token from the configured issuer"), true
	default:
		return nil, keyUnknown(fmt.Sprintf("token has no kid and the issuer's key set has %d %s keys", len(fitting), alg),
			"configure the identity provider to put a kid in token headers"), false
	}
}

func (v *Verifier) classify(err error, mc jwt.MapClaims) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return malformed("token is not a well-formed JWT", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return newError(CodeTokenSignatureInvalid, "token signature does not verify",
			"obtain a token from "+v.cfg.Issuer+"; this one was not signed by its keys or was altered", err)
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		// Only reached after the signature verified; say precisely why.
		if e := v.checkClaims(mc); e != nil {
			return e
		}
		return malformed("token claims were rejected", err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return algRefused("token alg is not supported", err)
	}
	return malformed("token could not be verified", err)
}

// checkClaims checks the registered claims of a token whose signature
// verified, in an order that reports the most useful problem first.
func (v *Verifier) checkClaims(mc jwt.MapClaims) *Error {
	now, leeway := v.cfg.Now(), v.cfg.Leeway
	iss, err := mc.GetIssuer()
	if err != nil {
		return malformed("token iss claim is not a string", err)
	}
	if iss != v.cfg.Issuer {
		msg := fmt.Sprintf("token issuer %s is not the configured issuer", quote(iss))
		if iss == "" {
			msg = "token has no iss claim"
		}
		return newError(CodeTokenIssuerMismatch, msg,
			"obtain a token from "+v.cfg.Issuer+"; the server accepts no other issuer", nil)
	}
	aud, err := mc.GetAudience()
	if err != nil {
		return malformed("token aud claim is not a string or an array of strings", err)
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.cfg.Audience, a) }) {
		return newError(CodeTokenAudienceMismatch, "token audience does not include this API",
			fmt.Sprintf("request a token for audience %s", strings.Join(v.cfg.Audience, " or ")), nil)
	}
	exp, err := mc.GetExpirationTime()
	if err != nil {
		return malformed("token exp claim is not a number", err)
	}
	if exp == nil {
		return malformed("token has no exp claim", nil)
	}
	if !now.Before(exp.Add(leeway)) {
		return newError(CodeTokenExpired, "token expired at "+exp.UTC().Format(time.RFC3339),
			"obtain a new token from the identity provider", nil)
	}
	for _, c := range []struct {
		name string
		get  func() (*jwt.NumericDate, error)
	}{{"nbf", mc.GetNotBefore}, {"iat", mc.GetIssuedAt}} {
		t, err := c.get()
		if err != nil {
			return malformed("token "+c.name+" claim is not a number", err)
		}
		if t != nil && now.Before(t.Add(-leeway)) {
			return newError(CodeTokenNotYetValid,
				fmt.Sprintf("token %s %s is in the future", c.name, t.UTC().Format(time.RFC3339)),
				fmt.Sprintf("check that the clocks of the identity provider and this server are synchronised (allowed skew %s)", leeway), nil)
		}
	}
	sub, err := mc.GetSubject()
	if err != nil {
		return malformed("token sub claim is not a string", err)
	}
	if sub == "" {
		return malformed("token has no sub claim", nil)
	}
	return nil
}

func (v *Verifier) mapClaims(mc jwt.MapClaims) *Claims {
	c := &Claims{}
	c.Subject, _ = mc["sub"].(string)
	c.Issuer, _ = mc["iss"].(string)
	c.Email, _ = mc["email"].(string)
	if exp, err := mc.GetExpirationTime(); err == nil && exp != nil {
		c.ExpiresAt = exp.Time
	}
	name, _ := lookup(mc, v.cfg.UsernameClaim)
	c.Username, _ = name.(string)
	if c.Username == "" {
		c.Username = c.Email
	}
	if c.Username == "" {
		c.Username = c.Subject
	}
	scope, ok := lookup(mc, v.cfg.ScopeClaim)
	if !ok && v.cfg.ScopeClaim == DefaultScopeClaim {
		scope, _ = lookup(mc, "scp")
	}
	c.Scopes = stringList(scope, true)
	roles, _ := lookup(mc, v.cfg.RolesClaim)
	c.Roles = stringList(roles, false)
	return c
}

// lookup finds a claim by name, or by a dotted path into nested objects
// when no claim has that exact name (namespaced claims such as
// "https://example.com/roles" contain dots themselves).
func lookup(mc jwt.MapClaims, name string) (any, bool) {
	if v, ok := mc[name]; ok {
		return v, true
	}
	var cur any = map[string]any(mc)
	for seg := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// stringList reads a string or an array of strings; split separates a
// string at spaces, as the scope claim does. Other values are ignored.
func stringList(v any, split bool) []string {
	var out []string
	add := func(s string) {
		if split {
			out = append(out, strings.Fields(s)...)
		} else if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	switch v := v.(type) {
	case string:
		add(v)
	case []any:
		for _, item := range v {
			if s, ok := item.(string); ok {
				add(s)
			}
		}
	}
	return out
}

func (v *Verifier) unavailable(err error) *Error {
	u := v.keys.url()
	var fe *fetchError
	if errors.As(err, &fe) {
		u = fe.url
	}
	return newError(CodeJWKSUnavailable, "the issuer's signing keys cannot be fetched",
		"check that "+u+" is reachable from the server and answers HTTP 200 with JSON; tokens are refused until it does", err)
}

func malformed(msg string, err error) *Error {
	return newError(CodeTokenMalformed, msg,
		"send the JWT issued by the identity provider, unchanged, as 'Authorization: Bearer <token>'", err)
}

func algRefused(msg string, err error) *Error {
	return newError(CodeTokenAlgorithmRefused, msg,
		"configure the identity provider to sign with RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA; none and HS* are never accepted", err)
}

func keyUnknown(msg, hint string) *Error {
	return newError(CodeTokenKeyUnknown, msg, hint, nil)
}

// quote shows an attacker-controlled header or claim value bounded in size.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
