package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Pacing and identity shared by the providers.

// ExpBackoff is base doubled attempt times, capped at max.
func ExpBackoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Jitter spreads d over [d/2, d], so reconnecting clients do not return in
// step.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, reporting false when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// NewMessageID is a UUIDv7 (time-ordered), or a v4 when the random source
// fails for v7.
func NewMessageID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// CloseAll closes subs concurrently (each handler drains in parallel) and
// reports ctx's error when some were still running at its end; their
// closes carry on in the background.
func CloseAll[S Subscription](ctx context.Context, subs []S) error {
	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, s := range subs {
			wg.Go(func() { _ = s.Close(ctx) })
		}
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("handlers still running: %w", ctx.Err())
	}
}
