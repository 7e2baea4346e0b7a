//go:build !unix

package embedded

import (
	"errors"
	"os"
	"syscall"
)

// account is the user the private cluster runs as; without Unix credentials
// it is always the current user.
type account struct {
	name string
	self bool
}

func runningAsRoot() bool { return false }

func clusterAccount(string) (*account, error) { return &account{name: "current user", self: true}, nil }

func (a *account) sysProcAttr() *syscall.SysProcAttr { return nil }
func (a *account) chown(string) error                { return nil }
func (a *account) owns(os.FileInfo) bool             { return true }
func (a *account) canTraverse(string) bool           { return true }

func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

func processesIn(string) []int      { return nil }
func processCwd(int) (string, bool) { return "", false }
func signalPid(pid int, sig os.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}

var (
	sigFastShutdown      os.Signal = os.Interrupt
	sigImmediateShutdown os.Signal = os.Kill
)

func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}

var errLocked = errors.New("locked by another process")
