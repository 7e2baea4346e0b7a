package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/temoto/robotstxt"
)

// maxRobotsBytes is the most of a robots.txt that is read (RFC 9309 asks
// crawlers to parse at least 500 KiB).
const maxRobotsBytes = 512 << 10

var errRobotsUnavailable = errors.New("robots.txt is unavailable")

// robotsCache fetches robots.txt once per origin and keeps it for ttl.
// Concurrent lookups of one origin share a single fetch; failed fetches are
// not cached, so the next message tries again. Safe for concurrent use.
type robotsCache struct {
	fetch *fetcher
	ttl   time.Duration
	agent string // product token matched against User-agent lines

	mu      sync.Mutex
	entries map[string]*robotsEntry
}

type robotsEntry struct {
	ready   chan struct{} // closed when data/err are set
	data    *robotstxt.RobotsData
	err     error
	expires time.Time
}

func newRobotsCache(f *fetcher, ttl time.Duration, agent string) *robotsCache {
	return &robotsCache{fetch: f, ttl: ttl, agent: agent, entries: map[string]*robotsEntry{}}
}

// allowed reports whether u may be fetched.
func (c *robotsCache) allowed(ctx context.Context, u *url.URL) (bool, error) {
	data, err := c.get(ctx, u)
	if err != nil {
		return false, err
	}
	return data.TestAgent(u.RequestURI(), c.agent), nil
}

// sitemaps returns the Sitemap: lines of u's origin.
func (c *robotsCache) sitemaps(ctx context.Context, u *url.URL) ([]string, error) {
	data, err := c.get(ctx, u)
	if err != nil {
		return nil, err
	}
	return data.Sitemaps, nil
}

func (c *robotsCache) get(ctx context.Context, u *url.URL) (*robotstxt.RobotsData, error) {
	key := u.Scheme + "://" + hostKey(u.Host)
	for {
		c.mu.Lock()
		e := c.entries[key]
		if e != nil {
			select {
			case <-e.ready:
				if e.err != nil || time.Now().After(e.expires) {
					e = nil // stale or failed: fetch again below
				}
			default:
			}
		}
		if e == nil {
			e = &robotsEntry{ready: make(chan struct{})}
			c.entries[key] = e
			c.mu.Unlock()
			e.data, e.err = c.load(ctx, u)
			e.expires = time.Now().Add(c.ttl)
			close(e.ready)
			return e.data, e.err
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-e.ready:
		}
		if e.err == nil {
			return e.data, nil
		}
		// The fetch we waited for failed (perhaps only because its
		// caller was cancelled): try ourselves.
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
	}
}

func (c *robotsCache) load(ctx context.Context, page *url.URL) (*robotstxt.RobotsData, error) {
	u := &url.URL{Scheme: page.Scheme, Host: page.Host, Path: "/robots.txt"}
	resp, done, err := c.fetch.get(ctx, u, "text/plain")
	if errors.Is(err, errTooManyRedirects) && ctx.Err() == nil {
		// RFC 9309: a robots.txt behind too many redirects counts as absent.
		return robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	defer done()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		// RFC 9309 treats an unreachable robots.txt as "disallow all" for
		// now; we retry the message rather than dead-letter the page.
		return nil, &robotsStatusError{url: u.String(), resp: resp}
	case resp.StatusCode >= 400:
		// No robots.txt (or not readable): everything is allowed.
		return robotstxt.FromStatusAndBytes(resp.StatusCode, nil)
	case resp.StatusCode >= 300:
		// Redirects past the client's limit: treat as absent, like 4xx.
		return robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	if len(body) > maxRobotsBytes {
		// Parse what fits, as RFC 9309 allows, up to the last whole line.
		body = body[:maxRobotsBytes]
		if i := bytes.LastIndexByte(body, '\n'); i >= 0 {
			body = body[:i+1]
		}
	}
	data, err := robotstxt.FromStatusAndBytes(resp.StatusCode, body)
	if err != nil {
		// A robots.txt we cannot parse restricts nothing we can honour.
		return robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	}
	return data, nil
}

type robotsStatusError struct {
	url  string
	resp *http.Response
}

func (e *robotsStatusError) Error() string {
	return fmt.Sprintf("%s: GET %s: HTTP %s", errRobotsUnavailable, e.url, e.resp.Status)
}

func (e *robotsStatusError) Unwrap() error { return errRobotsUnavailable }
