// Package benchenv describes what a benchmark ran on, for the header of
// its report: the CPU, cores, memory, Go version, the commit of the tree
// and the load average when it began. What cannot be read shows as
// "unknown" (the load average as empty), so a report never fails for it.
package benchenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Env is the machine and build a run measured.
type Env struct {
	Started   time.Time
	CPUModel  string
	Cores     int
	Memory    string // total memory, as "15.6 GiB"
	GoVersion string
	Commit    string // short hash, marked when the tree has uncommitted changes
	Load      string // the 1, 5 and 15 minute load averages
}

// Describe reads the environment now. withUntracked counts new files as
// uncommitted changes, as they are for a binary built from the tree.
func Describe(withUntracked bool) Env {
	env := Env{
		Started:   time.Now(),
		CPUModel:  "unknown",
		Cores:     runtime.NumCPU(),
		Memory:    "unknown",
		GoVersion: runtime.Version(),
		Commit:    "unknown",
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				env.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				env.Memory = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		env.Commit = strings.TrimSpace(string(out))
		status := []string{"status", "--porcelain"}
		if !withUntracked {
			status = append(status, "--untracked-files=no")
		}
		if st, err := exec.CommandContext(ctx, "git", status...).Output(); err == nil && len(st) > 0 {
			env.Commit += " (with uncommitted changes)"
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		env.Load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return env
}
