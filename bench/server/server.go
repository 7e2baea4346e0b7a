package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// servingPrefix starts the line `factflow serve` prints once it serves.
const servingPrefix = "Factflow is serving on "

// privateDB matches the database line of a server running a private cluster:
// "  database: private PostgreSQL 15 in /dir (port 5433, stopped on exit)".
var privateDB = regexp.MustCompile(`database: private PostgreSQL (\S+) in (.+) \(port \d+`)

// serverProc is one `factflow serve` process.
type serverProc struct {
	cmd       *exec.Cmd
	pid       int
	execAt    time.Time
	logPath   string
	serving   chan time.Time // receives when the serving line appears
	described chan struct{}  // closed when the database line appears
	exited    chan struct{}  // closed once the process has been waited for
	waitErr   error
	mu        sync.Mutex
	url       string
	dbLine    string
	pgVersion string
	cluster   string // private cluster dir, when the server runs one
	stopOnce  sync.Once
	stopRes   stopResult
}

// stopResult is how a server ended.
type stopResult struct {
	Took     time.Duration // SIGTERM to exit
	Killed   bool          // it needed SIGKILL
	ExitCode int
}

// startServer execs `bin serve --embedded --port 0 --data-dir dataDir` with
// env. Its stderr goes to logPath. The caller must call stop.
func startServer(bin, dataDir string, env []string, logPath string) (*serverProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating server log: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor
	pr, pw := io.Pipe()
	cmd := exec.Command(bin, "serve", "--embedded", "--port", "0", "--data-dir", dataDir)
	cmd.Env = env
	cmd.Stdout = pw
	cmd.Stderr = logf
	// The server stops gracefully (and with it its PostgreSQL) should this
	// process die without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// A grandchild that inherited stdout must not hold up Wait.
	cmd.WaitDelay = 5 * time.Second
	s := &serverProc{cmd: cmd, logPath: logPath, serving: make(chan time.Time, 1),
		described: make(chan struct{}), exited: make(chan struct{})}

	s.execAt = time.Now()
	if err := cmd.Start(); err != nil {
		_ = pw.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s.pid = cmd.Process.Pid
	go s.readStdout(pr)
	go func() {
		s.waitErr = cmd.Wait()
		_ = pw.Close()
		close(s.exited)
	}()
	return s, nil
}

func (s *serverProc) readStdout(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		now := time.Now()
		s.mu.Lock()
		switch {
		case strings.HasPrefix(line, servingPrefix) && s.url == "":
			s.url = strings.TrimSpace(strings.TrimPrefix(line, servingPrefix))
			s.serving <- now
		case strings.Contains(line, "database:") && s.dbLine == "":
			s.dbLine = strings.TrimSpace(line)
			if m := privateDB.FindStringSubmatch(line); m != nil {
				s.pgVersion, s.cluster = m[1], m[2]
			}
			close(s.described)
		}
		s.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// waitDescribed waits for the database line, which the server prints just
// after the serving line: a health check may answer before it is read.
func (s *serverProc) waitDescribed(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-s.described:
		return nil
	case <-s.exited:
		return fmt.Errorf("the server exited before printing its database (%v)%s", s.waitErr, s.logTail())
	case <-ctx.Done():
		return fmt.Errorf("no database line after the serving line: %w", ctx.Err())
	}
}

// info returns what the server printed: its URL, its database line and the
// private cluster's directory and version (empty without one).
func (s *serverProc) info() (url, dbLine, cluster, pgVersion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url, s.dbLine, s.cluster, s.pgVersion
}

// waitHealthy waits for the serving line, then polls the health endpoint
// until it answers 200 "healthy". It returns both times since exec.
func (s *serverProc) waitHealthy(ctx context.Context, timeout time.Duration) (serving, healthy time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case t := <-s.serving:
		serving = t.Sub(s.execAt)
	case <-s.exited:
		return 0, 0, fmt.Errorf("the server exited before serving (%v)%s", s.waitErr, s.logTail())
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("no serving line within %s: %w%s", timeout, ctx.Err(), s.logTail())
	}
	url, _, _, _ := s.info()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	last := ""
	for {
		status, err := healthStatus(ctx, client, url)
		if err == nil && status == "healthy" {
			return serving, time.Since(s.execAt), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "status " + status
		}
		select {
		case <-s.exited:
			return 0, 0, fmt.Errorf("the server exited before it was healthy (%v)%s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("not healthy within %s (last: %s): %w%s", timeout, last, ctx.Err(), s.logTail())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// healthStatus asks GET /api/v1/system/health; a non-200 answer is an error.
func healthStatus(ctx context.Context, client *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/system/health", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return "", fmt.Errorf("decoding health (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return h.Status, fmt.Errorf("health answered HTTP %d, status %q", resp.StatusCode, h.Status)
	}
	return h.Status, nil
}

// stop sends SIGTERM and waits for the exit, escalating to SIGKILL after
// timeout. Safe to call more than once; later calls return the first result.
func (s *serverProc) stop(timeout time.Duration) stopResult {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			s.stopRes = stopResult{ExitCode: s.cmd.ProcessState.ExitCode()}
			return
		default:
		}
		t0 := time.Now()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(timeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopRes.Killed = true
		}
		s.stopRes.Took = time.Since(t0)
		s.stopRes.ExitCode = s.cmd.ProcessState.ExitCode()
	})
	return s.stopRes
}

// logTail is the end of the server's stderr, for error messages.
func (s *serverProc) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nserver log (" + filepath.Base(s.logPath) + ", last lines):\n" + string(bytes.Join(lines, []byte("\n")))
}

// serverEnv is this process's environment without what would change how
// the server starts (DATABASE_URL, FACTFLOW_* settings), plus extra.
// FACTFLOW_PG_BIN stays: it only says where PostgreSQL's binaries are.
func serverEnv(docker bool, noDocker string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "DATABASE_URL":
		case strings.HasPrefix(k, "FACTFLOW_") && k != "FACTFLOW_PG_BIN":
		case k == "DOCKER_HOST" && !docker:
		default:
			env = append(env, kv)
		}
	}
	if !docker {
		env = append(env, "DOCKER_HOST=unix://"+noDocker)
	}
	return append(env, extra...)
}

// errNotPrivate: an embedded start did not run a private cluster.
var errNotPrivate = errors.New("the server did not report a private PostgreSQL cluster")
