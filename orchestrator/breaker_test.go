package orchestrator

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
)

func testBreaker(t *testing.T, cfg pipeline.CircuitBreaker) (*stepBreaker, *breakerSet) {
	t.Helper()
	set := &breakerSet{}
	s := &step{index: 1, typ: "http_get", name: "fetch"}
	return newStepBreaker(set, s, cfg), set
}

var errBackend = errors.New("backend down")

// call runs one adapter call returning err through the breaker.
func call(b *stepBreaker, err error) error {
	_, got := b.cb.Execute(func() (*adapters.Result, error) { return nil, err })
	return got
}

func transitions(set *breakerSet) []string {
	set.mu.Lock()
	defer set.mu.Unlock()
	var out []string
	for _, tr := range set.pending {
		out = append(out, tr.from.String()+">"+tr.to.String())
	}
	return out
}

func breakerCfg() pipeline.CircuitBreaker {
	return pipeline.CircuitBreaker{Enabled: true, FailureRatio: 0.5, MinRequests: 4,
		OpenFor: 200 * time.Millisecond, HalfOpenProbes: 2, Window: time.Minute}
}

func TestBreakerTripsOnRatioOnceMinRequestsFinished(t *testing.T) {
	b, set := testBreaker(t, breakerCfg())
	require.NoError(t, call(b, nil))
	require.ErrorIs(t, call(b, errBackend), errBackend)
	require.ErrorIs(t, call(b, errBackend), errBackend)
	require.Equal(t, gobreaker.StateClosed, b.cb.State(), "3 calls are fewer than min_requests")
	require.ErrorIs(t, call(b, errBackend), errBackend)
	require.Equal(t, gobreaker.StateOpen, b.cb.State(), "3 of 4 failed: ratio 0.75 >= 0.5")
	require.ErrorIs(t, call(b, nil), gobreaker.ErrOpenState, "an open breaker runs nothing")
	require.Equal(t, []string{"closed>open"}, transitions(set))

	set.mu.Lock()
	tr := set.pending[0]
	set.mu.Unlock()
	require.EqualValues(t, 3, tr.counts.TotalFailures, "the open event carries the counts that tripped it")
	require.EqualValues(t, 1, tr.counts.TotalSuccesses)
}

func TestBreakerStaysClosedBelowTheRatio(t *testing.T) {
	b, set := testBreaker(t, breakerCfg())
	for range 3 {
		require.NoError(t, call(b, nil))
	}
	require.Error(t, call(b, errBackend))
	require.Error(t, call(b, errBackend))
	require.Equal(t, gobreaker.StateClosed, b.cb.State(), "2 of 5 is below 0.5")
	require.Empty(t, transitions(set))
}

func TestBreakerCountsPermanentAndSkipAsSuccesses(t *testing.T) {
	b, _ := testBreaker(t, breakerCfg())
	perm := adapters.Permanent(errors.New("bad input"))
	skip := adapters.Skip("not for us")
	require.Error(t, call(b, errBackend))
	require.Error(t, call(b, perm))
	require.Error(t, call(b, skip))
	require.Error(t, call(b, perm))
	require.Equal(t, gobreaker.StateClosed, b.cb.State(), "1 failure in 4: the message's fault is not the dependency's")
	c := b.cb.Counts()
	require.EqualValues(t, 3, c.TotalSuccesses)
	require.EqualValues(t, 1, c.TotalFailures)

	// RetryAfter is the dependency asking for time: a failure.
	ra := adapters.RetryAfter(errors.New("429"), time.Second)
	for range 3 {
		require.Error(t, call(b, ra))
	}
	require.Equal(t, gobreaker.StateOpen, b.cb.State())
}

func TestBreakerExcludesInterruptedCalls(t *testing.T) {
	b, set := testBreaker(t, breakerCfg())
	for range 10 {
		require.Error(t, call(b, &interruptedCall{err: context.Canceled}))
	}
	require.Equal(t, gobreaker.StateClosed, b.cb.State())
	c := b.cb.Counts()
	require.EqualValues(t, 10, c.TotalExclusions)
	require.Zero(t, c.TotalFailures+c.TotalSuccesses)
	require.Empty(t, transitions(set))
}

func TestBreakerWindowRolls(t *testing.T) {
	cfg := breakerCfg()
	cfg.Window = 200 * time.Millisecond
	b, _ := testBreaker(t, cfg)
	for range 3 {
		require.Error(t, call(b, errBackend))
	}
	// Once the window has passed, the three failures no longer count: a
	// fourth failure is one call of one, below min_requests.
	require.Eventually(t, func() bool {
		c := b.cb.Counts()
		if c.TotalFailures == 0 {
			return true
		}
		// Counts roll as the breaker is consulted.
		_ = b.cb.State()
		return false
	}, 10*time.Second, 20*time.Millisecond)
	require.Error(t, call(b, errBackend))
	require.Equal(t, gobreaker.StateClosed, b.cb.State())
	require.EqualValues(t, 1, b.cb.Counts().TotalFailures)
}

func tripped(t *testing.T, cfg pipeline.CircuitBreaker) (*stepBreaker, *breakerSet) {
	t.Helper()
	b, set := testBreaker(t, cfg)
	for range cfg.MinRequests {
		require.Error(t, call(b, errBackend))
	}
	require.Equal(t, gobreaker.StateOpen, b.cb.State())
	return b, set
}

func waitHalfOpen(t *testing.T, b *stepBreaker) {
	t.Helper()
	require.Eventually(t, func() bool { return b.cb.State() == gobreaker.StateHalfOpen },
		10*time.Second, 10*time.Millisecond)
}

func TestBreakerHalfOpenProbesThenCloses(t *testing.T) {
	b, set := tripped(t, breakerCfg())
	waitHalfOpen(t, b)

	// Two probe slots: two calls run at once, a third is turned away.
	inside := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.cb.Execute(func() (*adapters.Result, error) {
				inside <- struct{}{}
				<-release
				return nil, nil
			})
			require.NoError(t, err)
		}()
	}
	<-inside
	<-inside
	require.ErrorIs(t, call(b, nil), gobreaker.ErrTooManyRequests)
	close(release)
	wg.Wait()
	require.Equal(t, gobreaker.StateClosed, b.cb.State(), "two successful probes close it")
	require.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, transitions(set))
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	b, set := tripped(t, breakerCfg())
	waitHalfOpen(t, b)
	require.ErrorIs(t, call(b, errBackend), errBackend)
	require.Equal(t, gobreaker.StateOpen, b.cb.State())
	require.Equal(t, []string{"closed>open", "open>half-open", "half-open>open"}, transitions(set))
}

func TestBreakerExcludedProbeFreesItsSlot(t *testing.T) {
	cfg := breakerCfg()
	cfg.HalfOpenProbes = 1
	b, _ := tripped(t, cfg)
	waitHalfOpen(t, b)
	require.Error(t, call(b, &interruptedCall{err: context.Canceled}))
	require.Equal(t, gobreaker.StateHalfOpen, b.cb.State())
	require.NoError(t, call(b, nil), "the interrupted probe does not use up the slot")
	require.Equal(t, gobreaker.StateClosed, b.cb.State())
}

func TestBreakerRetryDelay(t *testing.T) {
	cfg := breakerCfg()
	cfg.OpenFor = 10 * time.Second
	b, _ := tripped(t, cfg)
	now := time.Now()
	for range 50 {
		d := b.retryIn(BreakerOpen, now)
		require.LessOrEqual(t, d, 12*time.Second, "the rest of open_for plus at most a fifth")
		require.Greater(t, d, 9*time.Second)
	}
	// At the end of the open period the floor holds.
	late := now.Add(cfg.OpenFor + time.Second)
	for range 50 {
		d := b.retryIn(BreakerOpen, late)
		require.GreaterOrEqual(t, d, minBreakerDelay)
		require.LessOrEqual(t, d, minBreakerDelay*6/5+1)
	}
	for range 50 {
		d := b.retryIn(BreakerHalfOpen, now)
		require.GreaterOrEqual(t, d, 2*time.Second, "a quarter of open_for, at most 2s")
		require.LessOrEqual(t, d, 2*time.Second*6/5+1)
	}
}

func TestBreakerHandlerDoneTellsRouteTimeoutFromInterruption(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	timed, cancel := context.WithTimeoutCause(parent, time.Nanosecond, errRouteTimeout)
	defer cancel()
	<-timed.Done()
	require.False(t, handlerDone(timed), "a route timeout is the step's failure")

	chain, cancelChain := context.WithTimeoutCause(parent, time.Hour, errRouteTimeout)
	defer cancelChain()
	require.False(t, handlerDone(chain))
	cancelParent()
	require.True(t, handlerDone(chain), "the handler's own context ended")
}

func TestNackWindowRing(t *testing.T) {
	var w nackWindow
	for i, tc := range []struct {
		dead       bool
		wantDead   int
		wantFilled int
	}{
		{true, 1, 1}, {false, 1, 2}, {true, 2, 3},
		{true, 2, 3}, // the first (dead) one left the window of 3
		{false, 2, 3},
		{false, 1, 3},
		{false, 0, 3},
	} {
		dead, seen := w.record(3, tc.dead)
		require.Equal(t, tc.wantDead, dead, "step %d", i)
		require.Equal(t, tc.wantFilled, seen, "step %d", i)
	}
	require.True(t, w.firstFailure())
	require.False(t, w.firstFailure(), "the execution is failed once")
}
