package main

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/factflow/factflow/bench/internal/hostload"
)

// recorder counts one run's messages where they end (the sink) and keeps
// each one's end-to-end latency: arrival time minus the birth time the
// message carries from where it was generated.
type recorder struct {
	n     int
	lat   []int64 // nanoseconds, in arrival order
	count atomic.Int64
	extra atomic.Int64 // arrivals beyond n: duplicates
	// clientErrors counts errors the bare clients reported (missed
	// heartbeats, failed pulls): a run with any is suspect.
	clientErrors atomic.Int64
	start        atomic.Int64 // unix ns when generation began
	last         atomic.Int64 // unix ns of the n-th arrival
	done         chan struct{}
}

func newRecorder(n int) *recorder {
	return &recorder{n: n, lat: make([]int64, n), done: make(chan struct{})}
}

// Begin marks when the first message was generated (first call wins).
func (r *recorder) Begin(t time.Time) { r.start.CompareAndSwap(0, t.UnixNano()) }

// Arrive records one message born at bornNs (unix ns).
func (r *recorder) Arrive(bornNs int64) {
	now := time.Now().UnixNano()
	i := r.count.Add(1)
	if i > int64(r.n) {
		r.extra.Add(1)
		return
	}
	r.lat[i-1] = now - bornNs
	if i == int64(r.n) {
		r.last.Store(now)
		close(r.done)
	}
}

// elapsed is the time from the first generated message to the last arrival.
func (r *recorder) elapsed() time.Duration {
	return time.Duration(r.last.Load() - r.start.Load())
}

// latencies returns the recorded latencies, sorted.
func (r *recorder) latencies() []int64 {
	n := min(int(r.count.Load()), r.n)
	out := slices.Clone(r.lat[:n])
	slices.Sort(out)
	return out
}

// sampler measures a run's process CPU and the machine's load around it.
type sampler struct {
	cpu  time.Duration
	stat hostload.CPUStat
}

func startSampler() sampler { return sampler{cpu: hostload.SelfCPU(), stat: hostload.ReadCPUStat()} }

func (s sampler) stop() (time.Duration, hostload.Load) {
	return hostload.SelfCPU() - s.cpu, hostload.Between(s.stat, hostload.ReadCPUStat())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
