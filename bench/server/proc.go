package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// memory is what a set of processes holds, in bytes.
type memory struct {
	Procs int
	// RSS sums resident pages per process, so pages shared between them
	// (PostgreSQL's shared buffers) count once per process that touched
	// them; PSS divides each shared page among its sharers.
	RSS, HWM, PSS int64
}

// processMemory reads one process's VmRSS, VmHWM and PSS.
func processMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("reading memory of process %d: %w", pid, err)
	}
	m := memory{Procs: 1}
	for line := range strings.SplitSeq(string(b), "\n") {
		switch k, v, _ := strings.Cut(line, ":"); k {
		case "VmRSS":
			m.RSS = parseKB(v)
		case "VmHWM":
			m.HWM = parseKB(v)
		}
	}
	m.PSS = pssOf(pid)
	return m, nil
}

// pssOf is a process's proportional set size; 0 when smaps_rollup cannot
// be read (another user's process without the privilege to see it).
func pssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			return parseKB(v)
		}
	}
	return 0
}

// parseKB parses "   1234 kB" into bytes.
func parseKB(s string) int64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseInt(f[0], 10, 64)
	return v << 10
}

// sumMemory adds up the memory of the given processes; those that ended
// meanwhile are left out.
func sumMemory(pids []int) memory {
	var total memory
	for _, pid := range pids {
		m, err := processMemory(pid)
		if err != nil {
			continue
		}
		total.Procs++
		total.RSS += m.RSS
		total.HWM += m.HWM
		total.PSS += m.PSS
	}
	return total
}

// procStat returns the parent pid and CPU time of a process from
// /proc/<pid>/stat.
func procStat(pid int) (ppid int, cpu time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses; fields count from
	// after its last ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, errors.New("malformed stat")
	}
	ppid, _ = strconv.Atoi(f[1])
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	return ppid, time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// processCPU is a process's CPU time so far (0 once it is gone).
func processCPU(pid int) time.Duration {
	_, cpu, _ := procStat(pid)
	return cpu
}

// descendants lists every process below root (not root itself).
func descendants(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, err := procStat(pid); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// postmasterPID reads the pid of the postmaster running a cluster from
// <clusterDir>/data/postmaster.pid; 0 when none is recorded or it is gone.
func postmasterPID(clusterDir string) int {
	if clusterDir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(clusterDir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || !pidAlive(pid) {
		return 0
	}
	return pid
}

// clusterProcesses is the postmaster of a private cluster and all its
// children (background workers and backends).
func clusterProcesses(clusterDir string) []int {
	pm := postmasterPID(clusterDir)
	if pm == 0 {
		return nil
	}
	return append([]int{pm}, descendants(pm)...)
}

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processDone reports whether pid has ended, a zombie counting as ended.
func processDone(pid int) bool {
	if !pidAlive(pid) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// stopPostmaster shuts down a postmaster left running: a fast shutdown,
// then an immediate one, then SIGKILL. It reports whether one was running.
func stopPostmaster(clusterDir string) bool {
	pid := postmasterPID(clusterDir)
	if pid == 0 {
		return false
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 15 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}} {
		_ = syscall.Kill(pid, step.sig)
		deadline := time.Now().Add(step.wait)
		for time.Now().Before(deadline) {
			if processDone(pid) {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return true
}
