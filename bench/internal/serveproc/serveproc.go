// Package serveproc runs the factflow binary's serve command as a child
// process for the benchmarks that measure the server from outside: it
// builds the binary from the module, execs `serve --embedded --port 0`
// with a clean environment, watches stdout for the serving line, stops the
// process with SIGTERM (SIGKILL after a timeout), and speaks the few JSON
// API calls the harnesses need.
package serveproc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServingPrefix starts the line `factflow serve` prints once it serves.
const ServingPrefix = "Factflow is serving on "

// Proc is one `factflow serve` process.
type Proc struct {
	cmd     *exec.Cmd
	execAt  time.Time
	logPath string
	serving chan time.Time // receives when the serving line appears
	exited  chan struct{}  // closed once the process has been waited for
	waitErr error
	mu      sync.Mutex
	url     string
}

// StopResult is how a server ended.
type StopResult struct {
	Took     time.Duration // SIGTERM to exit
	Killed   bool          // it needed SIGKILL
	ExitCode int
}

// Start execs `bin serve --embedded --port 0 --data-dir dataDir` with env,
// its stderr going to logPath. onLine, when not nil, sees every stdout line
// but the serving line, from one goroutine. The caller must call Stop.
func Start(bin, dataDir string, env []string, logPath string, onLine func(line string)) (*Proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the server log: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	pr, pw := io.Pipe()
	cmd := exec.Command(bin, "serve", "--embedded", "--port", "0", "--data-dir", dataDir)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, pw, logf
	// The server stops gracefully (and with it any PostgreSQL it runs)
	// should this process die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// A grandchild that inherited stdout must not hold up Wait.
	cmd.WaitDelay = 5 * time.Second
	p := &Proc{cmd: cmd, logPath: logPath, serving: make(chan time.Time, 1), exited: make(chan struct{})}
	p.execAt = time.Now()
	if err := cmd.Start(); err != nil {
		_ = pw.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go p.readStdout(pr, onLine)
	go func() {
		p.waitErr = cmd.Wait()
		_ = pw.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *Proc) readStdout(r io.Reader, onLine func(string)) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		now := time.Now()
		p.mu.Lock()
		first := p.url == ""
		if u, ok := strings.CutPrefix(line, ServingPrefix); ok && first {
			p.url = strings.TrimSpace(u)
		}
		p.mu.Unlock()
		switch {
		case strings.HasPrefix(line, ServingPrefix) && first:
			p.serving <- now
		case onLine != nil:
			onLine(line)
		}
	}
	// Keep draining, so the server never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// Pid is the server's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// ExecAt is when the process was started.
func (p *Proc) ExecAt() time.Time { return p.execAt }

// URL is the address from the serving line; empty before it appeared.
func (p *Proc) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// Exited is closed once the process has exited; WaitErr then says how.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// WaitErr is what waiting for the process returned; only valid once
// Exited is closed.
func (p *Proc) WaitErr() error { return p.waitErr }

// WaitServing waits at most timeout for the serving line and returns the
// server's URL and when the line appeared.
func (p *Proc) WaitServing(ctx context.Context, timeout time.Duration) (string, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case t := <-p.serving:
		return p.URL(), t, nil
	case <-p.exited:
		return "", time.Time{}, fmt.Errorf("the server exited before serving (%v)%s", p.waitErr, p.LogTail())
	case <-ctx.Done():
		return "", time.Time{}, fmt.Errorf("no serving line within %s: %w%s", timeout, ctx.Err(), p.LogTail())
	}
}

// Stop sends SIGTERM and waits for the exit, escalating to SIGKILL after
// timeout. A process that had already exited reports its exit code alone.
func (p *Proc) Stop(timeout time.Duration) StopResult {
	select {
	case <-p.exited:
		return StopResult{ExitCode: p.cmd.ProcessState.ExitCode()}
	default:
	}
	var res StopResult
	t0 := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		res.Killed = true
	}
	res.Took = time.Since(t0)
	res.ExitCode = p.cmd.ProcessState.ExitCode()
	return res
}

// LogTail is the end of the server's stderr, for error messages: empty, or
// a newline and the last lines.
func (p *Proc) LogTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nserver log (" + filepath.Base(p.logPath) + ", last lines):\n" + string(bytes.Join(lines, []byte("\n")))
}

// Env is this process's environment without what would change how the
// server starts (DATABASE_URL, FACTFLOW_* settings), plus extra.
// FACTFLOW_PG_BIN stays: it only says where PostgreSQL's binaries are.
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || (strings.HasPrefix(k, "FACTFLOW_") && k != "FACTFLOW_PG_BIN") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// BuildBinary builds ./cmd/factflow of the module this runs in into dir,
// saying so on log, and returns the binary's path.
func BuildBinary(ctx context.Context, dir string, log io.Writer) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command to build factflow with (or pass -bin): %w", err)
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run inside the factflow module, or pass -bin (go env GOMOD: %q, %v)", gomod, err)
	}
	bin := filepath.Join(dir, "factflow")
	fmt.Fprintf(log, "building %s\n", bin)
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/factflow")
	cmd.Dir = filepath.Dir(gomod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/factflow: %w\n%s", err, b)
	}
	return bin, nil
}
