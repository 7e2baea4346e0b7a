package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// aimdDecrease is the factor applied to a host's rate when it answers
	// 429 or 503.
	aimdDecrease = 0.5
	// maxInlinePause is the longest Retry-After pause a request waits out
	// in place; past it the message is handed back to the engine with
	// RetryAfter so that it does not hold a handler.
	maxInlinePause = 5 * time.Second
	// maxTrackedHosts bounds the per-host table; idle hosts are dropped
	// when it is full.
	maxTrackedHosts = 4096
	hostIdleAfter   = 10 * time.Minute
)

// limits is a table of per-host token buckets whose rates adapt by AIMD:
// each success adds step requests/second up to max, each 429/503 halves
// the rate down to min and, with Retry-After, pauses the host. Safe for
// concurrent use.
type limits struct {
	initial, min, max, step float64
	burst                   int

	mu    sync.Mutex
	hosts map[string]*hostLimit
}

type hostLimit struct {
	lim *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
	lastUsed    time.Time
}

func newLimits(initial, minRate, maxRate float64, burst int) *limits {
	minRate = min(minRate, initial)
	maxRate = max(maxRate, initial)
	return &limits{
		initial: initial, min: minRate, max: maxRate,
		// Recover from a halving in about ten successes' worth of steps
		// of the initial rate, without overshooting quickly.
		step:  initial / 10,
		burst: max(burst, 1),
		hosts: map[string]*hostLimit{},
	}
}

func hostKey(host string) string { return strings.ToLower(host) }

func (l *limits) host(host string, now time.Time) *hostLimit {
	key := hostKey(host)
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.hosts[key]
	if h == nil {
		if len(l.hosts) >= maxTrackedHosts {
			l.evictIdle(now)
		}
		h = &hostLimit{lim: rate.NewLimiter(rate.Limit(l.initial), l.burst)}
		l.hosts[key] = h
	}
	h.mu.Lock()
	h.lastUsed = now
	h.mu.Unlock()
	return h
}

func (l *limits) evictIdle(now time.Time) {
	for k, h := range l.hosts {
		h.mu.Lock()
		idle := now.Sub(h.lastUsed) > hostIdleAfter && !now.Before(h.pausedUntil)
		h.mu.Unlock()
		if idle {
			delete(l.hosts, k)
		}
	}
}

// cooldownError reports a host that cannot take a request soon enough:
// paused (by Retry-After) for longer than a request should wait in place,
// or with a rate-limit queue reaching past the request's deadline.
type cooldownError struct {
	host  string
	until time.Time
}

func (e *cooldownError) Error() string {
	return fmt.Sprintf("host %s is rate limited until %s", e.host, e.until.UTC().Format(time.RFC3339))
}

func (e *cooldownError) remaining(now time.Time) time.Duration { return max(e.until.Sub(now), 0) }

// wait blocks until host may receive one more request.
func (l *limits) wait(ctx context.Context, host string) error {
	now := time.Now()
	h := l.host(host, now)
	h.mu.Lock()
	until := h.pausedUntil
	h.mu.Unlock()
	if pause := until.Sub(now); pause > 0 {
		if pause > maxInlinePause {
			return &cooldownError{host: host, until: until}
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
		now = time.Now()
	}
	r := h.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && now.Add(d).After(deadline) {
		r.CancelAt(now)
		return &cooldownError{host: host, until: now.Add(d)}
	}
	if err := sleep(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// observe feeds a response status back into the host's rate.
func (l *limits) observe(host string, status int, retryAfterDelay time.Duration, now time.Time) {
	h := l.host(host, now)
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := float64(h.lim.Limit())
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		h.lim.SetLimitAt(now, rate.Limit(max(l.min, cur*aimdDecrease)))
		if until := now.Add(retryAfterDelay); retryAfterDelay > 0 && until.After(h.pausedUntil) {
			h.pausedUntil = until
		}
	case status < 400:
		h.lim.SetLimitAt(now, rate.Limit(min(l.max, cur+l.step)))
	}
}

// rate returns a host's current requests/second (for tests and logs).
func (l *limits) rate(host string) float64 {
	return float64(l.host(host, time.Now()).lim.Limit())
}

// prepaidKey marks a request context whose first hop already waited for
// its host, so the transport does not charge it twice.
type prepaidKey struct{}

type prepaid struct {
	host string
	mu   sync.Mutex
	used bool
}

func withPrepaid(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, prepaidKey{}, &prepaid{host: hostKey(host)})
}

func takePrepaid(ctx context.Context, host string) bool {
	p, _ := ctx.Value(prepaidKey{}).(*prepaid)
	if p == nil || p.host != hostKey(host) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used {
		return false
	}
	p.used = true
	return true
}

// limitedTransport applies limits to every request it carries, redirect
// hops and robots.txt included, and learns from every response.
type limitedTransport struct {
	base   http.RoundTripper
	limits *limits
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	if !takePrepaid(req.Context(), host) {
		if err := t.limits.wait(req.Context(), host); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	d, _ := retryAfter(resp.Header, now)
	t.limits.observe(host, resp.StatusCode, d, now)
	return resp, nil
}
