// Package hostload measures what a benchmark and the machine around it
// spend: this process's CPU, the machine's busy and stolen CPU share from
// /proc/stat, the load average, and the order statistics the reports use.
// On a machine without /proc the machine figures read as zero or NaN.
package hostload

import (
	"bufio"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SelfCPU is the CPU this process used so far (user + system). Where the
// code under test runs in the benchmark's process, CPU per operation is a
// figure the neighbours' load disturbs much less than wall time.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUStat is the machine-wide line of /proc/stat, in ticks.
type CPUStat struct{ total, idle, steal uint64 }

// ReadCPUStat samples /proc/stat.
func ReadCPUStat() CPUStat {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return CPUStat{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return CPUStat{}
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return CPUStat{}
	}
	var s CPUStat
	for i, f := range fields[1:] {
		if i >= 8 { // guest time is already counted in user time
			break
		}
		v, _ := strconv.ParseUint(f, 10, 64)
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

// Load is what the whole machine did between two samples: the fraction of
// CPU time busy (anyone, the benchmark included) and stolen by the
// hypervisor.
type Load struct{ Busy, Steal float64 }

// Between is the load from sample a to sample b.
func Between(a, b CPUStat) Load {
	dt := float64(b.total - a.total)
	if dt <= 0 {
		return Load{}
	}
	return Load{
		Busy:  float64((b.total-a.total)-(b.idle-a.idle)) / dt,
		Steal: float64(b.steal-a.steal) / dt,
	}
}

// LoadAvg1 is the one-minute load average (NaN when unknown).
func LoadAvg1() float64 {
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

// Percentile of sorted nanosecond values by nearest rank (p in 0..1).
func Percentile(sorted []int64, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return time.Duration(sorted[i])
}

// Median of values (mean of the middle two for an even count; NaN for none).
func Median(v []float64) float64 {
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
