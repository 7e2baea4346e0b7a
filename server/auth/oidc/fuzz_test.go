package oidc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

var allCodes = []string{
	CodeTokenMalformed, CodeTokenExpired, CodeTokenNotYetValid, CodeTokenSignatureInvalid,
	CodeTokenIssuerMismatch, CodeTokenAudienceMismatch, CodeTokenKeyUnknown,
	CodeTokenAlgorithmRefused, CodeJWKSUnavailable,
}

// FuzzVerify feeds arbitrary strings to a verifier with a real key set.
// Only the one properly signed seed may pass; everything else must come
// back as an *Error with a known code that does not echo the input.
func FuzzVerify(f *testing.F) {
	// An RSA key: PKCS#1 v1.5 signatures have exactly one encoding, so no
	// other string can carry a valid signature for the same content.
	k := rsaKey(f, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(f, k)
	v := newVerifier(f, iss, clk)
	valid := sign(f, k, baseClaims(iss, clk))
	parts := strings.Split(valid, ".")

	none := jwt.NewWithClaims(jwt.SigningMethodNone, baseClaims(iss, clk))
	noneRaw, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		valid,
		noneRaw,
		"",
		"a.b.c",
		"...",
		"!!!.###.$$$",
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1] + "." + parts[2] + "A",
		parts[0] + ".e30." + parts[2],
		"eyJhbGciOiJSUzI1NiJ9.e30.",
		"eyJhbGciOiJFUzI1NiIsImtpZCI6InJzIn0." + parts[1] + "." + parts[2],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw)
		if err == nil {
			if raw != valid || c == nil || c.Subject != "user-1" {
				t.Fatalf("accepted %q as %+v", raw, c)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error is %T, not *Error: %v", err, err)
		}
		if !slices.Contains(allCodes, e.Code) || e.Hint == "" {
			t.Fatalf("bad error %+v", e)
		}
		if len(raw) >= 16 && strings.Contains(err.Error(), raw) {
			t.Fatalf("error repeats the token: %v", err)
		}
	})
}
