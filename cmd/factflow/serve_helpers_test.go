package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var serveURLRe = regexp.MustCompile(`(?m)^Factflow is serving on (http://\S+)$`)

// serveProc is a running `factflow serve` process.
type serveProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer
	url     string
	waited  chan struct{}
	waitErr error
}

// startServe starts the binary's serve command and waits for the line that
// says where it serves.
func startServe(t *testing.T, bin string, env []string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, waited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.WaitDelay = 10 * time.Second
	require.NoError(t, p.cmd.Start())
	go func() { p.waitErr = p.cmd.Wait(); close(p.waited) }()
	t.Cleanup(func() {
		select {
		case <-p.waited:
		default: // the test failed while the server still runs
			_ = p.cmd.Process.Kill()
			<-p.waited
		}
	})
	waitFor(t, 2*time.Minute, "the server's URL line", func() bool {
		p.requireRunning()
		// The URL line and the two lines after it are printed together.
		out := p.stdout.String()
		if m := serveURLRe.FindStringSubmatch(out); m != nil && strings.Contains(out, "\n  database: ") {
			p.url = m[1]
			return true
		}
		return false
	})
	return p
}

func (p *serveProc) output() runResult {
	code := -1
	if p.cmd.ProcessState != nil {
		code = p.cmd.ProcessState.ExitCode()
	}
	return runResult{code: code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

func (p *serveProc) requireRunning() {
	p.t.Helper()
	select {
	case <-p.waited:
		p.t.Fatalf("the server exited: %v\n%s", p.waitErr, p.output())
	default:
	}
}

// stop sends sig and waits for the process to exit.
func (p *serveProc) stop(sig os.Signal) runResult {
	p.t.Helper()
	p.signal(sig)
	return p.wait()
}

func (p *serveProc) signal(sig os.Signal) {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
}

// wait waits for the process to exit after a signal.
func (p *serveProc) wait() runResult {
	p.t.Helper()
	select {
	case <-p.waited:
	case <-time.After(90 * time.Second):
		p.t.Fatalf("the server did not exit within 90s of a signal\n%s", p.output())
	}
	res := p.output()
	require.NotContains(p.t, res.stderr, "WARNING: DATA RACE", res)
	require.NotContains(p.t, res.stderr, "panic", res)
	return res
}

// kill ends the process as a crash would: no shutdown at all.
func (p *serveProc) kill() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Kill())
	<-p.waited
}

// call sends a JSON request to the server's API and decodes a JSON answer
// into out (when not nil); it returns the HTTP status.
func (p *serveProc) call(method, path string, body, out any) int {
	p.t.Helper()
	return serveCall(p.t, method, p.url+path, body, out)
}

func serveCall(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s answered %d: %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// healthOf reads GET /api/v1/system/health.
func healthOf(t *testing.T, base string) (status int, overall string, components map[string]string) {
	t.Helper()
	var h struct {
		Status     string `json:"status"`
		Components []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"components"`
	}
	status = serveCall(t, http.MethodGet, base+"/api/v1/system/health", nil, &h)
	components = map[string]string{}
	for _, c := range h.Components {
		components[c.Name] = c.Status
	}
	return status, h.Status, components
}
