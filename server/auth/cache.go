package auth

import (
	"sync"
	"time"

	"github.com/factflow/factflow/store"
)

// DefaultTokenCacheTTL is how long a token that was found valid is
// believed without asking the database again. It takes a PostgreSQL round
// trip off almost every request (about a quarter of the throughput of a
// cheap read); the price is that a revocation made on another replica takes
// up to this long to reach this one. A revocation made here, and an expiry,
// apply at once.
const DefaultTokenCacheTTL = 5 * time.Second

// maxCachedTokens bounds the cache; past it the cache starts over, which
// costs lookups, never correctness.
const maxCachedTokens = 10000

// tokenCache remembers recently checked valid tokens by hash.
type tokenCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedToken
}

type cachedToken struct {
	t  store.APIToken
	at time.Time
}

func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl <= 0 {
		return nil
	}
	return &tokenCache{ttl: ttl, m: map[string]cachedToken{}}
}

// get returns a copy of the token cached under hash, unless it is stale.
func (c *tokenCache) get(hash []byte, now time.Time) (*store.APIToken, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(hash)]
	if !ok || now.Sub(e.at) >= c.ttl {
		return nil, false
	}
	t := e.t
	return &t, true
}

func (c *tokenCache) put(hash []byte, t *store.APIToken, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTokens {
		c.m = map[string]cachedToken{}
	}
	c.m[string(hash)] = cachedToken{t: *t, at: now}
}

// touched records a last-used write in the cached copy, so the next
// requests do not write it again.
func (c *tokenCache) touched(hash []byte, at time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[string(hash)]; ok {
		e.t.LastUsedAt = &at
		c.m[string(hash)] = e
	}
}

// forget drops the token with id.
func (c *tokenCache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.t.ID == id {
			delete(c.m, h)
		}
	}
}
