package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// maxDocumentBytes bounds discovery and key set responses; real key
	// sets are a few KiB.
	maxDocumentBytes = 1 << 20
	// fetchTimeout bounds a fetch even with an HTTPClient without timeout,
	// because the fetch outlives the request that started it.
	fetchTimeout = 30 * time.Second
	// RSA keys outside these bounds are skipped: small ones are forgeable,
	// huge ones make every verification expensive.
	minRSABits = 2048
	maxRSABits = 8192
)

// publicKey is one usable signing key of the issuer.
type publicKey struct {
	kid string
	alg string // the JWK's alg, empty when the set does not pin one
	key crypto.PublicKey
}

// fits reports whether a token signed with alg may be checked with k.
func (k publicKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg && !(alg == "EdDSA" && k.alg == "Ed25519") {
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return key.Curve == elliptic.P256()
		case "ES384":
			return key.Curve == elliptic.P384()
		case "ES512":
			return key.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

type keySet struct {
	keys      []publicKey
	fetchedAt time.Time
}

// fetchError is a failed discovery or key set fetch; url is what an
// operator should look at.
type fetchError struct {
	url string
	err error
}

func (e *fetchError) Error() string { return fmt.Sprintf("fetching %s: %v", e.url, e.err) }
func (e *fetchError) Unwrap() error { return e.err }

// fetchCall is one fetch in flight; everyone who needs it waits on done.
type fetchCall struct {
	done chan struct{}
	set  *keySet
	err  error
}

// keyCache holds the issuer's key set. Fetches are lazy, shared between
// concurrent callers and spaced by MinRefreshInterval, so neither a burst
// of tokens with made-up kids nor a down identity provider turns into a
// stream of requests to it.
type keyCache struct {
	client     *http.Client
	now        func() time.Time
	refresh    time.Duration
	minRefresh time.Duration
	discovery  string // discovery document URL
	issuer     string
	configured string // JWKSURL from the config, may be empty

	mu          sync.Mutex
	jwksURL     string // configured or discovered; empty until known
	set         *keySet
	lastAttempt time.Time
	lastErr     error
	call        *fetchCall
}

func newKeyCache(cfg Config) *keyCache {
	return &keyCache{
		client:     cfg.HTTPClient,
		now:        cfg.Now,
		refresh:    cfg.RefreshInterval,
		minRefresh: cfg.MinRefreshInterval,
		discovery:  strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration",
		issuer:     cfg.Issuer,
		configured: cfg.JWKSURL,
		jwksURL:    cfg.JWKSURL,
	}
}

// get returns the key set, fetching it when there is none, when it is older
// than RefreshInterval, or when force is set (a kid was not found). A fetch
// starts at most once per MinRefreshInterval; inside that window the cached
// set, or the last fetch error, is returned. A failed fetch leaves a cached
// set in use.
func (c *keyCache) get(ctx context.Context, force bool) (*keySet, error) {
	c.mu.Lock()
	now := c.now()
	if c.set != nil && !force && now.Sub(c.set.fetchedAt) < c.refresh {
		set := c.set
		c.mu.Unlock()
		return set, nil
	}
	call := c.call
	if call == nil {
		if !c.lastAttempt.IsZero() && now.Sub(c.lastAttempt) < c.minRefresh {
			set, err := c.set, c.lastErr
			c.mu.Unlock()
			if set != nil {
				return set, nil
			}
			if err == nil {
				err = errors.New("no key set fetched yet")
			}
			return nil, err
		}
		call = &fetchCall{done: make(chan struct{})}
		c.call = call
		c.lastAttempt = now
		// The fetch is detached from ctx: it serves every waiter, and one
		// caller giving up must not fail it for the others.
		go c.fetch(context.WithoutCancel(ctx), call)
	}
	c.mu.Unlock()

	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the issuer's key set: %w", ctx.Err())
	}
	if call.err != nil {
		c.mu.Lock()
		set := c.set
		c.mu.Unlock()
		if set != nil {
			return set, nil
		}
		return nil, call.err
	}
	return call.set, nil
}

// url is where the key set comes from, or the discovery document while
// the key set's location is not known yet.
func (c *keyCache) url() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.jwksURL != "" {
		return c.jwksURL
	}
	return c.discovery
}

func (c *keyCache) fetch(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	set, err := c.load(ctx)

	c.mu.Lock()
	if err == nil {
		set.fetchedAt = c.now()
		c.set = set
	}
	c.lastErr = err
	call.set, call.err = set, err
	c.call = nil
	c.mu.Unlock()
	close(call.done)
}

func (c *keyCache) load(ctx context.Context) (*keySet, error) {
	c.mu.Lock()
	u := c.jwksURL
	c.mu.Unlock()
	if u == "" {
		var err error
		if u, err = c.discover(ctx); err != nil {
			return nil, &fetchError{url: c.discovery, err: err}
		}
		c.mu.Lock()
		c.jwksURL = u
		c.mu.Unlock()
	}
	set, err := c.loadKeys(ctx, u)
	if err != nil {
		if c.configured == "" {
			// The provider may have moved its keys; look again next time.
			c.mu.Lock()
			c.jwksURL = ""
			c.mu.Unlock()
		}
		return nil, &fetchError{url: u, err: err}
	}
	return set, nil
}

func (c *keyCache) discover(ctx context.Context) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, c.client, c.discovery, &doc); err != nil {
		return "", err
	}
	// OpenID Connect Discovery requires this match; a mismatch means the
	// configured issuer points at someone else's metadata.
	if doc.Issuer != c.issuer {
		return "", fmt.Errorf("discovery document names issuer %q, want %q", doc.Issuer, c.issuer)
	}
	if err := checkHTTPURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery document jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}

func (c *keyCache) loadKeys(ctx context.Context, u string) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, c.client, u, &doc); err != nil {
		return nil, err
	}
	return parseKeySet(doc.Keys)
}

func getJSON(ctx context.Context, client *http.Client, u string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unexpected HTTP status %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !isJSON(ct) {
		return fmt.Errorf("unexpected content type %q, want JSON", ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("reading body: %w", err)
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("body exceeds %d bytes", maxDocumentBytes)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("decoding JSON body: %w", err)
	}
	return nil
}

// isJSON accepts application/json and the +json types such as
// application/jwk-set+json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// parseKeySet keeps the usable signing keys. Keys for encryption, of other
// types or with bad material are skipped rather than failing the set, since
// providers publish such keys next to the ones that sign our tokens.
func parseKeySet(raw []json.RawMessage) (*keySet, error) {
	set := &keySet{}
	for _, r := range raw {
		var j jwk
		if err := json.Unmarshal(r, &j); err != nil {
			continue
		}
		if k, err := j.publicKey(); err == nil {
			set.keys = append(set.keys, k)
		}
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("key set has no usable signing key among %d keys (want RSA, EC P-256/384/521 or Ed25519 with use \"sig\")", len(raw))
	}
	return set, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

var errUnusableKey = errors.New("unusable key")

func (j jwk) publicKey() (publicKey, error) {
	if j.Use != "" && j.Use != "sig" {
		return publicKey{}, fmt.Errorf("%w: use %q", errUnusableKey, j.Use)
	}
	var (
		key crypto.PublicKey
		err error
	)
	switch j.Kty {
	case "RSA":
		key, err = j.rsa()
	case "EC":
		key, err = j.ec()
	case "OKP":
		key, err = j.okp()
	default:
		err = fmt.Errorf("%w: kty %q", errUnusableKey, j.Kty)
	}
	if err != nil {
		return publicKey{}, err
	}
	return publicKey{kid: j.Kid, alg: j.Alg, key: key}, nil
}

func (j jwk) rsa() (*rsa.PublicKey, error) {
	n, err := b64(j.N)
	if err != nil {
		return nil, fmt.Errorf("n: %w", err)
	}
	e, err := b64(j.E)
	if err != nil {
		return nil, fmt.Errorf("e: %w", err)
	}
	nn, ee := new(big.Int).SetBytes(n), new(big.Int).SetBytes(e)
	if bits := nn.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("%w: RSA modulus of %d bits", errUnusableKey, bits)
	}
	if !ee.IsInt64() || ee.Int64() < 3 || ee.Int64() > 1<<31-1 || ee.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: RSA exponent", errUnusableKey)
	}
	return &rsa.PublicKey{N: nn, E: int(ee.Int64())}, nil
}

func (j jwk) ec() (*ecdsa.PublicKey, error) {
	var curve elliptic.Curve
	var size int
	switch j.Crv {
	case "P-256":
		curve, size = elliptic.P256(), 32
	case "P-384":
		curve, size = elliptic.P384(), 48
	case "P-521":
		curve, size = elliptic.P521(), 66
	default:
		return nil, fmt.Errorf("%w: EC curve %q", errUnusableKey, j.Crv)
	}
	x, err := b64(j.X)
	if err != nil {
		return nil, fmt.Errorf("x: %w", err)
	}
	y, err := b64(j.Y)
	if err != nil {
		return nil, fmt.Errorf("y: %w", err)
	}
	if len(x) != size || len(y) != size {
		return nil, fmt.Errorf("%w: EC coordinates must be %d bytes", errUnusableKey, size)
	}
	point := append(append([]byte{4}, x...), y...)
	// Rejects points off the curve, which would otherwise enable
	// invalid-curve tricks.
	return ecdsa.ParseUncompressedPublicKey(curve, point)
}

func (j jwk) okp() (ed25519.PublicKey, error) {
	if j.Crv != "Ed25519" {
		return nil, fmt.Errorf("%w: OKP curve %q", errUnusableKey, j.Crv)
	}
	x, err := b64(j.X)
	if err != nil {
		return nil, fmt.Errorf("x: %w", err)
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 key must be %d bytes", errUnusableKey, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// b64 decodes base64url, tolerating the padding some providers emit.
func b64(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
