package oidc

import (
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestVerifyAcceptsEveryAllowedKeyType(t *testing.T) {
	keys := []*testKey{
		rsaKey(t, "rs256", 0, jwt.SigningMethodRS256),
		rsaKey(t, "rs512", 1, jwt.SigningMethodRS512),
		rsaKey(t, "ps256", 2, jwt.SigningMethodPS256),
		ecKey(t, "es256", elliptic.P256(), jwt.SigningMethodES256),
		ecKey(t, "es384", elliptic.P384(), jwt.SigningMethodES384),
		ecKey(t, "es512", elliptic.P521(), jwt.SigningMethodES512),
		edKey(t, "ed"),
	}
	clk := newClock()
	iss := newIssuer(t, keys...)
	v := newVerifier(t, iss, clk)
	for _, k := range keys {
		t.Run(k.kid, func(t *testing.T) {
			c, err := v.Verify(context.Background(), sign(t, k, baseClaims(iss, clk)))
			require.NoError(t, err)
			require.Equal(t, "user-1", c.Subject)
			require.Equal(t, iss.srv.URL, c.Issuer)
			require.Equal(t, clk.Now().Add(time.Hour), c.ExpiresAt.UTC())
		})
	}
	require.EqualValues(t, 1, iss.discoveryHits.Load(), "discovery is fetched once")
	require.EqualValues(t, 1, iss.jwksHits.Load(), "the key set is cached")
}

func TestVerifyMapsClaims(t *testing.T) {
	k := ecKey(t, "es", elliptic.P256(), jwt.SigningMethodES256)
	clk := newClock()
	iss := newIssuer(t, k)
	tests := []struct {
		name   string
		cfg    func(*Config)
		claims jwt.MapClaims
		want   Claims
	}{
		{
			name:   "scope string and preferred_username",
			claims: jwt.MapClaims{"scope": "read  write", "preferred_username": "ada", "email": "ada@example.com"},
			want:   Claims{Username: "ada", Email: "ada@example.com", Scopes: []string{"read", "write"}},
		},
		{
			name:   "scp array when scope is absent, username falls back to email",
			claims: jwt.MapClaims{"scp": []any{"read", "admin"}, "email": "ada@example.com"},
			want:   Claims{Username: "ada@example.com", Email: "ada@example.com", Scopes: []string{"read", "admin"}},
		},
		{
			name:   "username falls back to sub, roles as a single string",
			claims: jwt.MapClaims{"roles": "factflow-admin"},
			want:   Claims{Username: "user-1", Roles: []string{"factflow-admin"}},
		},
		{
			name:   "nested roles path",
			cfg:    func(c *Config) { c.RolesClaim = "realm_access.roles" },
			claims: jwt.MapClaims{"realm_access": map[string]any{"roles": []any{"writer", 7, "reader"}}},
			want:   Claims{Username: "user-1", Roles: []string{"writer", "reader"}},
		},
		{
			name:   "namespaced claim names with dots match literally",
			cfg:    func(c *Config) { c.RolesClaim = "https://factflow.dev/roles" },
			claims: jwt.MapClaims{"https://factflow.dev/roles": []any{"admin"}},
			want:   Claims{Username: "user-1", Roles: []string{"admin"}},
		},
		{
			name: "custom scope and username claims, audience array",
			cfg: func(c *Config) {
				c.ScopeClaim, c.UsernameClaim = "permissions", "upn"
				c.Audience = []string{"other-api", testAudience}
			},
			claims: jwt.MapClaims{
				"permissions": []any{"write"}, "scp": []any{"ignored"}, "upn": "ada@corp",
				"aud": []any{"someone-else", testAudience},
			},
			want: Claims{Username: "ada@corp", Scopes: []string{"write"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mut := func(*Config) {}
			if tc.cfg != nil {
				mut = tc.cfg
			}
			v := newVerifier(t, iss, clk, mut)
			claims := baseClaims(iss, clk)
			for name, val := range tc.claims {
				claims[name] = val
			}
			got, err := v.Verify(context.Background(), sign(t, k, claims))
			require.NoError(t, err)
			tc.want.Subject, tc.want.Issuer, tc.want.ExpiresAt = "user-1", iss.srv.URL, clk.Now().Add(time.Hour)
			got.ExpiresAt = got.ExpiresAt.UTC()
			require.Equal(t, tc.want, *got)
		})
	}
}

func TestVerifyRefusesClaims(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk)
	now := clk.Now()
	tests := []struct {
		name string
		edit func(jwt.MapClaims)
		code string // "" means accepted
	}{
		{"expired within leeway", func(c jwt.MapClaims) { c["exp"] = now.Add(-30 * time.Second).Unix() }, ""},
		{"expired", func(c jwt.MapClaims) { c["exp"] = now.Add(-61 * time.Second).Unix() }, CodeTokenExpired},
		{"no exp", func(c jwt.MapClaims) { delete(c, "exp") }, CodeTokenMalformed},
		{"exp not a number", func(c jwt.MapClaims) { c["exp"] = "tomorrow" }, CodeTokenMalformed},
		{"nbf within leeway", func(c jwt.MapClaims) { c["nbf"] = now.Add(30 * time.Second).Unix() }, ""},
		{"nbf in the future", func(c jwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }, CodeTokenNotYetValid},
		{"iat in the future", func(c jwt.MapClaims) { c["iat"] = now.Add(2 * time.Minute).Unix() }, CodeTokenNotYetValid},
		{"wrong audience", func(c jwt.MapClaims) { c["aud"] = "another-api" }, CodeTokenAudienceMismatch},
		{"no audience", func(c jwt.MapClaims) { delete(c, "aud") }, CodeTokenAudienceMismatch},
		{"wrong issuer", func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }, CodeTokenIssuerMismatch},
		{"issuer with trailing slash", func(c jwt.MapClaims) { c["iss"] = iss.srv.URL + "/" }, CodeTokenIssuerMismatch},
		{"no issuer", func(c jwt.MapClaims) { delete(c, "iss") }, CodeTokenIssuerMismatch},
		{"no sub", func(c jwt.MapClaims) { delete(c, "sub") }, CodeTokenMalformed},
		{"wrong issuer wins over expiry", func(c jwt.MapClaims) {
			c["iss"], c["exp"] = "https://evil.example", now.Add(-time.Hour).Unix()
		}, CodeTokenIssuerMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims := baseClaims(iss, clk)
			tc.edit(claims)
			raw := sign(t, k, claims)
			if tc.code == "" {
				_, err := v.Verify(context.Background(), raw)
				require.NoError(t, err)
				return
			}
			requireRefused(t, v, raw, tc.code)
		})
	}
}

func TestVerifyRefusesForgeries(t *testing.T) {
	good := rsaKey(t, "good", 0, jwt.SigningMethodRS256)
	ec := ecKey(t, "ec", elliptic.P256(), jwt.SigningMethodES256)
	clk := newClock()
	iss := newIssuer(t, good, ec)
	v := newVerifier(t, iss, clk)
	claims := baseClaims(iss, clk)

	t.Run("signed by another key under a known kid", func(t *testing.T) {
		impostor := rsaKey(t, "good", 1, jwt.SigningMethodRS256)
		requireRefused(t, v, sign(t, impostor, claims), CodeTokenSignatureInvalid)
	})
	t.Run("payload swapped after signing", func(t *testing.T) {
		parts := strings.Split(sign(t, good, claims), ".")
		admin := baseClaims(iss, clk)
		admin["sub"] = "admin"
		other := strings.Split(sign(t, good, admin), ".")
		requireRefused(t, v, parts[0]+"."+other[1]+"."+parts[2], CodeTokenSignatureInvalid)
	})
	t.Run("alg none", func(t *testing.T) {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
		tok.Header["kid"] = "good"
		raw, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		require.NoError(t, err)
		requireRefused(t, v, raw, CodeTokenAlgorithmRefused)
	})
	t.Run("HS256 signed with the RSA public key", func(t *testing.T) {
		der, err := x509.MarshalPKIXPublicKey(good.priv.Public())
		require.NoError(t, err)
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		for _, secret := range [][]byte{pemKey, der, rsaPriv(t, 0).N.Bytes()} {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
			tok.Header["kid"] = "good"
			raw, err := tok.SignedString(secret)
			require.NoError(t, err)
			requireRefused(t, v, raw, CodeTokenAlgorithmRefused)
		}
	})
	t.Run("alg does not fit the named key type", func(t *testing.T) {
		requireRefused(t, v, sign(t, ec, claims, func(h map[string]any) { h["kid"] = "good" }), CodeTokenAlgorithmRefused)
	})
	t.Run("alg differs from the alg the JWK pins", func(t *testing.T) {
		rs384 := &testKey{kid: "good", method: jwt.SigningMethodRS384, priv: good.priv}
		requireRefused(t, v, sign(t, rs384, claims), CodeTokenAlgorithmRefused)
	})
	t.Run("unknown alg", func(t *testing.T) {
		requireRefused(t, v, sign(t, good, claims, func(h map[string]any) { h["alg"] = "RS1024" }), CodeTokenAlgorithmRefused)
	})
	t.Run("unknown kid", func(t *testing.T) {
		requireRefused(t, v, sign(t, good, claims, func(h map[string]any) { h["kid"] = "ghost" }), CodeTokenKeyUnknown)
	})
}

func TestRefusedAlgorithmsNeverFetchKeys(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, baseClaims(iss, clk))
	raw, err := tok.SignedString([]byte("secret"))
	require.NoError(t, err)
	requireRefused(t, v, raw, CodeTokenAlgorithmRefused)
	require.Zero(t, iss.discoveryHits.Load()+iss.jwksHits.Load())
}

func TestVerifyWithoutKid(t *testing.T) {
	clk := newClock()
	only := rsaKey(t, "", 0, jwt.SigningMethodRS256)
	delete(only.jwk, "kid")
	ec := ecKey(t, "ec", elliptic.P256(), jwt.SigningMethodES256)

	t.Run("one fitting key is used", func(t *testing.T) {
		iss := newIssuer(t, only, ec)
		v := newVerifier(t, iss, clk)
		_, err := v.Verify(context.Background(), sign(t, only, baseClaims(iss, clk)))
		require.NoError(t, err)
	})
	t.Run("several fitting keys are ambiguous", func(t *testing.T) {
		iss := newIssuer(t, only, rsaKey(t, "other", 1, jwt.SigningMethodRS256))
		v := newVerifier(t, iss, clk)
		requireRefused(t, v, sign(t, only, baseClaims(iss, clk)), CodeTokenKeyUnknown)
	})
	t.Run("no fitting key", func(t *testing.T) {
		iss := newIssuer(t, only)
		v := newVerifier(t, iss, clk)
		noKid := &testKey{method: ec.method, priv: ec.priv}
		requireRefused(t, v, sign(t, noKid, baseClaims(iss, clk)), CodeTokenKeyUnknown)
	})
}

func TestVerifyRefusesMalformed(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk)
	valid := sign(t, k, baseClaims(iss, clk))
	parts := strings.Split(valid, ".")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := map[string]string{
		"empty":                 "",
		"one part":              "abc",
		"two parts":             parts[0] + "." + parts[1],
		"four parts":            valid + ".x",
		"garbage base64":        "!!!.###.$$$",
		"header not JSON":       enc("not json") + "." + parts[1] + "." + parts[2],
		"header JSON null":      enc("null") + "." + parts[1] + "." + parts[2],
		"header without alg":    enc(`{"kid":"rs"}`) + "." + parts[1] + "." + parts[2],
		"kid not a string":      enc(`{"alg":"RS256","kid":5}`) + "." + parts[1] + "." + parts[2],
		"critical extension":    enc(`{"alg":"RS256","kid":"rs","crit":["exp"]}`) + "." + parts[1] + "." + parts[2],
		"payload garbage":       parts[0] + ".%%%." + parts[2],
		"payload not an object": parts[0] + "." + enc("[1,2]") + "." + parts[2],
		"signature garbage":     parts[0] + "." + parts[1] + ".***",
		"padded base64":         parts[0] + "=." + parts[1] + "." + parts[2],
		"oversized":             parts[0] + "." + strings.Repeat("A", maxTokenBytes) + "." + parts[2],
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			requireRefused(t, v, raw, CodeTokenMalformed)
		})
	}
}

func TestErrorFormat(t *testing.T) {
	inner := context.DeadlineExceeded
	e := &Error{Code: CodeJWKSUnavailable, Msg: "keys cannot be fetched", Hint: "check the URL", Err: inner}
	require.Equal(t, "AUTH_JWKS_UNAVAILABLE: keys cannot be fetched: context deadline exceeded (hint: check the URL)", e.Error())
	require.ErrorIs(t, e, inner)
}
