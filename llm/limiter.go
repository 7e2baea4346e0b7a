package llm

import (
	"context"
	"sync"
)

// Limiter bounds of every remote profile (SPEC §10).
const (
	DefaultMaxConcurrency = 50
	MinConcurrency        = 5
)

// limiter is an AIMD concurrency limit: +1 on each success up to the
// ceiling, halved (not below the floor) on a 429.
//
// It starts at the ceiling: max_concurrency is the operator's statement of
// what the provider tolerates, and multiplicative decrease corrects an
// optimistic start within a few 429s (50→25→12→6→5), while starting low
// would throttle every short run until enough successes accumulate.
//
// A burst of requests that were all sent under the old limit must not
// halve it once each (50 concurrent 429s would slam it to the floor), so a
// 429 only decreases the limit when its request was admitted after the
// last decrease — the same one-cut-per-window rule TCP uses.
type limiter struct {
	mu       sync.Mutex
	limit    int
	ceiling  int
	floor    int
	inFlight int
	epoch    uint64 // bumped on every decrease
	wake     chan struct{}
}

type outcome int

const (
	outcomeSuccess outcome = iota
	outcomeRateLimited
	outcomeOther // neither grows nor shrinks the limit
)

func newLimiter(ceiling int) *limiter {
	if ceiling <= 0 {
		ceiling = DefaultMaxConcurrency
	}
	floor := MinConcurrency
	if ceiling < floor {
		// A ceiling below the floor is an explicit request for less
		// concurrency; honour it.
		floor = ceiling
	}
	return &limiter{limit: ceiling, ceiling: ceiling, floor: floor, wake: make(chan struct{})}
}

// permit is one admitted request; release it exactly once.
type permit struct {
	l     *limiter
	epoch uint64
}

// acquire blocks until a slot is free under the current limit or ctx ends.
func (l *limiter) acquire(ctx context.Context) (permit, error) {
	for {
		l.mu.Lock()
		if l.inFlight < l.limit {
			l.inFlight++
			p := permit{l: l, epoch: l.epoch}
			l.mu.Unlock()
			return p, nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return permit{}, ctx.Err()
		case <-wake:
		}
	}
}

func (p permit) release(o outcome) {
	l := p.l
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	switch o {
	case outcomeSuccess:
		if l.limit < l.ceiling {
			l.limit++
		}
	case outcomeRateLimited:
		if p.epoch == l.epoch {
			l.limit /= 2
			if l.limit < l.floor {
				l.limit = l.floor
			}
			l.epoch++
		}
	}
	// Broadcast: waiters re-check under the lock; with a few dozen waiters
	// at most, the herd is cheaper than per-waiter bookkeeping.
	close(l.wake)
	l.wake = make(chan struct{})
}

func (l *limiter) snapshot() (limit, inFlight, ceiling, floor int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.inFlight, l.ceiling, l.floor
}
