package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/store"
)

// Options say where the metrics are read from.
type Options struct {
	// Manager is required: route metrics are read from its executions.
	Manager *orchestrator.Manager
	// DB feeds factflow_dlq_depth and factflow_executions (nil: absent).
	DB *store.DB
	// Lineage feeds factflow_lineage_flush_seconds (nil: absent, e.g. with
	// lineage off).
	Lineage *store.LineageWriter
	// Latency feeds factflow_route_latency_seconds; it must be the sink
	// the orchestrator writes lineage through (nil: the histogram is
	// registered but never observed).
	Latency *LatencySink
	// CacheTTL bounds how often a scrape queries the database (default 5s).
	CacheTTL time.Duration
	Logger   *slog.Logger
}

// Metrics is the registry behind /metrics. Close it to stop following
// the event bus.
type Metrics struct {
	reg         *prometheus.Registry
	httpTotal   *prometheus.CounterVec
	httpSeconds *prometheus.HistogramVec
	routes      *routeCollector
	stopBus     func()
	busDone     chan struct{}
	closeOnce   sync.Once
}

// New registers every metric and starts following the manager's event
// bus for executions that finish between scrapes.
func New(opts Options) (*Metrics, error) {
	if opts.Manager == nil {
		return nil, errors.New("metrics: a manager is required")
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "factflow_http_requests_total",
			Help: "HTTP API requests by operation id and response status.",
		}, []string{"operation", "status"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "factflow_http_request_seconds",
			Help:    "HTTP API request duration by operation id (event streams last as long as they stay open).",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation"}),
		routes: &routeCollector{
			m:       opts.Manager,
			db:      opts.DB,
			log:     opts.Logger,
			base:    map[string]orchestrator.RouteStats{},
			tracked: map[string]*orchestrator.Execution{},
			folded:  map[string]bool{},
		},
		busDone: make(chan struct{}),
	}
	latency := opts.Latency
	if latency == nil {
		latency = NewLatencySink(nil)
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpTotal, m.httpSeconds, m.routes, latency,
	}
	if opts.DB != nil {
		cs = append(cs, &dbCollector{db: opts.DB, ttl: opts.CacheTTL, log: opts.Logger})
	}
	if w := opts.Lineage; w != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "factflow_lineage_flush_seconds",
			Help: "Duration of the lineage writer's last flush to PostgreSQL.",
		}, func() float64 { return w.Stats().LastFlushDuration.Seconds() }))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Only status changes: the stage events of every message are never
	// asked for. An execution is tracked as it starts, so its counters
	// are read even if it ends between two scrapes, and folded into the
	// totals as it ends. The buffer absorbs bursts of starts and ends.
	ch, stop := opts.Manager.Bus().Subscribe(1024, false, func(ev store.ExecutionEvent) bool {
		return ev.Type == store.EventStatus && (ev.Status == store.StatusRunning || final(ev.Status))
	})
	m.stopBus = stop
	go func() {
		defer close(m.busDone)
		for ev := range ch {
			m.routes.observe(ev)
		}
	}()
	return m, nil
}

// Close stops following the event bus. Idempotent.
func (m *Metrics) Close() {
	m.closeOnce.Do(func() {
		m.stopBus()
		<-m.busDone
	})
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveHTTP records one finished API request. operation is the
// operation id, so the label set stays as small as the API.
func (m *Metrics) ObserveHTTP(operation string, status int, d time.Duration) {
	m.httpTotal.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	m.httpSeconds.WithLabelValues(operation).Observe(d.Seconds())
}

// final reports whether an execution has stopped running in this process.
func final(s store.ExecutionStatus) bool {
	return s.Terminal() || s == store.StatusInterrupted
}

var (
	routeMessagesDesc = prometheus.NewDesc("factflow_route_messages_total",
		"Messages per route by outcome, over every execution this process ran.",
		[]string{"route", "status"}, nil)
	inflightDesc = prometheus.NewDesc("factflow_queue_inflight",
		"Messages of a route being handled now.", []string{"route"}, nil)
	breakerDesc = prometheus.NewDesc("factflow_breaker_state",
		"Circuit breaker of an adapter step of a route in a running execution: 0 closed, 1 half-open, 2 open (routes with circuit_breaker only).",
		[]string{"execution", "route", "adapter"}, nil)
	concurrencyLimitDesc = prometheus.NewDesc("factflow_route_concurrency_limit",
		"Adaptive concurrency limit of a route in a running execution (routes with backpressure.target_latency only).",
		[]string{"execution", "route"}, nil)
	dlqDesc = prometheus.NewDesc("factflow_dlq_depth",
		"Dead letters in the store not requeued yet.", nil, nil)
	executionsDesc = prometheus.NewDesc("factflow_executions",
		"Executions in the database by status.", []string{"status"}, nil)
)

// routeCollector sums route counters over running executions (read live)
// and finished ones (folded into base once, when they end).
type routeCollector struct {
	m   *orchestrator.Manager
	db  *store.DB
	log *slog.Logger

	mu   sync.Mutex
	base map[string]orchestrator.RouteStats
	// tracked are executions seen running and not folded yet; their
	// counters are still read from them after they left the manager.
	tracked map[string]*orchestrator.Execution
	// folded are executions already in base that the manager may still
	// list for a moment; they are forgotten once it no longer does.
	folded map[string]bool
}

func (c *routeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- routeMessagesDesc
	ch <- inflightDesc
	ch <- breakerDesc
	ch <- concurrencyLimitDesc
}

func (c *routeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	totals := make(map[string]orchestrator.RouteStats, len(c.base))
	for r, s := range c.base {
		totals[r] = s
	}
	inflight := map[string]int64{}
	var limits []prometheus.Metric
	var breakers []prometheus.Metric
	// Read under c.mu so that no older list of running executions can
	// bring back one that was folded and forgotten meanwhile.
	running := map[string]bool{}
	for _, ex := range c.m.Running() {
		running[ex.ID] = true
		if !c.folded[ex.ID] {
			c.tracked[ex.ID] = ex
		}
	}
	for id := range c.folded {
		if !running[id] {
			delete(c.folded, id)
		}
	}
	for _, ex := range c.tracked {
		for _, rs := range ex.Stats().Routes {
			totals[rs.Route] = totals[rs.Route].Plus(rs)
			if running[ex.ID] {
				inflight[rs.Route] += rs.InFlight
				if rs.ConcurrencyLimit > 0 {
					limits = append(limits, prometheus.MustNewConstMetric(concurrencyLimitDesc,
						prometheus.GaugeValue, float64(rs.ConcurrencyLimit), ex.ID, rs.Route))
				}
				breakers = append(breakers, breakerMetrics(ex.ID, rs)...)
			}
		}
	}
	c.mu.Unlock()

	for r, s := range totals {
		for _, v := range []struct {
			status string
			n      int64
		}{
			{"received", s.Received}, {"completed", s.Completed}, {"failed", s.Failed},
			{"retried", s.Retried}, {"dead_lettered", s.DeadLettered}, {"skipped", s.Skipped},
			{"duplicates", s.Duplicates}, {"emitted", s.Emitted},
		} {
			ch <- prometheus.MustNewConstMetric(routeMessagesDesc, prometheus.CounterValue, float64(v.n), r, v.status)
		}
	}
	for _, l := range limits {
		ch <- l
	}
	for _, b := range breakers {
		ch <- b
	}
	for r, n := range inflight {
		ch <- prometheus.MustNewConstMetric(inflightDesc, prometheus.GaugeValue, float64(n), r)
	}
}

// breakerMetrics are the breaker gauges of one route of a running
// execution. The adapter label is the step's name; a name used twice in
// the route gets its step index, so no two series collide.
func breakerMetrics(execution string, rs orchestrator.RouteStats) []prometheus.Metric {
	names := make(map[string]int, len(rs.Breakers))
	for _, b := range rs.Breakers {
		names[b.Stage]++
	}
	out := make([]prometheus.Metric, 0, len(rs.Breakers))
	for _, b := range rs.Breakers {
		adapter := b.Stage
		if names[adapter] > 1 {
			adapter = fmt.Sprintf("%s#%d", adapter, b.Index)
		}
		var v float64
		switch b.State {
		case orchestrator.BreakerHalfOpen:
			v = 1
		case orchestrator.BreakerOpen:
			v = 2
		}
		out = append(out, prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, v, execution, rs.Route, adapter))
	}
	return out
}

// observe tracks an execution that starts and folds one that ended.
func (c *routeCollector) observe(ev store.ExecutionEvent) {
	if final(ev.Status) {
		c.fold(ev.ExecutionID)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ex, ok := c.m.Get(ev.ExecutionID); ok && !c.folded[ex.ID] {
		c.tracked[ex.ID] = ex
	}
}

// fold moves a finished execution's final counters into base.
func (c *routeCollector) fold(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.folded[id] {
		return
	}
	ex, ok := c.tracked[id]
	if !ok {
		ex, ok = c.m.Get(id)
	}
	var routes []orchestrator.RouteStats
	switch {
	case ok:
		// The final status is announced after every route stopped and
		// its handlers returned, so these counters no longer move.
		routes = ex.Stats().Routes
	case c.db != nil:
		// It started and ended between two looks: its final counters are
		// in its record.
		routes = c.recorded(id)
	}
	for _, rs := range routes {
		c.base[rs.Route] = c.base[rs.Route].Plus(rs)
	}
	delete(c.tracked, id)
	c.folded[id] = true
}

func (c *routeCollector) recorded(id string) []orchestrator.RouteStats {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := c.db.Executions().Get(ctx, id)
	if err != nil {
		c.log.Warn("metrics: reading the counters of a finished execution", "execution_id", id, "error", err)
		return nil
	}
	routes := orchestrator.RoutesFrom(e.ErrorInfo["routes"])
	if routes == nil {
		c.log.Warn("metrics: no readable counters in the record of a finished execution", "execution_id", id)
	}
	return routes
}

// dbCollector serves database-derived gauges from a cache refreshed at
// most once per ttl, so frequent scrapes do not load PostgreSQL.
type dbCollector struct {
	db  *store.DB
	ttl time.Duration
	log *slog.Logger

	mu         sync.Mutex
	at         time.Time
	ok         bool
	dlq        int64
	executions map[string]int64
}

var executionStatuses = []store.ExecutionStatus{
	store.StatusPending, store.StatusRunning, store.StatusCompleted, store.StatusFailed,
	store.StatusCancelling, store.StatusCancelled, store.StatusInterrupted,
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dlqDesc
	ch <- executionsDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= c.ttl {
		c.refresh()
	}
	if !c.ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(dlqDesc, prometheus.GaugeValue, float64(c.dlq))
	for _, s := range executionStatuses {
		ch <- prometheus.MustNewConstMetric(executionsDesc, prometheus.GaugeValue, float64(c.executions[string(s)]), string(s))
	}
}

func (c *dbCollector) refresh() {
	c.at = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pool := c.db.Pool()
	var dlq int64
	// Requeued rows stay as records; only pending ones are depth.
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE requeued_at IS NULL`).Scan(&dlq); err != nil {
		c.fail(err)
		return
	}
	rows, err := pool.Query(ctx, `SELECT status, count(*) FROM executions GROUP BY status`)
	if err != nil {
		c.fail(err)
		return
	}
	defer rows.Close()
	byStatus := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			c.fail(err)
			return
		}
		byStatus[s] = n
	}
	if err := rows.Err(); err != nil {
		c.fail(err)
		return
	}
	c.ok, c.dlq, c.executions = true, dlq, byStatus
}

// fail leaves the database gauges out until the next refresh: a stale
// depth would read as a real one.
func (c *dbCollector) fail(err error) {
	c.ok = false
	c.log.Warn("metrics: reading dead-letter depth and execution counts", "error", err)
}

// LatencySink is an orchestrator.LineageSink that observes each lineage
// row's duration in factflow_route_latency_seconds{route} and hands the row
// on. Placed in front of the lineage writer it times every adapter step
// of every message without touching the engine.
type LatencySink struct {
	next orchestrator.LineageSink
	hist *prometheus.HistogramVec
}

// NewLatencySink returns a sink forwarding to next (nil: rows are only
// observed).
func NewLatencySink(next orchestrator.LineageSink) *LatencySink {
	return &LatencySink{next: next, hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "factflow_route_latency_seconds",
		Help:    "Duration of one adapter step of a message, by route.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"route"})}
}

// Append observes e and forwards it.
func (s *LatencySink) Append(e store.LineageEntry) {
	s.hist.WithLabelValues(e.RouteID).Observe(e.DurationMS / 1000)
	if s.next != nil {
		s.next.Append(e)
	}
}

// Flush forwards to the next sink when it can flush, so the engine's
// flush before a final status still reaches the writer.
func (s *LatencySink) Flush(ctx context.Context) error {
	if f, ok := s.next.(interface{ Flush(context.Context) error }); ok {
		return f.Flush(ctx)
	}
	return nil
}

func (s *LatencySink) Describe(ch chan<- *prometheus.Desc) { s.hist.Describe(ch) }
func (s *LatencySink) Collect(ch chan<- prometheus.Metric) { s.hist.Collect(ch) }
