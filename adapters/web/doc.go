// Package web holds the web adapter family: sitemap_parser discovers page
// URLs, url_expander fans them out one message each, web_scraper fetches a
// page politely and safely, and web_content_storage writes what was fetched
// to the artefact store.
//
// Every outbound request goes through an SSRF-guarded client (package
// netguard): the engine hands one over in adapters.Deps.HTTP, and when it
// does not, the adapters build their own from Deps.AllowPrivateTargets and
// Deps.AllowedHosts. web_scraper adds robots.txt (cached per host) and a
// per-host adaptive rate limit (token bucket with AIMD) that every message of
// one adapter instance shares.
//
// Failures carry stable codes (see errors.go) and are classified for the
// engine: rate limiting becomes adapters.RetryAfter, transient trouble is
// retryable, and what no retry can fix (4xx, robots disallow, refused
// address, unwanted content type, oversize body, invalid URL) is
// adapters.Permanent.
package web
