package nats

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	natsdBuild.cleanup()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testConfig keeps waits short: a small AckWait exercises the in-progress
// heartbeats within the suite's tests, and quick reconnects keep the
// restart tests fast.
func testConfig() Config {
	return Config{
		AckWait:          3 * time.Second,
		ReconnectWait:    20 * time.Millisecond,
		MaxReconnectWait: 250 * time.Millisecond,
	}
}

// testTimeout bounds waits in this package's own tests.
const testTimeout = time.Minute

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// natsdBuild builds internal/natsd once per test binary.
var natsdBuild binaryBuild

type binaryBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func (b *binaryBuild) cleanup() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

func natsdBinary(t testing.TB) string {
	t.Helper()
	natsdBuild.once.Do(func() {
		natsdBuild.dir, natsdBuild.err = os.MkdirTemp("", "natsd-build-")
		if natsdBuild.err != nil {
			return
		}
		natsdBuild.path = filepath.Join(natsdBuild.dir, "natsd")
		cmd := exec.Command("go", "build", "-o", natsdBuild.path, "./internal/natsd")
		out, err := cmd.CombinedOutput()
		if err != nil {
			natsdBuild.err = fmt.Errorf("go build ./internal/natsd: %w\n%s", err, out)
		}
	})
	require.NoError(t, natsdBuild.err)
	return natsdBuild.path
}

// natsd is the embedded server running as a separate OS process.
type natsd struct {
	t      testing.TB
	bin    string
	store  string
	mu     sync.Mutex
	proc   *os.Process
	exited chan struct{}
	url    string
	host   string // host:port, kept across restarts
}

func startNatsd(t testing.TB) *natsd {
	t.Helper()
	d := &natsd{t: t, bin: natsdBinary(t), store: t.TempDir(), host: "127.0.0.1:0"}
	d.start()
	t.Cleanup(func() { d.stop(syscall.SIGTERM) })
	return d
}

func (d *natsd) URL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.url
}

func (d *natsd) start() {
	d.t.Helper()
	cmd := exec.Command(d.bin, "-listen", d.host, "-store", d.store)
	cmd.Stderr = os.Stderr
	first := &firstLine{line: make(chan string, 1)}
	cmd.Stdout = first
	require.NoError(d.t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case line := <-first.line:
		u, err := url.Parse(strings.TrimSpace(line))
		require.NoError(d.t, err, "natsd printed %q", line)
		d.mu.Lock()
		d.proc, d.exited, d.url, d.host = cmd.Process, exited, u.String(), u.Host
		d.mu.Unlock()
	case <-exited:
		d.t.Fatalf("natsd exited before printing its URL")
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-exited
		d.t.Fatalf("natsd did not start within a minute")
	}
}

// firstLine passes on the first line written to it.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.sent {
		f.buf = append(f.buf, p...)
		if i := strings.IndexByte(string(f.buf), '\n'); i >= 0 {
			f.line <- string(f.buf[:i])
			f.sent = true
		}
	}
	return len(p), nil
}

// stop ends the process with sig (SIGTERM shuts down cleanly, SIGKILL is a
// crash) and waits for it.
func (d *natsd) stop(sig syscall.Signal) {
	d.mu.Lock()
	proc, exited := d.proc, d.exited
	d.proc = nil
	d.mu.Unlock()
	if proc == nil {
		return
	}
	_ = proc.Signal(sig)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = proc.Kill()
		<-exited
	}
}

func (d *natsd) restart(sig syscall.Signal) {
	d.t.Helper()
	d.stop(sig)
	d.start()
}
