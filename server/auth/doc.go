// Package auth decides who is calling the API and what they may do.
//
// A request is authenticated once, in front of everything, into a
// Principal: a subject, how it was established (local, token, proxy or
// oidc) and its scopes. Operations then ask for one scope each. Scopes are
// ordered (read < write < admin), so an admin may do what a writer may,
// and a writer what a reader may; there are no per-resource grants,
// because Factflow serves one team, not tenants.
//
// Modes:
//   - none: every caller is the local operator with every scope. Only safe
//     on loopback, which the app config enforces.
//   - token: "Authorization: Bearer fft_…" API tokens. They are 256-bit
//     random strings kept only as SHA-256 hashes, so a database dump does
//     not yield usable tokens, and the fixed prefix lets secret scanners
//     recognise a leaked one.
//   - trusted_headers: an SSO proxy in front sets user, e-mail and group
//     headers. They are believed only when the connection comes from one
//     of the configured proxy networks; anyone else is refused, because
//     anyone can send headers.
//   - oidc: a JWT from an identity provider, verified against its JWKS;
//     scope and role claims map onto Factflow's scopes.
//
// API tokens work in every mode but none, so scripts and the CLI can call
// a server that people reach through SSO.
package auth
