package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/factflow/factflow/bench/internal/serveproc"
	"github.com/factflow/factflow/store"
)

// benchPipeline is the execution the requests read: small, finishing at once.
const benchPipeline = `version: "1.0"
routes:
  expand:
    inbound: { queue: q.expand }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: q.work } ]
  work:
    inbound: { queue: q.work, concurrency: 2 }
    adapters: [ { type: noop } ]
init_message:
  route: expand
  payload:
    urls: [ { url: "https://x.test/1" }, { url: "https://x.test/2" }, { url: "https://x.test/3" } ]
`

// prepareExecution stores the bench pipeline, runs it and waits until it
// has completed; it returns the execution's id.
func prepareExecution(ctx context.Context, base, name string) (string, error) {
	c := serveproc.Client{Base: base, HTTP: &http.Client{Timeout: 30 * time.Second}}
	defer c.HTTP.CloseIdleConnections()
	create := map[string]any{"name": name, "config_yaml": benchPipeline, "description": "bench/server"}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/configs", create, http.StatusCreated, nil); err != nil {
		return "", fmt.Errorf("creating the config: %w", err)
	}
	var ex store.Execution
	if err := c.Do(ctx, http.MethodPost, "/api/v1/configs/"+url.PathEscape(name)+"/run", map[string]any{}, http.StatusCreated, &ex); err != nil {
		return "", fmt.Errorf("running the config: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if err := c.Do(ctx, http.MethodGet, "/api/v1/executions/"+ex.ID, nil, http.StatusOK, &ex); err != nil {
			return "", err
		}
		switch ex.Status {
		case store.StatusCompleted:
			return ex.ID, nil
		case store.StatusFailed, store.StatusCancelled, store.StatusInterrupted:
			return "", fmt.Errorf("the bench execution %s ended %s: %v", ex.ID, ex.Status, ex.ErrorInfo)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the bench execution %s did not complete (status %s): %w", ex.ID, ex.Status, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sqlExecutionGet and scanExecution mirror what the store reads, so the
// bare handler returns the same row the API does.
const sqlExecutionGet = `SELECT id, config_id, config_name, status, tag, config_snapshot, root_correlation_id,
parent_execution_id, replay_source, metadata, error_info, idempotency_key, created_at, started_at,
completed_at, updated_at, owner_id FROM executions WHERE id = $1`

func scanExecution(row pgx.Row) (*store.Execution, error) {
	var (
		e                                        store.Execution
		configID, tag, root, parent, idem, owner *string
		snapshot, replay, meta, errorInfo        []byte
		status                                   string
	)
	if err := row.Scan(&e.ID, &configID, &e.ConfigName, &status, &tag, &snapshot, &root, &parent, &replay,
		&meta, &errorInfo, &idem, &e.CreatedAt, &e.StartedAt, &e.CompletedAt, &e.UpdatedAt, &owner); err != nil {
		return nil, err
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	e.Status = store.ExecutionStatus(status)
	e.ConfigID, e.Tag, e.RootCorrelationID = deref(configID), deref(tag), deref(root)
	e.ParentExecutionID, e.IdempotencyKey, e.OwnerID = deref(parent), deref(idem), deref(owner)
	if len(snapshot) > 0 {
		e.ConfigSnapshot = snapshot
	}
	if len(replay) > 0 {
		e.ReplaySource = replay
	}
	for _, f := range []struct {
		raw []byte
		dst *map[string]any
	}{{meta, &e.Metadata}, {errorInfo, &e.ErrorInfo}} {
		if len(f.raw) > 0 {
			if err := json.Unmarshal(f.raw, f.dst); err != nil {
				return nil, err
			}
		}
	}
	return &e, nil
}

// bareServer is the baseline: net/http, pgxpool and encoding/json, nothing
// else.
type bareServer struct {
	pool *pgxpool.Pool
	srv  *http.Server
	url  string
	done chan error
}

// bareMaxConns matches the server's pool (store.Options defaults).
const bareMaxConns = 10

func startBareServer(ctx context.Context, dbURL string) (*bareServer, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the database URL: %w", err)
	}
	cfg.MaxConns = bareMaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening the bare server's pool: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/executions/{id}", func(w http.ResponseWriter, r *http.Request) {
		e, err := scanExecution(pool.QueryRow(r.Context(), sqlExecutionGet, r.PathValue("id")))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			http.Error(w, "not found", http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(e)
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("listening: %w", err)
	}
	b := &bareServer{
		pool: pool,
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		url:  "http://" + ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() { b.done <- b.srv.Serve(ln) }()
	return b, nil
}

func (b *bareServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	<-b.done
	b.pool.Close()
}

// loader is a load generator for one target: keep-alive clients of their
// own, so connections persist across its runs.
type loader struct {
	url string
	// auth is the Authorization header value sent with every request
	// (empty: none).
	auth   string
	client *http.Client
}

func newLoader(target, bearer string, concurrency int) *loader {
	tr := &http.Transport{
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		MaxConnsPerHost:     concurrency,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	l := &loader{url: target, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	if bearer != "" {
		l.auth = "Bearer " + bearer
	}
	return l
}

func (l *loader) close() { l.client.CloseIdleConnections() }

// loadOutcome is one load run.
type loadOutcome struct {
	requests int64
	errors   int64
	firstErr string
	elapsed  time.Duration
	lat      []int64 // sorted, nanoseconds, of successful requests
	bytes    int64   // body bytes of one answer
}

// run keeps concurrency clients requesting the target back to back for d:
// each issues its next request as soon as the previous answer is read.
// Requests still in flight at the end are waited for and counted.
func (l *loader) run(ctx context.Context, concurrency int, d time.Duration) (loadOutcome, error) {
	var (
		wg       sync.WaitGroup
		errCount atomic.Int64
		bodySize atomic.Int64
		firstErr sync.Once
		out      loadOutcome
	)
	lats := make([][]int64, concurrency)
	start := time.Now()
	deadline := start.Add(d)
	for i := range concurrency {
		wg.Go(func() {
			lat := make([]int64, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				n, err := l.get(ctx)
				if err != nil {
					errCount.Add(1)
					firstErr.Do(func() { out.firstErr = err.Error() })
					continue
				}
				lat = append(lat, int64(time.Since(t)))
				bodySize.Store(n)
			}
			lats[i] = lat
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return out, err
	}
	for _, l := range lats {
		out.lat = append(out.lat, l...)
	}
	slices.Sort(out.lat)
	out.requests = int64(len(out.lat))
	out.errors = errCount.Load()
	out.bytes = bodySize.Load()
	if out.requests == 0 {
		return out, fmt.Errorf("no request succeeded (%d errors; first: %s)", out.errors, out.firstErr)
	}
	return out, nil
}

// get fetches the target once and returns the body's length.
func (l *loader) get(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		return 0, err
	}
	if l.auth != "" {
		req.Header.Set("Authorization", l.auth)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return n, nil
}

// endpoint is a URL and the bearer token it needs (empty: none).
type endpoint struct {
	url, bearer string
}

// fetchJSON GETs e and decodes the answer, which must be 200.
func fetchJSON(ctx context.Context, e endpoint) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url, nil)
	if err != nil {
		return nil, err
	}
	if e.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+e.bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", e.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", e.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", e.url, resp.StatusCode, bytes.TrimSpace(b))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("GET %s: decoding the answer: %w", e.url, err)
	}
	return m, nil
}

// sameExecution checks that every endpoint returns the same row as the
// first, so all variants do the same work.
func sameExecution(ctx context.Context, eps ...endpoint) error {
	var first map[string]any
	for i, e := range eps {
		m, err := fetchJSON(ctx, e)
		if err != nil {
			return err
		}
		if i == 0 {
			first = m
			continue
		}
		for _, k := range []string{"id", "status", "config_name", "config_snapshot", "created_at", "completed_at"} {
			ja, _ := json.Marshal(first[k])
			jb, _ := json.Marshal(m[k])
			if !bytes.Equal(ja, jb) {
				return fmt.Errorf("%s and %s disagree on %q: %s vs %s", eps[0].url, e.url, k, ja, jb)
			}
		}
	}
	return nil
}

// requiresToken checks that target refuses a request without credentials
// with 401, so the token variant measures a server that authenticates.
func requiresToken(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s without a token: %w", target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("GET %s without a token answered HTTP %d, want 401: the server does not authenticate", target, resp.StatusCode)
	}
	return nil
}
