package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
)

// Defaults of the client's global flags.
const (
	defaultServerURL   = "http://127.0.0.1:8000"
	defaultCallTimeout = 30 * time.Second
	defaultWaitTimeout = time.Hour
)

// addClientFlags adds the flags every client command shares. They carry no
// shorthands so that subcommands stay free to use one-letter flags.
func addClientFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.String("server", envOr("FACTFLOW_URL", defaultServerURL), "URL of the Factflow server [FACTFLOW_URL]")
	f.String("output", "table", "output format of client commands: table, json or yaml")
	f.Duration("timeout", 0, "how long one request may take (default 30s); for wait and watch, the longest to wait (default 1h)")
	// The environment is read in newClient, not here: a default would be
	// printed by --help.
	f.String("token", "", "API token sent as \"Authorization: Bearer\" [FACTFLOW_TOKEN]")
}

// clientToken is --token, else FACTFLOW_TOKEN. The value is never put into
// an error: it is a secret.
func clientToken(cmd *cobra.Command) (string, error) {
	token, _ := cmd.Flags().GetString("token")
	if !cmd.Flags().Changed("token") {
		token = os.Getenv("FACTFLOW_TOKEN")
	}
	token = strings.TrimSpace(token)
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", withExit(exitUsage, errors.New("the API token (--token or FACTFLOW_TOKEN) contains spaces or control characters"))
	}
	return token, nil
}

// client talks to the Factflow HTTP API.
type client struct {
	base      string // server URL without a trailing slash
	http      *http.Client
	timeout   time.Duration // bounds each plain call
	userAgent string
	output    string
	token     string // sent as a bearer token when set; never printed
}

// newClient reads the global flags of cmd.
func newClient(cmd *cobra.Command) (*client, error) {
	output, _ := cmd.Flags().GetString("output")
	return newClientWithOutput(cmd, output)
}

func newClientWithOutput(cmd *cobra.Command, output string) (*client, error) {
	server, _ := cmd.Flags().GetString("server")
	timeout, _ := cmd.Flags().GetDuration("timeout")
	switch output {
	case "table", "json", "yaml":
	default:
		return nil, withExit(exitUsage, fmt.Errorf("unknown --output %q; use table, json or yaml", output))
	}
	if timeout < 0 {
		return nil, withExit(exitUsage, fmt.Errorf("--timeout %s is negative", timeout))
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, withExit(exitUsage, fmt.Errorf("--server %q is not an http(s) URL such as %s", server, defaultServerURL))
	}
	if timeout == 0 {
		timeout = defaultCallTimeout
	}
	token, err := clientToken(cmd)
	if err != nil {
		return nil, err
	}
	return &client{
		base:      strings.TrimRight(server, "/"),
		http:      &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		timeout:   timeout,
		userAgent: userAgent(),
		output:    output,
		token:     token,
	}, nil
}

// waitTimeout is the bound of a wait or watch: --timeout when given.
func waitTimeout(cmd *cobra.Command) time.Duration {
	if d, _ := cmd.Flags().GetDuration("timeout"); d > 0 {
		return d
	}
	return defaultWaitTimeout
}

func userAgent() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "factflow-cli/" + v
}

// apiError is an error the server reported.
type apiError struct {
	problem api.Problem
}

func (e *apiError) Error() string {
	p := e.problem
	var b strings.Builder
	code := p.ErrorCode
	if code == "" {
		code = fmt.Sprintf("HTTP_%d", p.Status)
	}
	b.WriteString(code)
	detail := p.Detail
	if detail == "" {
		detail = p.Title
	}
	if r := p.ValidationReport; r != nil && len(r.Findings) > 0 {
		// The findings follow in full, with their remediation.
		detail = fmt.Sprintf("invalid pipeline: %s, %s", countOf(r.ErrorCount, "error"), countOf(r.WarningCount, "warning"))
	}
	if detail != "" {
		b.WriteString(": " + detail)
	}
	for _, d := range p.Errors {
		b.WriteString("; ")
		if d.Location != "" {
			b.WriteString(d.Location + ": ")
		}
		b.WriteString(d.Message)
	}
	if p.Hint != "" {
		b.WriteString(" (hint: " + p.Hint + ")")
	}
	if r := p.ValidationReport; r != nil {
		for _, f := range r.Findings {
			b.WriteString("\n  " + f.String())
			if f.Remediation != "" {
				b.WriteString(" (" + f.Remediation + ")")
			}
		}
	}
	return b.String()
}

// code is the stable error code, for callers that react to one.
func (e *apiError) code() string { return e.problem.ErrorCode }

func isAPIError(err error, code string) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.code() == code
}

// unreachableError means no answer came from the server.
type unreachableError struct {
	server string
	err    error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Factflow server at %s: %v (hint: start one with `factflow serve`, or point --server or FACTFLOW_URL at it)", e.server, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// exitFor maps an error of a client call to the process exit code.
func exitFor(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if ctx.Err() != nil {
		return withExit(exitInterrupted, errors.New("interrupted"))
	}
	var ue *unreachableError
	if errors.As(err, &ue) {
		return withExit(exitUnreachable, err)
	}
	return withExit(exitFailed, err)
}

// endpoint is the URL of an API path; the path's segments must already be
// escaped (see seg).
func (c *client) endpoint(path string, query url.Values) string {
	u := c.base + api.BasePath + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// seg escapes one path segment ("/" included, as storage keys need).
func seg(s string) string { return url.PathEscape(s) }

// send performs a request and returns the response when its status is
// 2xx; otherwise the server's problem as an *apiError. The caller closes
// the body. ctx alone bounds the request.
func (c *client) send(ctx context.Context, method, path string, query url.Values, body any, header http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, query), rd)
	if err != nil {
		return nil, withExit(exitUsage, fmt.Errorf("building the request: %w", err))
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json, application/problem+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, err // interrupted: the caller's context says so
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = errors.New("no answer in time (raise --timeout if the server is busy)")
		}
		return nil, &unreachableError{server: c.base, err: stripURL(err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readProblem(resp)
}

// stripURL drops the request line of a *url.Error: the server URL is
// already in the message.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func readProblem(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var p api.Problem
	if err := json.Unmarshal(raw, &p); err != nil || (p.ErrorCode == "" && p.Title == "" && p.Detail == "") {
		// Not one of ours: a proxy or another server answered.
		text := strings.TrimSpace(string(raw))
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		if text == "" {
			text = http.StatusText(resp.StatusCode)
		}
		p = api.Problem{Status: resp.StatusCode, Detail: text, Hint: "is --server pointing at a Factflow server?"}
	}
	if p.Status == 0 {
		p.Status = resp.StatusCode
	}
	if p.Hint == "" {
		p.Hint = authHint(p.Status)
	}
	return &apiError{problem: p}
}

// authHint says what a client can do about a refusal when the server
// gave no hint of its own.
func authHint(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "pass --token or set FACTFLOW_TOKEN"
	case http.StatusForbidden:
		return "the token lacks the scope this operation needs; use one with a wider scope (factflow token create --scope)"
	}
	return ""
}

// call performs a plain JSON call bounded by --timeout and decodes the
// answer into out (unless out is nil).
func (c *client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.send(ctx, method, path, query, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return &unreachableError{server: c.base, err: errors.New("the answer did not arrive in time")}
		}
		return fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
	}
	return nil
}

func (c *client) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.call(ctx, http.MethodGet, path, query, nil, out)
}

// download copies the raw body of GET path to w.
func (c *client) download(ctx context.Context, path string, w io.Writer) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("downloading %s: %w", path, err)
	}
	return n, nil
}

// readArg reads a file argument; "-" is stdin.
func readArg(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, withExit(exitUsage, fmt.Errorf("reading stdin: %w", err))
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, withExit(exitUsage, err)
	}
	return b, nil
}

// pageQuery is the query of a paginated list.
func pageQuery(limit, offset int) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if offset > 0 {
		q.Set("offset", fmt.Sprint(offset))
	}
	return q
}

func addPageFlags(c *cobra.Command, limit, offset *int) {
	c.Flags().IntVar(limit, "limit", 0, "items per page (server default when 0)")
	c.Flags().IntVar(offset, "offset", 0, "items to skip")
}

// withClient adapts the body of a client command to cobra's RunE, building
// the client from the command's flags first.
func withClient(fn func(cmd *cobra.Command, cl *client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cl, err := newClient(cmd)
		if err != nil {
			return err
		}
		return fn(cmd, cl, args)
	}
}
