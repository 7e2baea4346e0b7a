package httpguard

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit configures the per-client limit: a token bucket of Burst
// requests refilled at RequestsPerSecond. Zero RequestsPerSecond is no limit.
type RateLimit struct {
	RequestsPerSecond float64
	Burst             int
	// IdleTTL drops the bucket of a client quiet for this long (default 10m),
	// so the table holds active clients only.
	IdleTTL time.Duration
	// ClientKey names the caller a request is counted against. The default
	// is the remote IP; with auth, the token or user is the better key.
	ClientKey func(*http.Request) string
	// Exempt requests are never counted (e.g. health probes).
	Exempt func(*http.Request) bool
}

// RefusalWriter answers a refused request; retryAfter is zero for
// refusals that are not about time (CORS).
type RefusalWriter func(w http.ResponseWriter, r *http.Request, status int, code, detail, hint string)

// CodeRateLimited is the error code of a 429 from the limiter.
const CodeRateLimited = "RATE_LIMITED"

// Limiter counts requests per client.
type Limiter struct {
	cfg       RateLimit
	refuse    RefusalWriter
	mu        sync.Mutex
	clients   map[string]*client
	lastEvict time.Time
	now       func() time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a limiter. Idle clients are dropped as requests come
// in, so it needs no goroutine of its own.
func NewLimiter(cfg RateLimit, refuse RefusalWriter) *Limiter {
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.RequestsPerSecond)))
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = 10 * time.Minute
	}
	if cfg.ClientKey == nil {
		cfg.ClientKey = RemoteIP
	}
	return &Limiter{cfg: cfg, refuse: refuse, clients: map[string]*client{}, now: time.Now}
}

// RemoteIP is the request's peer address without its port.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Allow takes one request of key from its bucket, or says how long until
// one is available.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	if now.Sub(l.lastEvict) > l.cfg.IdleTTL/2 {
		l.evictLocked(now)
	}
	c, ok := l.clients[key]
	if !ok {
		c = &client{lim: rate.NewLimiter(rate.Limit(l.cfg.RequestsPerSecond), l.cfg.Burst)}
		l.clients[key] = c
	}
	c.seen = now
	res := c.lim.ReserveN(now, 1)
	l.mu.Unlock()
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		// Refused requests do not spend the tokens of later ones.
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Clients is how many clients the limiter holds a bucket for.
func (l *Limiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// evictLocked drops clients idle for longer than IdleTTL; l.mu is held.
func (l *Limiter) evictLocked(now time.Time) {
	l.lastEvict = now
	cut := now.Add(-l.cfg.IdleTTL)
	for k, c := range l.clients {
		if c.seen.Before(cut) {
			delete(l.clients, k)
		}
	}
}

// Middleware refuses a client over its limit with 429 and Retry-After
// (whole seconds, rounded up). A stream counts once, when it opens.
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	if l.cfg.RequestsPerSecond <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.cfg.Exempt != nil && l.cfg.Exempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := l.Allow(l.cfg.ClientKey(r))
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			l.refuse(w, r, http.StatusTooManyRequests, CodeRateLimited,
				"too many requests from this client",
				"wait for Retry-After seconds; the limit is security.rate_limit in the app config")
			return
		}
		next.ServeHTTP(w, r)
	})
}
