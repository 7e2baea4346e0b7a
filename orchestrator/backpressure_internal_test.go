package orchestrator

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/pipeline"
)

// window runs one decision window of l at full utilisation: it holds as
// many slots as the limit allows and finishes each with latency d, until
// the limiter decided (its epoch moved or a window closed at the ceiling).
func window(t *testing.T, l *aimdLimiter, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	limit, _ := l.state()
	need := max(limit, limiterMinWindow)
	for done := 0; done < need; {
		var held []*admission
		for range limit {
			a, err := l.acquire(ctx)
			require.NoError(t, err)
			held = append(held, a)
		}
		for _, a := range held {
			l.finish(a.epoch, d)
			done++
		}
	}
}

func TestLimiterAdditiveIncreaseUpToMax(t *testing.T) {
	l := newAIMDLimiter(1, 6, 50*time.Millisecond, nil)
	var seen []int
	for range 10 {
		window(t, l, 10*time.Millisecond)
		limit, lat := l.state()
		require.Equal(t, 10*time.Millisecond, lat)
		seen = append(seen, limit)
	}
	require.Equal(t, []int{2, 3, 4, 5, 6, 6, 6, 6, 6, 6}, seen, "one step per window, capped at max_concurrency")
}

func TestLimiterNoIncreaseWhenLimitUnused(t *testing.T) {
	l := newAIMDLimiter(3, 10, 50*time.Millisecond, nil)
	// One message at a time: fast, but the limit of 3 was never reached,
	// so nothing is learnt about 4.
	for range 3 * limiterMinWindow {
		a, err := l.acquire(context.Background())
		require.NoError(t, err)
		l.finish(a.epoch, time.Millisecond)
	}
	limit, _ := l.state()
	require.Equal(t, 3, limit)
}

func TestLimiterMultiplicativeDecreaseDownToOne(t *testing.T) {
	l := newAIMDLimiter(16, 16, 50*time.Millisecond, nil)
	var seen []int
	for range 8 {
		window(t, l, 200*time.Millisecond)
		limit, _ := l.state()
		seen = append(seen, limit)
	}
	require.Equal(t, []int{11, 7, 4, 2, 1, 1, 1, 1}, seen)
}

func TestLimiterIgnoresSamplesOfAnOlderLimit(t *testing.T) {
	l := newAIMDLimiter(4, 4, 50*time.Millisecond, nil)
	ctx := context.Background()
	var held []*admission
	for range 4 {
		a, err := l.acquire(ctx)
		require.NoError(t, err)
		held = append(held, a)
	}
	// A steady stream of slow messages, four at a time, until the window
	// of ten closes.
	for i := range limiterMinWindow {
		l.finish(held[i].epoch, time.Second)
		if i < limiterMinWindow-1 {
			a, err := l.acquire(ctx)
			require.NoError(t, err)
			held = append(held, a)
		}
	}
	limit, lat := l.state()
	require.Equal(t, 2, limit)
	require.Equal(t, time.Second, lat)
	stale := held[limiterMinWindow:]
	require.Len(t, stale, 3)
	// Messages admitted under the limit of 4 report its slow latency; they
	// must not cut the new limit again (and they free their slots).
	for _, a := range stale {
		l.finish(a.epoch, time.Second)
	}
	l.mu.Lock()
	require.Equal(t, 2, l.limit)
	require.Empty(t, l.samples)
	require.Zero(t, l.inUse)
	l.mu.Unlock()
}

func TestLimiterAcquireBlocksAtLimitAndHonoursContext(t *testing.T) {
	l := newAIMDLimiter(2, 2, time.Second, nil)
	bg := context.Background()
	a1, err := l.acquire(bg)
	require.NoError(t, err)
	_, err = l.acquire(bg)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() {
		_, err := l.acquire(ctx)
		errc <- err
	}()
	// Wait until the goroutine queued, then cancel it.
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.waiters.Len() == 1
	}, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	l.mu.Lock()
	require.Zero(t, l.waiters.Len(), "a cancelled waiter leaves the queue")
	require.Equal(t, 2, l.inUse, "a cancelled waiter holds no slot")
	l.mu.Unlock()

	// An already ended context fails at once when the limiter is full.
	_, err = l.acquire(ctx)
	require.ErrorIs(t, err, context.Canceled)

	// A waiter is admitted when a slot frees.
	got := make(chan *admission, 1)
	go func() {
		a, err := l.acquire(bg)
		if err == nil {
			got <- a
		}
	}()
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.waiters.Len() == 1
	}, 10*time.Second, time.Millisecond)
	a1.end(bg) // never begun: frees the slot without a sample
	a3 := <-got
	require.NotNil(t, a3)
	l.mu.Lock()
	require.Equal(t, 2, l.inUse)
	require.Empty(t, l.samples)
	l.mu.Unlock()
}

func TestLimiterNilIsOff(t *testing.T) {
	var l *aimdLimiter
	a, err := l.acquire(context.Background())
	require.NoError(t, err)
	require.Nil(t, a)
	a.begin()
	a.end(context.Background())
	limit, lat := l.state()
	require.Zero(t, limit)
	require.Zero(t, lat)

	require.Nil(t, newRouteLimiter(&pipeline.Route{Inbound: pipeline.Inbound{Concurrency: 4}}, nil))
	r := &pipeline.Route{Inbound: pipeline.Inbound{Concurrency: 8},
		Backpressure: pipeline.Backpressure{TargetLatency: time.Second, MaxConcurrency: 32}}
	limit, _ = newRouteLimiter(r, nil).state()
	require.Equal(t, 8, limit, "inbound.concurrency stays the upper bound")
	r.Backpressure.MaxConcurrency = 3
	limit, _ = newRouteLimiter(r, nil).state()
	require.Equal(t, 3, limit)
}

// TestLimiterResizeUnderContention runs many goroutines through the
// limiter while its limit moves up and down, with contexts ending at
// random, and checks that no more slots than the limit of the moment are
// ever handed out beyond what was held when it shrank, and that every slot
// comes back.
func TestLimiterResizeUnderContention(t *testing.T) {
	l := newAIMDLimiter(8, 8, 5*time.Millisecond, nil)
	var inside, maxInside atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	var wg sync.WaitGroup
	var admitted, refused, unexpected atomic.Int64
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := 0; i < 300; i++ {
				actx, cancel := context.WithCancel(ctx)
				if rng.IntN(5) == 0 {
					cancel() // some callers give up at once or while waiting
				} else if rng.IntN(5) == 0 {
					go cancel()
				}
				a, err := l.acquire(actx)
				if err != nil {
					cancel()
					if !errors.Is(err, context.Canceled) {
						unexpected.Add(1)
					}
					refused.Add(1)
					continue
				}
				admitted.Add(1)
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				a.begin()
				if rng.IntN(2) == 0 {
					time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
				}
				inside.Add(-1)
				// Fast and slow samples alternate, so the limit moves both ways.
				if rng.IntN(3) == 0 {
					l.finish(a.epoch, 50*time.Millisecond)
				} else {
					l.finish(a.epoch, time.Millisecond)
				}
				cancel()
			}
		}()
	}
	// A second writer resizes directly, racing the controller.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 2000 {
			l.mu.Lock()
			l.limit = 1 + i%8
			l.epoch++
			l.notifyLocked()
			l.mu.Unlock()
		}
	}()
	wg.Wait()

	require.Zero(t, unexpected.Load(), "acquire fails only with the context's error")
	require.LessOrEqual(t, maxInside.Load(), int64(8), "never more than the ceiling at once")
	require.Positive(t, admitted.Load())
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Zero(t, l.inUse, "every slot came back")
	require.Zero(t, l.waiters.Len(), "nobody is left waiting")
	require.GreaterOrEqual(t, l.limit, 1)
	require.LessOrEqual(t, l.limit, 8)
	t.Logf("admitted %d, refused %d", admitted.Load(), refused.Load())
}
