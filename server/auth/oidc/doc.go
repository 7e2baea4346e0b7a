// Package oidc verifies the JWTs (access or ID tokens) of one OpenID
// Connect issuer for the API's auth mode "oidc".
//
// A Verifier checks the signature against the issuer's published key set
// (JWKS) and then the registered claims: iss must equal the configured
// issuer, aud must name one of the configured audiences, exp is required,
// and exp, nbf and iat are compared with the clock allowing a small skew.
// It maps sub, username, email, scopes and roles into Claims; what those
// grant is decided by the caller. Every refusal is an *Error with a stable
// code and a hint; neither message nor hint ever repeats the token.
//
// Design choices:
//
//   - Keys are fetched lazily, on the first token, not in New. A server
//     must be able to start (and serve its health and UI endpoints) while
//     the identity provider is down or still starting; while no key set
//     was ever fetched, tokens fail with AUTH_JWKS_UNAVAILABLE, whose hint
//     names the URL to check. When Config.JWKSURL is empty the key set
//     location comes from the issuer's discovery document, whose issuer
//     must match the configured one.
//
//   - Fetched keys are used for RefreshInterval. A token naming an unknown
//     kid triggers one early fetch, since providers publish a new key
//     shortly before they sign with it. Fetches start at most once per
//     MinRefreshInterval and concurrent callers wait for the same fetch:
//     otherwise anyone could make the server hammer the identity provider
//     by sending tokens with made-up kids. A failed fetch keeps the
//     previous key set in use, so a provider outage does not log everyone
//     out. Fetches run detached from the request that started them
//     (bounded by their own timeout) so one caller giving up does not fail
//     the fetch others are waiting for; each caller still stops waiting
//     when its own context ends.
//
//   - Only asymmetric algorithms are accepted (RS*, PS*, ES*, EdDSA), the
//     check happens on the header before any key lookup, and the key a
//     token names must fit its alg (key type, curve, and the JWK's own alg
//     when it has one). "none" is refused outright, and so is HS*: with a
//     public key set an HMAC token can be "signed" with a public key
//     anyone can download (the alg-confusion attack).
//
//   - Key set documents are capped at 1 MiB and must be HTTP 200 with a
//     JSON content type. Keys that cannot sign tokens for us (use "enc",
//     other key types, RSA under 2048 bits, EC points off the curve) are
//     skipped rather than failing the whole set, because providers publish
//     such keys next to their signing keys.
//
// Parsing and signature checks use github.com/golang-jwt/jwt/v5 with strict
// base64 decoding; the key set handling is local, because it is small and
// its caching policy is the security-relevant part.
package oidc
