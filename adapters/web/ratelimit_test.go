package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimitsAIMD(t *testing.T) {
	t.Parallel()
	l := newLimits(2, 0.5, 3, 1)
	now := time.Now()
	const host = "Docs.Example:443"

	require.Equal(t, 2.0, l.rate(host))
	l.observe(host, http.StatusOK, 0, now)
	require.InDelta(t, 2.2, l.rate(host), 1e-9, "additive increase of a tenth of the initial rate")
	for range 50 {
		l.observe(host, http.StatusOK, 0, now)
	}
	require.Equal(t, 3.0, l.rate(host), "capped at the maximum")

	l.observe(host, http.StatusNotFound, 0, now)
	require.Equal(t, 3.0, l.rate(host), "client errors say nothing about load")

	l.observe(host, http.StatusTooManyRequests, 0, now)
	require.Equal(t, 1.5, l.rate(host), "multiplicative decrease")
	l.observe(host, http.StatusServiceUnavailable, 0, now)
	require.Equal(t, 0.75, l.rate(host))
	l.observe(host, http.StatusTooManyRequests, 0, now)
	require.Equal(t, 0.5, l.rate(host), "floored at the minimum")

	require.Equal(t, 2.0, l.rate("other.example"), "hosts are independent")
	require.Equal(t, 0.5, l.rate("docs.example:443"), "host keys ignore case")
}

func TestLimitsTokenBucket(t *testing.T) {
	t.Parallel()
	l := newLimits(2, 1, 10, 2)
	h := l.host("a.example", time.Now())
	t0 := time.Now()
	// Burst of two, then one token every 500ms at 2 req/s.
	require.Zero(t, h.lim.ReserveN(t0, 1).DelayFrom(t0))
	require.Zero(t, h.lim.ReserveN(t0, 1).DelayFrom(t0))
	require.Equal(t, 500*time.Millisecond, h.lim.ReserveN(t0, 1).DelayFrom(t0))
	require.Equal(t, time.Second, h.lim.ReserveN(t0, 1).DelayFrom(t0))
}

func TestLimitsPause(t *testing.T) {
	t.Parallel()
	l := newLimits(100, 1, 100, 10)
	now := time.Now()
	l.observe("a.example", http.StatusTooManyRequests, time.Hour, now)

	err := l.wait(t.Context(), "a.example")
	var cool *cooldownError
	require.ErrorAs(t, err, &cool)
	require.Greater(t, cool.remaining(time.Now()), maxInlinePause)

	// A shorter Retry-After does not shorten a pause in force.
	l.observe("a.example", http.StatusTooManyRequests, time.Second, now)
	require.ErrorAs(t, l.wait(t.Context(), "a.example"), &cool)
	require.Equal(t, now.Add(time.Hour), cool.until)

	// Other hosts are not paused.
	require.NoError(t, l.wait(t.Context(), "b.example"))

	// A short pause is waited out in place, and the wait honours its
	// context.
	l.observe("c.example", http.StatusServiceUnavailable, maxInlinePause, time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, l.wait(ctx, "c.example"), context.Canceled)
}

func TestLimitsEvictIdleHosts(t *testing.T) {
	t.Parallel()
	l := newLimits(1, 1, 1, 1)
	old := time.Now().Add(-2 * hostIdleAfter)
	for i := range maxTrackedHosts {
		l.host(fmt.Sprintf("h%d.example", i), old)
	}
	l.observe("h0.example", http.StatusTooManyRequests, 3*hostIdleAfter, old) // paused: kept
	l.host("new.example", time.Now())
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Len(t, l.hosts, 2)
	require.Contains(t, l.hosts, "h0.example")
	require.Contains(t, l.hosts, "new.example")
}

// TestLimitsConcurrent hammers one table from many goroutines under -race:
// waits, successes and throttles on shared and separate hosts.
func TestLimitsConcurrent(t *testing.T) {
	t.Parallel()
	l := newLimits(500, 50, 1000, 5)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 32 {
		wg.Go(func() {
			host := fmt.Sprintf("h%d.example", g%4)
			for i := range 20 {
				if err := l.wait(t.Context(), host); err != nil {
					errs <- err
					return
				}
				status := http.StatusOK
				if i%7 == 6 {
					status = http.StatusTooManyRequests
				}
				l.observe(host, status, 0, time.Now())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for i := range 4 {
		r := l.rate(fmt.Sprintf("h%d.example", i))
		require.GreaterOrEqual(t, r, 50.0)
		require.LessOrEqual(t, r, 1000.0)
	}
}

func TestPrepaidIsUsedOnce(t *testing.T) {
	t.Parallel()
	ctx := withPrepaid(t.Context(), "A.example")
	require.False(t, takePrepaid(ctx, "b.example"))
	require.True(t, takePrepaid(ctx, "a.example"))
	require.False(t, takePrepaid(ctx, "a.example"))
	require.False(t, takePrepaid(t.Context(), "a.example"))
}

func TestLimitsQueuePastDeadline(t *testing.T) {
	t.Parallel()
	l := newLimits(0.01, 0.01, 0.01, 1) // one request per 100 s
	require.NoError(t, l.wait(t.Context(), "a.example"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := l.wait(ctx, "a.example")
	var cool *cooldownError
	require.ErrorAs(t, err, &cool)
	require.Greater(t, cool.remaining(time.Now()), time.Minute)
	// The refused reservation was given back: a later caller with no
	// deadline is not charged for it. (Checked without waiting.)
	h := l.host("a.example", time.Now())
	now := time.Now()
	require.LessOrEqual(t, h.lim.ReserveN(now, 1).DelayFrom(now), 100*time.Second)
}
