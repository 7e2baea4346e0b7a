package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/netguard"
)

func scraperConfig() WebScraperConfig {
	c := WebScraperConfig{FollowRedirects: true}.withDefaults()
	// Tests fetch many pages from one host; the limiter is exercised on
	// its own in ratelimit_test.go.
	c.RequestsPerSecond, c.MaxRequestsPerSecond, c.Burst = 1000, 1000, 100
	return c
}

func TestWebScraperFetchesPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	tests := []struct {
		path        string
		contentType string
		charset     string
		title       string
		contains    string
		finalPath   string
	}{
		{"/page/3", "text/html", "utf-8", "Page 3 — Docs", "<p>Grüße</p>", "/page/3"},
		{"/latin1", "text/html", "windows-1252", "Café", "Crème brûlée", "/latin1"},
		{"/meta-charset", "text/html", "windows-1252", "Price: 5 €", "5 €", "/meta-charset"},
		{"/late-utf8", "text/html", "utf-8", "", " naïve", "/late-utf8"},
		{"/data.json", "application/json", "utf-8", "", `{"ok":true}`, "/data.json"},
		{"/untyped", "text/html", "utf-8", "sniffed", "sniffed", "/untyped"},
		{"/redirect", "text/html", "utf-8", "Page 1 — Docs", "<h1>Page 1</h1>", "/page/1"},
	}
	sc := build(t, TypeWebScraper, scraperConfig(), s.deps(t))
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := time.Now().UTC()
			res, err := process(t, sc, adapters.Payload{"url": s.URL + tt.path, "keep": "me"})
			require.NoError(t, err)
			m := res.Message
			require.Equal(t, "me", m["keep"], "other fields pass through")
			require.Equal(t, s.URL+tt.path, m["url"])
			require.Equal(t, http.StatusOK, m["status_code"])
			require.Equal(t, tt.contentType, m["content_type"])
			require.Equal(t, tt.charset, m["charset"])
			require.Contains(t, m["content"], tt.contains)
			require.Equal(t, s.URL+tt.finalPath, m["final_url"])
			if tt.title == "" {
				require.NotContains(t, m, "title")
			} else {
				require.Equal(t, tt.title, m["title"])
			}
			at, err := time.Parse(time.RFC3339Nano, m["fetched_at"].(string))
			require.NoError(t, err)
			require.False(t, at.Before(before.Truncate(time.Second)))
		})
	}
}

func TestWebScraperBinaryContent(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	cfg := scraperConfig()
	cfg.Accept = []string{"image/*"}
	sc := build(t, TypeWebScraper, cfg, s.deps(t))
	res, err := process(t, sc, adapters.Payload{"url": s.URL + "/image.png"})
	require.NoError(t, err)
	require.Equal(t, "image/png", res.Message["content_type"])
	require.Equal(t, "base64", res.Message["content_encoding"])
	raw, err := base64.StdEncoding.DecodeString(res.Message["content"].(string))
	require.NoError(t, err)
	require.Equal(t, "\x89PNG\r\n\x1a\n\x00\x00", string(raw))

	// HTML is not in that accept list.
	_, err = process(t, sc, adapters.Payload{"url": s.URL + "/page/1"})
	requireCode(t, err, adapters.ClassPermanent, CodeContentType)
}

func TestWebScraperFailures(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	tests := []struct {
		name  string
		cfg   func(*WebScraperConfig)
		url   string
		class adapters.Class
		code  string
	}{
		{"not found", nil, s.URL + "/nope", adapters.ClassPermanent, "WEB_HTTP_404"},
		{"gone", nil, s.URL + "/gone", adapters.ClassPermanent, "WEB_HTTP_410"},
		{"forbidden", nil, s.URL + "/forbidden", adapters.ClassPermanent, "WEB_HTTP_403"},
		{"server error", nil, s.URL + "/error", adapters.ClassRetryable, "WEB_HTTP_500"},
		{"503 without retry-after", nil, s.URL + "/unavailable", adapters.ClassRetryable, "WEB_HTTP_503"},
		{"robots disallow", nil, s.URL + "/private/secret", adapters.ClassPermanent, CodeRobotsDisallowed},
		{"robots group of our agent", func(c *WebScraperConfig) { c.UserAgent = "BlockedBot/2.0" }, s.URL + "/page/1", adapters.ClassPermanent, CodeRobotsDisallowed},
		{"content type", nil, s.URL + "/image.png", adapters.ClassPermanent, CodeContentType},
		{"oversize with length", func(c *WebScraperConfig) { c.MaxBytes = 32 << 10 }, s.URL + "/big", adapters.ClassPermanent, CodeTooLarge},
		{"oversize chunked", func(c *WebScraperConfig) { c.MaxBytes = 32 << 10 }, s.URL + "/big-chunked", adapters.ClassPermanent, CodeTooLarge},
		{"timeout", func(c *WebScraperConfig) { c.Timeout = 200 * time.Millisecond }, s.URL + "/slow", adapters.ClassRetryable, CodeTimeout},
		{"redirect not followed", func(c *WebScraperConfig) { c.FollowRedirects = false }, s.URL + "/redirect", adapters.ClassPermanent, "WEB_HTTP_301"},
		{"redirect loop", func(c *WebScraperConfig) { c.MaxRedirects = 3 }, s.URL + "/loop", adapters.ClassPermanent, CodeTooManyRedirects},
		{"invalid url", nil, "http://[::1", adapters.ClassPermanent, CodeInvalidURL},
		{"not http", nil, "file:///etc/passwd", adapters.ClassPermanent, CodeInvalidURL},
		{"connection refused", nil, closedURL(t), adapters.ClassRetryable, CodeNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := scraperConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			deps := s.deps(t)
			deps.AllowPrivateTargets = true // the closed port is not the site's
			sc := build(t, TypeWebScraper, cfg, deps)
			res, err := process(t, sc, adapters.Payload{"url": tt.url})
			require.Nil(t, res)
			requireCode(t, err, tt.class, tt.code)
		})
	}
	require.Zero(t, s.hitCount("/private/secret"), "a disallowed page was fetched")
}

// closedURL returns the address of a port that was listening and is not.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/"
	srv.Close()
	return u
}

func TestWebScraperRobotsCanBeIgnored(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	cfg := scraperConfig()
	cfg.IgnoreRobots = true
	sc := build(t, TypeWebScraper, cfg, s.deps(t))
	res, err := process(t, sc, adapters.Payload{"url": s.URL + "/private/secret"})
	require.NoError(t, err)
	require.Equal(t, "secret", res.Message["title"])
	require.Zero(t, s.hitCount("/robots.txt"))
}

func TestWebScraperMissingURL(t *testing.T) {
	t.Parallel()
	sc := build(t, TypeWebScraper, scraperConfig(), adapters.Deps{})
	_, err := process(t, sc, adapters.Payload{"href": "x"})
	requireCode(t, err, adapters.ClassPermanent, CodeFieldMissing)
}

func TestWebScraperRetryAfter(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	cfg := scraperConfig()
	sc := build(t, TypeWebScraper, cfg, s.deps(t))
	host := "127.0.0.1:" + s.port(t)
	limiter := sc.(*scraper).limits
	u := s.URL + "/throttled"

	// First answer: 429 with Retry-After: 1.
	_, err := process(t, sc, adapters.Payload{"url": u})
	requireCode(t, err, adapters.ClassRetryAfter, "WEB_HTTP_429")
	var ra *adapters.RetryAfterError
	require.ErrorAs(t, err, &ra)
	require.Equal(t, time.Second, ra.After)
	require.Equal(t, cfg.RequestsPerSecond*aimdDecrease, limiter.rate(host), "429 halves the host's rate")

	// The retry waits out the short pause in place and succeeds.
	res, err := process(t, sc, adapters.Payload{"url": u})
	require.NoError(t, err)
	require.Equal(t, "finally", res.Message["title"])
	require.Equal(t, 2, s.hitCount("/throttled"))
	require.Greater(t, limiter.rate(host), cfg.RequestsPerSecond*aimdDecrease, "success raises the rate again")
}

func TestWebScraperLongPauseHandsBack(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	sc := build(t, TypeWebScraper, scraperConfig(), s.deps(t))

	// 503 with Retry-After: 120 pauses the host.
	_, err := process(t, sc, adapters.Payload{"url": s.URL + "/paused"})
	requireCode(t, err, adapters.ClassRetryAfter, "WEB_HTTP_503")
	var ra *adapters.RetryAfterError
	require.ErrorAs(t, err, &ra)
	require.Equal(t, 120*time.Second, ra.After)

	// Other pages of the host are not fetched while it is paused: they
	// go back to the engine with the remaining pause.
	before := s.hitCount("/page/1")
	_, err = process(t, sc, adapters.Payload{"url": s.URL + "/page/1"})
	requireCode(t, err, adapters.ClassRetryAfter, CodeRateLimited)
	require.ErrorAs(t, err, &ra)
	require.Greater(t, ra.After, maxInlinePause)
	require.LessOrEqual(t, ra.After, 120*time.Second)
	require.Equal(t, before, s.hitCount("/page/1"))
}

func TestWebScraperSSRF(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	other := newSite(t)
	tests := []struct {
		name string
		deps adapters.Deps
		url  string
	}{
		{"guard on by default", adapters.Deps{}, s.URL + "/page/1"},
		{"allow-list of another port", adapters.Deps{AllowedHosts: []string{"127.0.0.1:1"}}, s.URL + "/page/1"},
		{"localhost name", adapters.Deps{}, "http://localhost:" + s.port(t) + "/page/1"},
		{"hex address", adapters.Deps{}, "http://0x7f000001:" + s.port(t) + "/page/1"},
		{"decimal address", adapters.Deps{}, "http://2130706433:" + s.port(t) + "/page/1"},
		{"ipv4-mapped ipv6", adapters.Deps{}, "http://[::ffff:127.0.0.1]:" + s.port(t) + "/page/1"},
		{"metadata", adapters.Deps{AllowPrivateTargets: true}, "http://169.254.169.254/latest/meta-data/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := build(t, TypeWebScraper, scraperConfig(), tt.deps)
			_, err := process(t, sc, adapters.Payload{"url": tt.url})
			requireCode(t, err, adapters.ClassPermanent, CodeBlocked)
			require.ErrorIs(t, err, netguard.ErrBlocked)
		})
	}
	require.Zero(t, s.hitCount("/page/1"))
	require.Zero(t, s.hitCount("/robots.txt"))

	// A redirect from an allowed site to a loopback address that is not
	// allowed is refused at the hop.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, other.URL+"/page/1", http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	ru, err := url.Parse(redirector.URL)
	require.NoError(t, err)
	sc := build(t, TypeWebScraper, scraperConfig(), adapters.Deps{AllowedHosts: []string{ru.Host}})
	_, err = process(t, sc, adapters.Payload{"url": redirector.URL + "/go"})
	requireCode(t, err, adapters.ClassPermanent, CodeBlocked)
	require.Zero(t, other.hitCount("/page/1"))
}

// TestWebScraperUsesEngineClient builds the scraper with the guarded client
// the engine hands over instead of guard settings.
func TestWebScraperUsesEngineClient(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	allowed := netguard.NewHTTPClient(netguard.Guard{AllowedHosts: []string{"127.0.0.1:" + s.port(t)}}, netguard.ClientOptions{})
	refused := netguard.NewHTTPClient(netguard.Guard{}, netguard.ClientOptions{})
	t.Cleanup(allowed.CloseIdleConnections)
	t.Cleanup(refused.CloseIdleConnections)

	// AllowPrivateTargets is ignored when a client is given: the client
	// is the policy.
	sc := build(t, TypeWebScraper, scraperConfig(), adapters.Deps{HTTP: refused, AllowPrivateTargets: true})
	_, err := process(t, sc, adapters.Payload{"url": s.URL + "/page/1"})
	requireCode(t, err, adapters.ClassPermanent, CodeBlocked)

	sc = build(t, TypeWebScraper, scraperConfig(), adapters.Deps{HTTP: allowed})
	res, err := process(t, sc, adapters.Payload{"url": s.URL + "/page/1"})
	require.NoError(t, err)
	require.Equal(t, "Page 1 — Docs", res.Message["title"])
}

func TestWebScraperUnresolvableHost(t *testing.T) {
	t.Parallel()
	// .invalid never resolves (RFC 6761); without a resolver at all the
	// error is not "not found" and there is nothing to test here.
	const host = "factflow-nonexistent.invalid"
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	_, err := net.DefaultResolver.LookupHost(ctx, host)
	cancel()
	if dnsErr, ok := errors.AsType[*net.DNSError](err); !ok || !dnsErr.IsNotFound {
		t.Skipf("no DNS answer for %s here: %v", host, err)
	}
	sc := build(t, TypeWebScraper, scraperConfig(), adapters.Deps{})
	for attempt, class := range map[int]adapters.Class{
		1: adapters.ClassRetryable, 2: adapters.ClassRetryable,
		unreachableAttempts: adapters.ClassPermanent, unreachableAttempts + 1: adapters.ClassPermanent,
	} {
		_, err := processCtx(t.Context(), sc, adapters.Payload{"url": "http://" + host + "/"}, attempt)
		requireCode(t, err, class, CodeUnreachable)
	}
}

// TestWebScraperConcurrent shares one scraper (rate limiter, robots cache)
// between many goroutines under -race.
func TestWebScraperConcurrent(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	cfg := scraperConfig()
	cfg.RequestsPerSecond, cfg.MaxRequestsPerSecond, cfg.Burst = 200, 400, 4
	sc := build(t, TypeWebScraper, cfg, s.deps(t))

	const workers, perWorker = 16, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				n := (w*perWorker + i) % sitePages
				res, err := process(t, sc, adapters.Payload{"url": fmt.Sprintf("%s/page/%d", s.URL, n)})
				switch {
				case err != nil:
					errs <- err
				case res.Message["title"] != fmt.Sprintf("Page %d — Docs", n):
					errs <- fmt.Errorf("page %d: title %v", n, res.Message["title"])
				}
			}
			// Disallowed pages stay disallowed under load.
			_, err := process(t, sc, adapters.Payload{"url": s.URL + "/private/secret"})
			if adapters.Classify(err) != adapters.ClassPermanent {
				errs <- fmt.Errorf("private page: %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, s.hitCount("/robots.txt"), "robots.txt is fetched once per host")
	require.Zero(t, s.hitCount("/private/secret"))
	total := 0
	for i := range sitePages {
		total += s.hitCount(fmt.Sprintf("/page/%d", i))
	}
	require.Equal(t, workers*perWorker, total)
}

func TestWebScraperCancelledContext(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	sc := build(t, TypeWebScraper, scraperConfig(), s.deps(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := processCtx(ctx, sc, adapters.Payload{"url": s.URL + "/slow"}, 1)
		done <- err
	}()
	// Cancel once the request is in flight (robots.txt has been read).
	require.Eventually(t, func() bool { return s.hitCount("/slow") == 1 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	var ce *adapters.CodedError
	require.False(t, errors.As(err, &ce), "a cancellation is not a coded failure: %v", err)
}

func TestTitleAndDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		doc, want string
	}{
		{`<html><head><title>A &amp; B</title></head></html>`, "A & B"},
		{`<svg><title>icon</title></svg><title> Real </title>`, "Real"},
		{`<html><body>no title</body></html>`, ""},
		{`<title></title>`, ""},
		{`<TITLE>Upper</TITLE>`, "Upper"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, htmlTitle(tt.doc), tt.doc)
	}

	text, cs := decodeText([]byte("\xef\xbb\xbfhello"), "text/plain")
	require.Equal(t, "hello", text)
	require.Equal(t, "utf-8", cs)
	text, _ = decodeText([]byte("bad \xff byte"), "text/plain; charset=utf-8")
	require.Equal(t, "bad \uFFFD byte", text)
	text, cs = decodeText([]byte("\x82\xa0"), "text/plain; charset=shift_jis")
	require.Equal(t, "あ", text)
	require.Equal(t, "shift_jis", cs)
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{"99999999", maxRetryAfter, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		got, ok := retryAfter(h, now)
		require.Equal(t, tt.ok, ok, tt.value)
		require.Equal(t, tt.want, got, tt.value)
	}
}

func TestAccepted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mt     string
		accept []string
		want   bool
	}{
		{"text/html", defaultAccept, true},
		{"application/pdf", defaultAccept, false},
		{"text/csv", []string{"text/*"}, true},
		{"application/pdf", []string{"*/*"}, true},
		{"text/html", []string{"text/html; charset=utf-8"}, true},
		{"textual/html", []string{"text/*"}, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, accepted(tt.mt, tt.accept), "%s in %v", tt.mt, tt.accept)
	}
}

func TestRobotsToken(t *testing.T) {
	t.Parallel()
	require.Equal(t, "factflow", robotsToken("Factflow/1.0 (+https://example.org)"))
	require.Equal(t, "mybot", robotsToken("MyBot"))
	require.Equal(t, "mybot", robotsToken("MyBot extra"))
}
