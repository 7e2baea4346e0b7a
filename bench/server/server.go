package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/factflow/factflow/bench/internal/serveproc"
)

// privateDB matches the database line of a server running a private cluster:
// "  database: private PostgreSQL 15 in /dir (port 5433, stopped on exit)".
var privateDB = regexp.MustCompile(`database: private PostgreSQL (\S+) in (.+) \(port \d+`)

// serverProc is one `factflow serve` process and what it said about its
// database.
type serverProc struct {
	*serveproc.Proc
	described chan struct{} // closed when the database line appears
	mu        sync.Mutex
	dbLine    string
	pgVersion string
	cluster   string // private cluster dir, when the server runs one
	stopOnce  sync.Once
	stopRes   stopResult
}

// stopResult is how a server ended.
type stopResult = serveproc.StopResult

// startServer execs `bin serve --embedded --port 0 --data-dir dataDir` with
// env. Its stderr goes to logPath. The caller must call stop.
func startServer(bin, dataDir string, env []string, logPath string) (*serverProc, error) {
	s := &serverProc{described: make(chan struct{})}
	p, err := serveproc.Start(bin, dataDir, env, logPath, s.readLine)
	if err != nil {
		return nil, err
	}
	s.Proc = p
	return s, nil
}

// readLine takes the database line from the server's stdout.
func (s *serverProc) readLine(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(line, "database:") && s.dbLine == "" {
		s.dbLine = strings.TrimSpace(line)
		if m := privateDB.FindStringSubmatch(line); m != nil {
			s.pgVersion, s.cluster = m[1], m[2]
		}
		close(s.described)
	}
}

// waitDescribed waits for the database line, which the server prints just
// after the serving line: a health check may answer before it is read.
func (s *serverProc) waitDescribed(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-s.described:
		return nil
	case <-s.Exited():
		return fmt.Errorf("the server exited before printing its database (%v)%s", s.WaitErr(), s.LogTail())
	case <-ctx.Done():
		return fmt.Errorf("no database line after the serving line: %w", ctx.Err())
	}
}

// info returns what the server printed: its URL, its database line and the
// private cluster's directory and version (empty without one).
func (s *serverProc) info() (url, dbLine, cluster, pgVersion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.URL(), s.dbLine, s.cluster, s.pgVersion
}

// waitHealthy waits for the serving line, then polls the health endpoint
// until it answers 200 "healthy". It returns both times since exec.
func (s *serverProc) waitHealthy(ctx context.Context, timeout time.Duration) (serving, healthy time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url, at, err := s.WaitServing(ctx, timeout)
	if err != nil {
		return 0, 0, err
	}
	serving = at.Sub(s.ExecAt())
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	last := ""
	for {
		status, err := healthStatus(ctx, client, url)
		if err == nil && status == "healthy" {
			return serving, time.Since(s.ExecAt()), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "status " + status
		}
		select {
		case <-s.Exited():
			return 0, 0, fmt.Errorf("the server exited before it was healthy (%v)%s", s.WaitErr(), s.LogTail())
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("not healthy within %s (last: %s): %w%s", timeout, last, ctx.Err(), s.LogTail())
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
	s.stopOnce.Do(func() { s.stopRes = s.Stop(timeout) })
	return s.stopRes
}

// serverEnv is serveproc.Env, and without docker DOCKER_HOST pointing at
// noDocker, so no container database can be started.
func serverEnv(docker bool, noDocker string, extra ...string) []string {
	env := serveproc.Env()
	if !docker {
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "DOCKER_HOST=") })
		env = append(env, "DOCKER_HOST=unix://"+noDocker)
	}
	return append(env, extra...)
}

// errNotPrivate: an embedded start did not run a private cluster.
var errNotPrivate = errors.New("the server did not report a private PostgreSQL cluster")
