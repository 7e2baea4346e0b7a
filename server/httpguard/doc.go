// Package httpguard holds the HTTP protections that sit in front of every
// API operation and do not depend on who the caller is allowed to be:
// a per-client rate limit and the CORS allow-list.
//
// Both are plain net/http middleware so the API, the UI and /metrics can
// share them, and both answer refusals as RFC 9457 problems through a
// writer the caller provides, so error codes stay those of the API.
package httpguard
