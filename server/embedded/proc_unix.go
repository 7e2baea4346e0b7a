//go:build unix

package embedded

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/factflow/factflow/adapters"
)

// account is the user the private cluster runs as.
type account struct {
	name   string
	uid    int
	gid    int
	groups []int
	self   bool // the current user: no credential switch
}

func runningAsRoot() bool { return os.Geteuid() == 0 }

// clusterAccount returns who runs the cluster: the current user, or runAs
// when we are root (PostgreSQL refuses to run as root).
func clusterAccount(runAs string) (*account, error) {
	if !runningAsRoot() {
		u, err := user.Current()
		name := strconv.Itoa(os.Geteuid())
		if err == nil {
			name = u.Username
		}
		return &account{name: name, uid: os.Geteuid(), gid: os.Getegid(), self: true}, nil
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return nil, adapters.Coded(CodePGDataDir,
			"PostgreSQL cannot run as root: create a '"+runAs+"' system user (the PostgreSQL server package does) or run factflow as a regular user",
			fmt.Errorf("looking up user %q to run PostgreSQL: %w", runAs, err))
	}
	a := &account{name: u.Username}
	if a.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %s has a non-numeric uid %q", runAs, u.Uid)
	}
	if a.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("user %s has a non-numeric gid %q", runAs, u.Gid)
	}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil {
				a.groups = append(a.groups, g)
			}
		}
	}
	return a, nil
}

// sysProcAttr runs a child as the account, in its own process group so a
// Ctrl-C at the terminal reaches only us: the server stops its database in
// order, after its own shutdown.
func (a *account) sysProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if !a.self {
		groups := make([]uint32, len(a.groups))
		for i, g := range a.groups {
			groups[i] = uint32(g)
		}
		attr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: groups}
	}
	return attr
}

// chown gives a path we created to the account.
func (a *account) chown(path string) error {
	if a.self {
		return nil
	}
	return os.Chown(path, a.uid, a.gid)
}

// owns reports whether the account owns the file described by st.
func (a *account) owns(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == a.uid
}

// canTraverse reports whether the account may search every directory on the
// way to dir (inclusive), judged by mode bits.
func (a *account) canTraverse(dir string) bool {
	if a.self {
		return true
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	p := real
	for {
		st, err := os.Stat(p)
		if err != nil {
			return false
		}
		if !a.mayExec(st) {
			return false
		}
		parent := filepath.Dir(p)
		if parent == p {
			return true
		}
		p = parent
	}
}

func (a *account) mayExec(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := st.Mode().Perm()
	if int(sys.Uid) == a.uid {
		return mode&0o100 != 0
	}
	inGroup := int(sys.Gid) == a.gid
	for _, g := range a.groups {
		inGroup = inGroup || int(sys.Gid) == g
	}
	if inGroup {
		return mode&0o010 != 0
	}
	return mode&0o001 != 0
}

// pidAlive reports whether pid runs. A zombie counts as gone: a killed
// postmaster may stay unreaped for a while on machines whose init is lazy,
// and kill(pid, 0) would still succeed on it.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The state follows the parenthesised command name, which may itself
		// contain spaces or parentheses.
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
			state := s[i+2]
			return state != 'Z' && state != 'X'
		}
		return true
	} else if _, err := os.Stat("/proc/self/stat"); err == nil {
		return false // procfs exists and the pid does not
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processesIn lists live processes whose working directory is dir. Backends
// of a killed postmaster linger in the data dir for a moment. Without procfs
// the answer is always empty.
func processesIn(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir && pidAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processCwd returns a process's working directory, if procfs tells.
func processCwd(pid int) (string, bool) {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return cwd, err == nil
}

func signalPid(pid int, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("unsupported signal %v", sig)
	}
	return syscall.Kill(pid, s)
}

var (
	sigFastShutdown      os.Signal = syscall.SIGINT
	sigImmediateShutdown os.Signal = syscall.SIGQUIT
)

// lockFile takes an exclusive, non-blocking lock that the kernel releases
// when the process dies, so a crashed run never blocks the next one.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}

var errLocked = errors.New("locked by another process")
