package orchestrator

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/factflow/factflow/pipeline"
)

// retryDelay is the wait before attempt+1 after attempt failed, per the
// route's policy: fixed or exponential from RetryDelay, capped by MaxDelay,
// spread by ±Jitter so that a burst of failures does not retry in lockstep.
// A delay asked for by the adapter (RetryAfter) is a floor.
func retryDelay(p pipeline.ErrorHandling, attempt int, floor time.Duration) time.Duration {
	d := p.RetryDelay
	if p.Backoff == pipeline.BackoffExponential && attempt > 1 {
		f := float64(d) * math.Pow(2, float64(attempt-1))
		if f > float64(math.MaxInt64/2) {
			f = float64(math.MaxInt64 / 2)
		}
		d = time.Duration(f)
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	if p.Jitter > 0 && d > 0 {
		spread := float64(d) * p.Jitter
		d += time.Duration((rand.Float64()*2 - 1) * spread)
	}
	if d < floor {
		d = floor
	}
	if d < 0 {
		d = 0
	}
	return d
}
