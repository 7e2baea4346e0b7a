package queue

import (
	"context"
	"fmt"
	"sync"
)

// Feed is a running topic subscription of a provider.
type Feed interface {
	// Stop asks the subscription to end; it returns at once.
	Stop()
	// Done is closed once the subscription ended and no call of its
	// handler runs any more.
	Done() <-chan struct{}
}

// Feeds are a provider's topic subscriptions, which its Close ends. The
// zero value is ready to use.
type Feeds[F interface {
	comparable
	Feed
}] struct {
	mu     sync.Mutex
	closed bool
	m      map[F]struct{}
}

// Add registers f unless Close ran already.
func (fs *Feeds[F]) Add(f F) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return false
	}
	if fs.m == nil {
		fs.m = map[F]struct{}{}
	}
	fs.m[f] = struct{}{}
	return true
}

// Remove forgets f (it ended by itself).
func (fs *Feeds[F]) Remove(f F) {
	fs.mu.Lock()
	delete(fs.m, f)
	fs.mu.Unlock()
}

// Close stops every subscription, refuses new ones, and waits until ctx
// is done for them to end.
func (fs *Feeds[F]) Close(ctx context.Context) error {
	fs.mu.Lock()
	fs.closed = true
	all := make([]F, 0, len(fs.m))
	for f := range fs.m {
		all = append(all, f)
	}
	fs.m = nil
	fs.mu.Unlock()
	for _, f := range all {
		f.Stop()
	}
	for _, f := range all {
		select {
		case <-f.Done():
		case <-ctx.Done():
			return fmt.Errorf("topic handlers still running: %w", ctx.Err())
		}
	}
	return nil
}
