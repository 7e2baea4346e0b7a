package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/factflow/factflow/bench/internal/hostload"
	"github.com/factflow/factflow/bench/internal/serveproc"
	"github.com/factflow/factflow/store"
)

// shutdownYAML is the loaded pipeline, shipped adapters only: the init
// message's URL list fans out into one fetch per page.
func shutdownYAML(fetchConcurrency int) string {
	return fmt.Sprintf(`version: "1.0"
description: Reliability benchmark, SIGTERM under load
defaults:
  error_handling: { max_retries: 2, retry_delay: 1s, backoff: exponential, dead_letter: true }
routes:
  expand:
    inbound: { queue: rel.expand, concurrency: 1 }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: rel.fetch } ]
  fetch:
    inbound: { queue: rel.fetch, concurrency: %d, prefetch: %d }
    adapters:
      - type: web_scraper
        config: { ignore_robots: true, requests_per_second: 1000, max_requests_per_second: 1000, burst: 100, timeout: 20s }
    outbound: [ { queue: rel.done } ]
  done:
    inbound: { queue: rel.done, concurrency: 4 }
    adapters: [ { type: noop } ]
init_message: { route: expand, payload: { urls: [] } }
`, fetchConcurrency, 2*fetchConcurrency)
}

// pageServer answers every page after a delay and counts the requests it
// began, so the harness sees whether fetches start after the signal.
type pageServer struct {
	srv     *http.Server
	url     string
	delay   time.Duration
	started atomic.Int64
}

func startPageServer(delay time.Duration) (*pageServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the page server: %w", err)
	}
	p := &pageServer{url: "http://" + ln.Addr().String(), delay: delay}
	body := []byte("<!doctype html><html><head><title>Page</title></head><body><main><h1>Page</h1><p>" +
		strings.Repeat("Reliability benchmark page text. ", 30) + "</p></main></body></html>")
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		p.started.Add(1)
		select {
		case <-time.After(p.delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *pageServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

func (p *pageServer) urls(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/page/%d", p.url, i)
	}
	return out
}

// routeCounts is the part of GET /executions/{id}/stats a round reads.
type routeCounts struct {
	Route     string `json:"route_id"`
	Completed int64  `json:"completed"`
	InFlight  int64  `json:"in_flight"`
}

type execStats struct {
	Status string        `json:"status"`
	Routes []routeCounts `json:"routes"`
}

func (s execStats) route(name string) routeCounts {
	for _, r := range s.Routes {
		if r.Route == name {
			return r
		}
	}
	return routeCounts{Route: name}
}

// shutdownResult is one SIGTERM, as written to the CSV.
type shutdownResult struct {
	Round int
	// Fetched and InFlight are the fetch route's completed and in-flight
	// counts in the last stats read before the signal.
	Fetched, InFlight int64
	// Took runs from SIGTERM to the process's exit.
	Took     time.Duration
	ExitCode int
	Killed   bool
	// Status and DeadLetters are the execution's, read from the database
	// after the exit.
	Status      store.ExecutionStatus
	DeadLetters int
	// LateRequests counts page requests that began after the signal.
	LateRequests int64
	Load1        float64
}

// ok says whether the stop was clean.
func (r shutdownResult) ok() bool {
	return !r.Killed && r.ExitCode == 0 && r.Status == store.StatusInterrupted && r.DeadLetters == 0
}

// shutdownOnce starts the server on a fresh database and data dir, runs the
// loaded pipeline until pages flow, sends SIGTERM and checks the aftermath.
func (h *harness) shutdownOnce(ctx context.Context, round int, pages *pageServer) (res shutdownResult, err error) {
	res = shutdownResult{Round: round}
	dbURL, drop, err := h.newDatabase(ctx, "factflow_bench_rel_sig_")
	if err != nil {
		return res, err
	}
	defer drop()
	dataDir := filepath.Join(h.root, fmt.Sprintf("serve-%d", round))
	logPath := filepath.Join(h.root, "logs", fmt.Sprintf("serve-%d.log", round))
	extra := []string{"DATABASE_URL=" + dbURL}
	if h.cfg.Budget > 0 {
		extra = append(extra, "FACTFLOW_SHUTDOWN_TIMEOUT="+h.cfg.Budget.String())
	}
	s, err := serveproc.Start(h.bin, dataDir, serveproc.Env(extra...), logPath, nil)
	if err != nil {
		return res, err
	}
	defer func() {
		if s.Stop(h.cfg.StopTimeout).Killed && err == nil {
			err = errors.New("the server had to be killed")
		}
	}()
	base, _, err := s.WaitServing(ctx, h.cfg.StartTimeout)
	if err != nil {
		return res, err
	}
	c := serveproc.Client{Base: base, HTTP: &http.Client{Timeout: 30 * time.Second}}
	defer c.HTTP.CloseIdleConnections()
	name := "bench-reliability"
	if err := c.Do(ctx, http.MethodPost, "/api/v1/configs",
		map[string]any{"name": name, "config_yaml": shutdownYAML(h.cfg.FetchConcurrency), "description": "bench/reliability"},
		http.StatusCreated, nil); err != nil {
		return res, fmt.Errorf("creating the config: %w%s", err, s.LogTail())
	}
	var ex store.Execution
	if err := c.Do(ctx, http.MethodPost, "/api/v1/executions",
		map[string]any{"config_id": name, "payload": map[string]any{"urls": pages.urls(h.cfg.Pages)}},
		http.StatusCreated, &ex); err != nil {
		return res, fmt.Errorf("starting the execution: %w%s", err, s.LogTail())
	}

	// Pages flow once the fetch route has completed Flowing of them with
	// more in flight.
	flow := time.Duration(2*(h.cfg.Flowing/h.cfg.FetchConcurrency+1)) * h.cfg.PageDelay
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute+flow)
	defer cancel()
	for {
		var st execStats
		if err := c.Do(wctx, http.MethodGet, "/api/v1/executions/"+ex.ID+"/stats", nil, http.StatusOK, &st); err != nil {
			return res, fmt.Errorf("waiting for pages to flow: %w%s", err, s.LogTail())
		}
		f := st.route("fetch")
		res.Fetched, res.InFlight = f.Completed, f.InFlight
		if f.Completed >= int64(h.cfg.Flowing) && f.InFlight > 0 {
			break
		}
		if st.Status != string(store.StatusRunning) && st.Status != string(store.StatusPending) {
			return res, fmt.Errorf("the execution is %s before pages flowed (%d fetched)", st.Status, f.Completed)
		}
		select {
		case <-wctx.Done():
			return res, fmt.Errorf("pages did not flow (%d fetched, %d in flight): %w", f.Completed, f.InFlight, wctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	c.HTTP.CloseIdleConnections()

	res.Load1 = hostload.LoadAvg1()
	before := pages.started.Load()
	stop := s.Stop(h.cfg.StopTimeout)
	res.Took, res.ExitCode, res.Killed = stop.Took, stop.ExitCode, stop.Killed
	res.LateRequests = pages.started.Load() - before
	if res.Status, res.DeadLetters, err = executionAftermath(ctx, dbURL, ex.ID); err != nil {
		return res, err
	}

	note := ""
	if !res.ok() {
		note = "  NOT CLEAN" + s.LogTail()
	}
	fmt.Fprintf(h.log, "round %-2d shutdown  %5d pages fetched, %3d in flight at SIGTERM → exit %d after %7.3f s  execution %s, %d dead letters, %d page requests after the signal%s\n",
		round, res.Fetched, res.InFlight, res.ExitCode, res.Took.Seconds(), res.Status, res.DeadLetters, res.LateRequests, note)
	return res, nil
}

// executionAftermath reads the execution's status and dead letters from
// the database the server used.
func executionAftermath(ctx context.Context, dbURL, id string) (store.ExecutionStatus, int, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", 0, fmt.Errorf("connecting to the round's database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var status string
	var dl int
	if err := conn.QueryRow(ctx, `SELECT status, (SELECT count(*) FROM dead_letters WHERE execution_id = $1)
FROM executions WHERE id = $1`, id).Scan(&status, &dl); err != nil {
		return "", 0, fmt.Errorf("reading execution %s: %w", id, err)
	}
	return store.ExecutionStatus(status), dl, nil
}
