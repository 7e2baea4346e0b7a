package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
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

// begin marks when the first message was generated (first call wins).
func (r *recorder) begin(t time.Time) { r.start.CompareAndSwap(0, t.UnixNano()) }

// arrive records one message born at bornNs (unix ns).
func (r *recorder) arrive(bornNs int64) {
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

// percentile of sorted values by nearest rank (p in 0..1).
func percentile(sorted []int64, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return time.Duration(sorted[i])
}

// median of values (mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// cpuTime is the CPU this process used so far (user + system): the broker,
// the engine and the clients all run in it, so CPU per message is a
// figure the neighbours' load disturbs much less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuStat is the machine-wide line of /proc/stat, in ticks.
type cpuStat struct{ total, idle, steal uint64 }

func readCPUStat() cpuStat {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuStat{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuStat{}
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return cpuStat{}
	}
	var s cpuStat
	for i, f := range fields[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		if i >= 8 { // guest time is already counted in user time
			break
		}
		s.total += v
		switch i {
		case 3, 4: // idle, iowait
			s.idle += v
		case 7:
			s.steal += v
		}
	}
	return s
}

// machineLoad is what the whole machine did between two samples: the
// fraction of CPU time busy (anyone, including us) and stolen by the
// hypervisor.
type machineLoad struct{ busy, steal float64 }

func loadBetween(a, b cpuStat) machineLoad {
	dt := float64(b.total - a.total)
	if dt <= 0 {
		return machineLoad{}
	}
	return machineLoad{
		busy:  float64((b.total-a.total)-(b.idle-a.idle)) / dt,
		steal: float64(b.steal-a.steal) / dt,
	}
}

// loadAvg1 is the one-minute load average.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// sampler measures a run's process CPU and the machine's load around it.
type sampler struct {
	cpu  time.Duration
	stat cpuStat
}

func startSampler() sampler { return sampler{cpu: cpuTime(), stat: readCPUStat()} }

func (s sampler) stop() (time.Duration, machineLoad) {
	return cpuTime() - s.cpu, loadBetween(s.stat, readCPUStat())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
