package oidc

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestKeyRotationRefetchesOnce(t *testing.T) {
	old := rsaKey(t, "2026-01", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, old)
	v := newVerifier(t, iss, clk)
	ctx := context.Background()

	_, err := v.Verify(ctx, sign(t, old, baseClaims(iss, clk)))
	require.NoError(t, err)
	require.EqualValues(t, 1, iss.jwksHits.Load())

	next := ecKey(t, "2026-03", elliptic.P256(), jwt.SigningMethodES256)
	iss.add(next)
	clk.Advance(DefaultMinRefreshInterval + time.Second)
	raw := sign(t, next, baseClaims(iss, clk))
	_, err = v.Verify(ctx, raw)
	require.NoError(t, err, "the unknown kid triggers a refetch that finds the new key")
	require.EqualValues(t, 2, iss.jwksHits.Load())

	_, err = v.Verify(ctx, raw)
	require.NoError(t, err)
	_, err = v.Verify(ctx, sign(t, old, baseClaims(iss, clk)))
	require.NoError(t, err)
	require.EqualValues(t, 2, iss.jwksHits.Load(), "known kids are served from the cache")
	require.EqualValues(t, 1, iss.discoveryHits.Load())
}

func TestUnknownKidsDoNotStormTheIssuer(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk)
	_, err := v.Verify(context.Background(), sign(t, k, baseClaims(iss, clk)))
	require.NoError(t, err)

	ghost := func(i int) string {
		return sign(t, k, baseClaims(iss, clk), func(h map[string]any) { h["kid"] = fmt.Sprintf("ghost-%d", i) })
	}
	for i := range 20 {
		requireRefused(t, v, ghost(i), CodeTokenKeyUnknown)
	}
	require.EqualValues(t, 1, iss.jwksHits.Load(), "no refetch within MinRefreshInterval of the first fetch")

	clk.Advance(DefaultMinRefreshInterval)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), ghost(i))
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeTokenKeyUnknown {
				t.Errorf("goroutine %d: got %v", i, err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 2, iss.jwksHits.Load(), "one refetch per MinRefreshInterval, however many callers")
}

func TestConcurrentVerifyDuringRotation(t *testing.T) {
	old := rsaKey(t, "old", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, old)
	v := newVerifier(t, iss, clk)
	oldRaw := sign(t, old, baseClaims(iss, clk))
	_, err := v.Verify(context.Background(), oldRaw)
	require.NoError(t, err)

	next := edKey(t, "new")
	iss.add(next)
	clk.Advance(DefaultMinRefreshInterval + time.Second)
	newRaw := sign(t, next, baseClaims(iss, clk))

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 10 {
				raw := newRaw
				if (i+j)%2 == 0 {
					raw = oldRaw
				}
				if _, err := v.Verify(context.Background(), raw); err != nil {
					t.Errorf("goroutine %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 2, iss.jwksHits.Load(), "the rotation costs exactly one fetch")
}

func TestConcurrentFirstUseSharesOneFetch(t *testing.T) {
	k := ecKey(t, "es", elliptic.P384(), jwt.SigningMethodES384)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk)
	raw := sign(t, k, baseClaims(iss, clk))
	entered, release := iss.block()
	defer release()

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	<-entered
	release()
	wg.Wait()
	require.EqualValues(t, 1, iss.jwksHits.Load())
}

func TestVerifyStopsWaitingWhenContextEnds(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk)
	raw := sign(t, k, baseClaims(iss, clk))
	entered, release := iss.block()
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := v.Verify(ctx, raw)
		done <- err
	}()
	<-entered
	cancel()
	err := <-done
	requireCode(t, err, raw, CodeJWKSUnavailable)
	require.ErrorIs(t, err, context.Canceled)

	// The fetch itself was not abandoned: once the issuer answers, the
	// next caller uses its result.
	release()
	_, err = v.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.EqualValues(t, 1, iss.jwksHits.Load())
}

func TestJWKSUnavailable(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	tests := []struct {
		name      string
		setup     func(*testIssuer)
		configure bool // set JWKSURL instead of discovering it
		wantURL   string
	}{
		{"server down", func(i *testIssuer) { i.srv.Close() }, false, "/.well-known/openid-configuration"},
		{"status 500", func(i *testIssuer) { i.serve(http.StatusInternalServerError, "", "{}") }, true, "/jwks"},
		{"not JSON", func(i *testIssuer) { i.serve(0, "text/html", "<html>login</html>") }, true, "/jwks"},
		{"broken JSON", func(i *testIssuer) { i.serve(0, "", `{"keys":[`) }, true, "/jwks"},
		{"over 1 MiB", func(i *testIssuer) {
			i.serve(0, "", `{"keys":[],"pad":"`+strings.Repeat("x", maxDocumentBytes)+`"}`)
		}, true, "/jwks"},
		{"no usable keys", func(i *testIssuer) {
			i.serve(0, "", `{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}`)
		}, true, "/jwks"},
		{"discovery names another issuer", func(i *testIssuer) {
			i.mu.Lock()
			i.discIssuer = "https://elsewhere.example"
			i.mu.Unlock()
		}, false, "/.well-known/openid-configuration"},
		{"key set status 500 after discovery", func(i *testIssuer) { i.serve(http.StatusInternalServerError, "", "{}") }, false, "/jwks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			iss := newIssuer(t, k)
			v := newVerifier(t, iss, clk, func(c *Config) {
				if tc.configure {
					c.JWKSURL = iss.srv.URL + "/jwks"
				}
			})
			raw := sign(t, k, baseClaims(iss, clk))
			tc.setup(iss)
			e := requireRefused(t, v, raw, CodeJWKSUnavailable)
			require.Contains(t, e.Hint, iss.srv.URL+tc.wantURL)

			// While down, callers within MinRefreshInterval get the same
			// answer without another request.
			hits := iss.jwksHits.Load() + iss.discoveryHits.Load()
			requireRefused(t, v, raw, CodeJWKSUnavailable)
			require.Equal(t, hits, iss.jwksHits.Load()+iss.discoveryHits.Load())
		})
	}
}

func TestRecoversAfterIssuerComesBack(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk)
	raw := sign(t, k, baseClaims(iss, clk))

	iss.serve(http.StatusServiceUnavailable, "", "{}")
	requireRefused(t, v, raw, CodeJWKSUnavailable)
	iss.serve(0, "", "")
	clk.Advance(DefaultMinRefreshInterval)
	_, err := v.Verify(context.Background(), raw)
	require.NoError(t, err)
	require.EqualValues(t, 2, iss.discoveryHits.Load(), "a failed key set fetch discovers again")
}

func TestCachedKeysSurviveOutage(t *testing.T) {
	k := rsaKey(t, "rs", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, k)
	v := newVerifier(t, iss, clk, func(c *Config) { c.JWKSURL = iss.srv.URL + "/jwks" })
	ctx := context.Background()
	_, err := v.Verify(ctx, sign(t, k, baseClaims(iss, clk)))
	require.NoError(t, err)

	iss.serve(http.StatusInternalServerError, "", "{}")
	clk.Advance(DefaultRefreshInterval + time.Second)
	_, err = v.Verify(ctx, sign(t, k, baseClaims(iss, clk)))
	require.NoError(t, err, "the expired cache is still used while the issuer is down")
	require.EqualValues(t, 2, iss.jwksHits.Load(), "a refresh was attempted")

	_, err = v.Verify(ctx, sign(t, k, baseClaims(iss, clk)))
	require.NoError(t, err)
	require.EqualValues(t, 2, iss.jwksHits.Load(), "failed refreshes are spaced too")

	iss.serve(0, "", "")
	clk.Advance(DefaultMinRefreshInterval)
	_, err = v.Verify(ctx, sign(t, k, baseClaims(iss, clk)))
	require.NoError(t, err)
	require.EqualValues(t, 3, iss.jwksHits.Load())
	require.Zero(t, iss.discoveryHits.Load(), "a configured JWKSURL skips discovery")
}

func TestKeysAreRefreshedAfterRefreshInterval(t *testing.T) {
	old := rsaKey(t, "old", 0, jwt.SigningMethodRS256)
	clk := newClock()
	iss := newIssuer(t, old)
	v := newVerifier(t, iss, clk, func(c *Config) { c.RefreshInterval = 5 * time.Minute })
	_, err := v.Verify(context.Background(), sign(t, old, baseClaims(iss, clk)))
	require.NoError(t, err)

	// The provider withdraws the old key; once the cache expires, tokens
	// signed with it stop verifying.
	next := rsaKey(t, "new", 1, jwt.SigningMethodRS256)
	iss.mu.Lock()
	iss.keys = []map[string]any{next.jwk}
	iss.mu.Unlock()
	clk.Advance(4 * time.Minute)
	_, err = v.Verify(context.Background(), sign(t, old, baseClaims(iss, clk)))
	require.NoError(t, err)
	clk.Advance(time.Minute)
	requireRefused(t, v, sign(t, old, baseClaims(iss, clk)), CodeTokenKeyUnknown)
	require.EqualValues(t, 2, iss.jwksHits.Load())
}

func TestParseKeySetSkipsUnusableKeys(t *testing.T) {
	good := rsaKey(t, "good", 0, jwt.SigningMethodRS256)
	ec := ecKey(t, "ec", elliptic.P256(), jwt.SigningMethodES256)
	offCurve := map[string]any{}
	for k, v := range ec.jwk {
		offCurve[k] = v
	}
	offCurve["kid"], offCurve["y"] = "off-curve", offCurve["x"]
	// A 1024-bit modulus: too small to trust.
	small := map[string]any{"kty": "RSA", "kid": "small", "n": b64u(append([]byte{0x80}, make([]byte, 127)...)), "e": "AQAB"}
	keys := []any{
		good.jwk,
		map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": good.jwk["n"], "e": "AQAB"},
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
		map[string]any{"kty": "EC", "kid": "p224", "crv": "P-224", "x": "AA", "y": "AA"},
		map[string]any{"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": b64u(make([]byte, 32))},
		map[string]any{"kty": "RSA", "kid": "bad-b64", "n": "!!", "e": "AQAB"},
		map[string]any{"kty": "RSA", "kid": "even-e", "n": good.jwk["n"], "e": "Ag"},
		map[string]any{"kty": 7},
		offCurve,
		small,
	}
	var raw []json.RawMessage
	for _, k := range keys {
		b, err := json.Marshal(k)
		require.NoError(t, err)
		raw = append(raw, b)
	}
	set, err := parseKeySet(raw)
	require.NoError(t, err)
	require.Len(t, set.keys, 1)
	require.Equal(t, "good", set.keys[0].kid)

	_, err = parseKeySet(raw[1:])
	require.ErrorContains(t, err, "no usable signing key")
}
