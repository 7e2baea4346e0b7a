package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/netguard"
)

// Stable error codes of the web adapters. HTTP status failures use
// "WEB_HTTP_<status>" (WEB_HTTP_404, WEB_HTTP_503, …).
const (
	CodeInvalidURL        = "WEB_INVALID_URL"
	CodeBlocked           = netguard.Code // SSRF_BLOCKED
	CodeRobotsDisallowed  = "WEB_ROBOTS_DISALLOWED"
	CodeRobotsUnavailable = "WEB_ROBOTS_UNAVAILABLE"
	CodeContentType       = "WEB_CONTENT_TYPE"
	CodeTooLarge          = "WEB_TOO_LARGE"
	CodeTimeout           = "WEB_TIMEOUT"
	CodeNetwork           = "WEB_NETWORK"
	CodeUnreachable       = "WEB_UNREACHABLE"
	CodeTLS               = "WEB_TLS"
	CodeTooManyRedirects  = "WEB_TOO_MANY_REDIRECTS"
	CodeRateLimited       = "WEB_RATE_LIMITED"
	CodeSitemapInvalid    = "WEB_SITEMAP_INVALID"
	CodeSitemapNotFound   = "WEB_SITEMAP_NOT_FOUND"
	CodeFieldMissing      = "WEB_FIELD_MISSING"
	CodeFieldType         = "WEB_FIELD_TYPE"
	CodeStorageKey        = "WEB_STORAGE_KEY"
)

// unreachableAttempts is how many attempts a host name that does not
// resolve (NXDOMAIN) gets before the failure becomes permanent: a DNS
// hiccup or a site moving should not dead-letter a page at once, but a name
// that never resolves should not burn every retry either.
const unreachableAttempts = 3

// maxRetryAfter caps a server's Retry-After so that a bogus value cannot
// park a message for days.
const maxRetryAfter = time.Hour

var (
	errTooLarge         = errors.New("response body exceeds the size limit")
	errTooManyRedirects = errors.New("too many redirects")
)

// HTTPCode returns the stable code of an HTTP status failure.
func HTTPCode(status int) string { return "WEB_HTTP_" + strconv.Itoa(status) }

// statusError classifies a non-success HTTP status.
func statusError(resp *http.Response, target string) error {
	code := HTTPCode(resp.StatusCode)
	err := fmt.Errorf("GET %s: HTTP %s", target, resp.Status)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		hint := "the site is throttling requests; lower requests_per_second"
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			return adapters.RetryAfter(adapters.Coded(code, hint, err), d)
		}
		return adapters.Coded(code, hint, err)
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooEarly ||
		resp.StatusCode >= 500:
		return adapters.Coded(code, "the server failed; the fetch is retried", err)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return adapters.PermanentCoded(code, "the page redirects; set follow_redirects: true to follow it", err)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return adapters.PermanentCoded(code, "the page does not exist; remove it from the source list", err)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return adapters.PermanentCoded(code, "the site refuses access to this page", err)
	}
	return adapters.PermanentCoded(code, "the server rejected the request", err)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// transportError classifies a failed request. ctx is the message's context
// (not the per-request timeout): when it is done the work was cancelled,
// which the engine must see as such.
func transportError(ctx context.Context, err error, target string, attempt int) error {
	if ctx.Err() != nil {
		return fmt.Errorf("fetching %s: %w", target, context.Cause(ctx))
	}
	var (
		blocked  *netguard.BlockedError
		cool     *cooldownError
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &blocked):
		return adapters.PermanentCoded(CodeBlocked, blocked.Hint(), err)
	case errors.As(err, &cool):
		return adapters.RetryAfter(adapters.Coded(CodeRateLimited,
			"the host asked for a pause; the fetch is retried after it", err), cool.remaining(time.Now()))
	case errors.Is(err, errTooManyRedirects), errors.Is(err, netguard.ErrTooManyRedirects):
		return adapters.PermanentCoded(CodeTooManyRedirects, "raise max_redirects or fetch the final URL directly", err)
	case errors.Is(err, errTooLarge):
		return adapters.PermanentCoded(CodeTooLarge, "raise max_bytes to accept larger bodies", err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return adapters.Coded(CodeTimeout, "the site is slow; raise timeout if this persists", err)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		hint := "the host name does not resolve; check the URL"
		if attempt >= unreachableAttempts {
			return adapters.PermanentCoded(CodeUnreachable, hint, err)
		}
		return adapters.Coded(CodeUnreachable, hint, err)
	case errors.As(err, &dnsErr):
		return adapters.Coded(CodeUnreachable, "name resolution failed; the fetch is retried", err)
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostname):
		return adapters.PermanentCoded(CodeTLS, "the site's TLS certificate is not trusted", err)
	}
	return adapters.Coded(CodeNetwork, "the connection failed; the fetch is retried", err)
}
