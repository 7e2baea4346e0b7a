package auth_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/server/auth/oidc"
	"github.com/factflow/factflow/store"
)

// fakeTokens is an in-memory TokenStore keyed by token hash.
type fakeTokens struct {
	mu       sync.Mutex
	byHash   map[string]*store.APIToken
	errs     map[string]error // per hash: ByHash fails with this
	err      error            // every ByHash fails with this
	touchErr error
	touches  map[string][]time.Time
	lookups  int
}

func newFakeTokens() *fakeTokens {
	return &fakeTokens{byHash: map[string]*store.APIToken{}, errs: map[string]error{},
		touches: map[string][]time.Time{}}
}

// add stores t under the hash of plain and returns it.
func (f *fakeTokens) add(plain string, t *store.APIToken) *store.APIToken {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Hash = auth.HashToken(plain)
	if t.Prefix == "" {
		t.Prefix = auth.DisplayPrefix(plain)
	}
	f.byHash[string(t.Hash)] = t
	return t
}

// failFor makes looking up plain fail with err.
func (f *fakeTokens) failFor(plain string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[string(auth.HashToken(plain))] = err
}

func (f *fakeTokens) knows(plain string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.byHash[string(auth.HashToken(plain))]
	return ok
}

func (f *fakeTokens) ByHash(_ context.Context, hash []byte) (*store.APIToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.err != nil {
		return nil, f.err
	}
	if err := f.errs[string(hash)]; err != nil {
		return nil, err
	}
	t, ok := f.byHash[string(hash)]
	if !ok {
		return nil, fmt.Errorf("finding token: %w", store.ErrNotFound)
	}
	c := *t
	return &c, nil
}

// Touch mirrors the store: last_used_at moves only when older than interval.
func (f *fakeTokens) Touch(_ context.Context, id string, at time.Time, interval time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.touches[id] = append(f.touches[id], at)
	if f.touchErr != nil {
		return f.touchErr
	}
	for _, t := range f.byHash {
		if t.ID == id && (t.LastUsedAt == nil || t.LastUsedAt.Before(at.Add(-interval))) {
			t.LastUsedAt = &at
		}
	}
	return nil
}

func (f *fakeTokens) touchCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.touches[id])
}

func (f *fakeTokens) lookupCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups
}

// fakeVerifier is a JWTVerifier answering from fixed tables.
type fakeVerifier struct {
	mu     sync.Mutex
	claims map[string]*oidc.Claims
	errs   map[string]error
	calls  []string
}

func (v *fakeVerifier) Verify(_ context.Context, raw string) (*oidc.Claims, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls = append(v.calls, raw)
	if err := v.errs[raw]; err != nil {
		return nil, err
	}
	if c, ok := v.claims[raw]; ok {
		return c, nil
	}
	return nil, &oidc.Error{Code: oidc.CodeTokenSignatureInvalid, Msg: "signature does not verify"}
}

func (v *fakeVerifier) callCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.calls)
}

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
