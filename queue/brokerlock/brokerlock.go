// Package brokerlock coordinates tests of several packages (run as
// separate processes by `go test ./...`) that share one local broker
// node: a test that stops and starts the node holds it exclusively, tests
// that merely use it hold it shared, so a restart never lands in the
// middle of another package's run.
package brokerlock

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Hold takes the lock of broker for the rest of the test: shared, or
// exclusive for a test that restarts the broker. It blocks until granted.
func Hold(t testing.TB, broker string, exclusive bool) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "factflow-broker-"+broker+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("brokerlock: opening %s: %v", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("brokerlock: locking %s: %v", path, err)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	})
}
