package api

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/server/appconfig"
	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/storage"
)

// Health statuses.
const (
	healthy   = "healthy"
	degraded  = "degraded"
	unhealthy = "unhealthy"
)

type healthInput struct {
	Debug bool `query:"debug" doc:"Add per-component details: pool statistics, broker reconnects and last message age, running executions, lineage writer and event bus counters"`
}

func (a *API) registerSystem() {
	health := op(http.MethodGet, "/system/health", "get-system-health",
		"Health of the server and every component it depends on", "system")
	health.Description = "Probes the database, storage, orchestrator and broker with a short deadline each. " +
		"The overall status is the worst component status. With debug=true each component carries details " +
		"(database pool statistics, broker state with reconnects and last message age, storage probe time, " +
		"running executions, event bus drops) and the lineage writer appears as its own component."
	huma.Register(a.huma, health,
		func(ctx context.Context, in *healthInput) (*struct{ Body Health }, error) {
			// Probes may ask without credentials; the details (pool
			// sizes, broker state) are for readers.
			if in.Debug {
				if _, refusal := auth.Check(ctx, auth.Read); refusal != nil {
					return nil, problem(refusal.Status, refusal.Code, "debug=true "+refusal.Msg, refusal.Hint)
				}
			}
			return &struct{ Body Health }{Body: a.health(ctx, in.Debug)}, nil
		})
	a.registerSystemInfo()
	a.registerMQDiagnostic()
}

// health probes each component with a short deadline so one hung
// dependency cannot hang the probe; debug adds each one's details.
func (a *API) health(ctx context.Context, debug bool) Health {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	probe := func(name string, fn func() (string, string, any)) HealthComponent {
		start := time.Now()
		status, msg, details := fn()
		return HealthComponent{Name: name, Status: status, Message: msg, Details: details,
			CheckedAt: time.Now().UTC(), LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	}
	comps := []HealthComponent{
		probe("database", func() (string, string, any) {
			start := time.Now()
			err := a.opts.DB.Ping(ctx)
			var details any
			if debug {
				details = a.databaseDebug(time.Since(start))
			}
			if err != nil {
				return unhealthy, err.Error(), details
			}
			return healthy, "", details
		}),
		probe("storage", func() (string, string, any) {
			start := time.Now()
			uri := appconfig.RedactURL(a.opts.Storage.URI())
			var probeErr error
			for _, err := range a.opts.Storage.List(ctx, "", storage.ListOptions{Limit: 1}) {
				if err != nil {
					probeErr = err
					break
				}
			}
			var details any
			if debug {
				details = StorageDebug{URI: uri, ProbeMS: ms(time.Since(start))}
			}
			if probeErr != nil {
				return unhealthy, probeErr.Error(), details
			}
			return healthy, uri, details
		}),
		probe("orchestrator", func() (string, string, any) {
			running := a.opts.Manager.Running()
			n := len(running)
			var details any = map[string]any{"running": n}
			if debug {
				details = a.orchestratorDebug(running)
			}
			return healthy, fmt.Sprintf("%d executions running", n), details
		}),
	}
	if a.opts.Queue != nil {
		comps = append(comps, probe("queue", func() (string, string, any) {
			h := a.opts.Queue.Health(ctx)
			var details any = h
			if debug {
				details = queueDebug(h)
			}
			switch h.State {
			case queue.Healthy:
				return healthy, h.Provider, details
			case queue.Degraded, queue.Reconnecting:
				return degraded, h.Detail, details
			default:
				return unhealthy, h.Detail, details
			}
		}))
	}
	if debug && a.opts.Lineage != nil {
		comps = append(comps, probe("lineage", func() (string, string, any) {
			st := a.opts.Lineage.Stats()
			if st.Unavailable {
				return degraded, "database unavailable; rows are buffered or spilled: " + st.LastError, st
			}
			return healthy, "", st
		}))
	}
	overall := healthy
	for _, c := range comps {
		switch {
		case c.Status == unhealthy:
			overall = unhealthy
		case c.Status == degraded && overall == healthy:
			overall = degraded
		}
	}
	return Health{Status: overall, Version: a.opts.Version, Components: comps,
		Timestamp: time.Now().UTC(), UptimeSeconds: time.Since(a.opts.StartedAt).Seconds()}
}

func (a *API) adapterInfo(typ string) (Adapter, bool) {
	s, ok := a.opts.Registry.Lookup(typ)
	if !ok {
		return Adapter{}, false
	}
	out := Adapter{Type: s.Type, Category: s.Category, Summary: s.Summary, Description: s.Description,
		Reads: s.Reads, Writes: s.Writes, Emits: s.Emits, Example: builtin.Example(s)}
	if s.Config != nil {
		out.ConfigSchema = configspec.Schema(s.Config)
	}
	return out, true
}

func (a *API) registerAdapters() {
	huma.Register(a.huma, op(http.MethodGet, "/adapters", "list-adapters",
		"Adapter types with their config JSON Schemas", "adapters"),
		func(_ context.Context, _ *struct{}) (*struct{ Body AdapterList }, error) {
			types := a.opts.Registry.Types()
			sort.Strings(types)
			out := AdapterList{Items: make([]Adapter, 0, len(types))}
			for _, t := range types {
				if ad, ok := a.adapterInfo(t); ok {
					out.Items = append(out.Items, ad)
				}
			}
			out.Total = len(out.Items)
			return &struct{ Body AdapterList }{Body: out}, nil
		})

	type typeInput struct {
		Type string `path:"type" maxLength:"200"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/adapters/{type}", "get-adapter",
		"One adapter type: docs and config JSON Schema", "adapters"),
		func(_ context.Context, in *typeInput) (*struct{ Body Adapter }, error) {
			ad, ok := a.adapterInfo(in.Type)
			if !ok {
				return nil, problem(http.StatusNotFound, CodeAdapterNotFound,
					fmt.Sprintf("no adapter type %q", in.Type), "GET /api/v1/adapters lists the types")
			}
			return &struct{ Body Adapter }{Body: ad}, nil
		})
}

// useMetrics times every operation under its operation id: the raw path
// would carry ids and make one series per execution.
func (a *API) useMetrics() {
	m := a.opts.Metrics
	if m == nil {
		return
	}
	a.huma.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		start := time.Now()
		next(ctx)
		status := ctx.Status()
		if status == 0 {
			status = http.StatusOK
		}
		m.ObserveHTTP(ctx.Operation().OperationID, status, time.Since(start))
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// DatabaseDebug is the database component's debug detail.
type DatabaseDebug struct {
	TotalConns    int32   `json:"total_conns"`
	IdleConns     int32   `json:"idle_conns"`
	AcquiredConns int32   `json:"acquired_conns"`
	MaxConns      int32   `json:"max_conns"`
	PingMS        float64 `json:"ping_ms"`
}

// QueueDebug is the queue component's debug detail.
type QueueDebug struct {
	queue.Health
	// LastMessageAgeSeconds is how long ago this process last received
	// a message (absent when it has received none).
	LastMessageAgeSeconds *float64 `json:"last_message_age_seconds,omitempty"`
}

// StorageDebug is the storage component's debug detail.
type StorageDebug struct {
	URI     string  `json:"uri"`
	ProbeMS float64 `json:"probe_ms"`
}

// RunningExecution is one execution in the orchestrator's debug detail.
type RunningExecution struct {
	ID             string  `json:"id"`
	ConfigName     string  `json:"config_name,omitempty"`
	Tag            string  `json:"tag,omitempty"`
	Status         string  `json:"status"`
	Outstanding    int     `json:"outstanding" doc:"Messages published and not yet settled"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Breakers are the circuit breakers of the execution's routes that
	// have them.
	Breakers []BreakerDebug `json:"breakers,omitempty"`
}

// BreakerDebug is the state of the circuit breaker of one adapter step.
type BreakerDebug struct {
	Route    string `json:"route"`
	Adapter  string `json:"adapter"`
	Index    int    `json:"index" doc:"Adapter step index within the route"`
	State    string `json:"state" enum:"closed,half-open,open"`
	Requests uint32 `json:"requests" doc:"Calls counted in the current window (closed) or since half-open"`
	Failures uint32 `json:"failures"`
	Deferred int64  `json:"deferred" doc:"Messages sent back to the queue while the breaker was open"`
}

// OrchestratorDebug is the orchestrator component's debug detail.
type OrchestratorDebug struct {
	Running       int                `json:"running"`
	MaxConcurrent int                `json:"max_concurrent,omitempty"`
	Executions    []RunningExecution `json:"executions"`
	// EventBusDropped counts events lost to slow subscribers (SSE
	// streams catch up from the timeline).
	EventBusDropped int64 `json:"event_bus_dropped"`
}

func (a *API) databaseDebug(ping time.Duration) DatabaseDebug {
	st := a.opts.DB.Pool().Stat()
	return DatabaseDebug{TotalConns: st.TotalConns(), IdleConns: st.IdleConns(),
		AcquiredConns: st.AcquiredConns(), MaxConns: st.MaxConns(), PingMS: ms(ping)}
}

func queueDebug(h queue.Health) QueueDebug {
	out := QueueDebug{Health: h}
	if !h.LastMessageAt.IsZero() {
		age := time.Since(h.LastMessageAt).Seconds()
		out.LastMessageAgeSeconds = &age
	}
	return out
}

func (a *API) orchestratorDebug(running []*orchestrator.Execution) OrchestratorDebug {
	out := OrchestratorDebug{Running: len(running), MaxConcurrent: a.opts.MaxConcurrentExecutions,
		Executions: make([]RunningExecution, 0, len(running)), EventBusDropped: a.opts.Manager.Bus().Dropped()}
	for _, ex := range running {
		st := ex.Stats()
		re := RunningExecution{ID: ex.ID, ConfigName: ex.ConfigName, Tag: ex.Tag,
			Status: st.Status, Outstanding: st.Outstanding, ElapsedSeconds: st.Elapsed.Seconds()}
		for _, rs := range st.Routes {
			for _, b := range rs.Breakers {
				re.Breakers = append(re.Breakers, BreakerDebug{Route: rs.Route, Adapter: b.Adapter, Index: b.Index,
					State: b.State, Requests: b.Requests, Failures: b.Failures, Deferred: b.Deferred})
			}
		}
		out.Executions = append(out.Executions, re)
	}
	return out
}

// SystemInfo answers GET /system/info. It never carries a secret: every
// URL is shown with its password masked.
type SystemInfo struct {
	Version               string          `json:"version"`
	GoVersion             string          `json:"go_version"`
	InstanceID            string          `json:"instance_id,omitempty"`
	StartedAt             time.Time       `json:"started_at"`
	UptimeSeconds         float64         `json:"uptime_seconds"`
	Providers             SystemProviders `json:"providers"`
	Limits                SystemLimits    `json:"limits"`
	Adapters              int             `json:"adapters" doc:"Adapter types registered"`
	PipelineSchemaVersion string          `json:"pipeline_schema_version"`
}

// SystemProviders names the services the server runs on.
type SystemProviders struct {
	Queue    QueueProvider    `json:"queue"`
	Storage  StorageProvider  `json:"storage"`
	Database DatabaseProvider `json:"database"`
	// LLM lists the LLM profiles (never their keys) and how each limits
	// its concurrency now.
	LLM []llm.ProfileInfo `json:"llm,omitempty"`
	// PgVector says whether vector features (embeddings, semantic search,
	// chat retrieval) are available.
	PgVector bool `json:"pgvector"`
}

// QueueProvider is the configured broker.
type QueueProvider struct {
	Provider string `json:"provider" example:"nats"`
	URL      string `json:"url" doc:"Broker URL with its password masked; \"embedded\" for the in-process broker"`
}

// StorageProvider is the configured artefact store.
type StorageProvider struct {
	URI string `json:"uri"`
}

// DatabaseProvider is the PostgreSQL connection.
type DatabaseProvider struct {
	URL string `json:"url" doc:"Connection string with its password masked"`
}

// SystemLimits are the limits requests and executions run under.
type SystemLimits struct {
	MaxConcurrentExecutions int     `json:"max_concurrent_executions,omitempty"`
	MaxBodyBytes            int64   `json:"max_body_bytes"`
	SSEHeartbeatSeconds     float64 `json:"sse_heartbeat_seconds"`
}

func (a *API) registerSystemInfo() {
	info := op(http.MethodGet, "/system/info", "get-system-info",
		"Version, providers and limits of this server", "system")
	info.Description = "What this server is and runs on: build and Go version, instance id, uptime, " +
		"the queue, storage and database providers (URLs with passwords masked), request and execution limits, " +
		"the number of adapter types and the pipeline YAML schema version."
	huma.Register(a.huma, info,
		func(ctx context.Context, _ *struct{}) (*struct{ Body SystemInfo }, error) {
			return &struct{ Body SystemInfo }{Body: a.systemInfo(ctx)}, nil
		})
}

func (a *API) systemInfo(ctx context.Context) SystemInfo {
	out := SystemInfo{
		Version:       a.opts.Version,
		GoVersion:     runtime.Version(),
		InstanceID:    a.opts.InstanceID,
		StartedAt:     a.opts.StartedAt.UTC(),
		UptimeSeconds: time.Since(a.opts.StartedAt).Seconds(),
		Providers: SystemProviders{
			Storage:  StorageProvider{URI: appconfig.RedactURL(a.opts.Storage.URI())},
			Database: DatabaseProvider{URL: appconfig.RedactURL(a.opts.DB.Pool().Config().ConnString())},
		},
		Limits: SystemLimits{
			MaxConcurrentExecutions: a.opts.MaxConcurrentExecutions,
			MaxBodyBytes:            a.opts.MaxBodyBytes,
			SSEHeartbeatSeconds:     a.opts.HeartbeatInterval.Seconds(),
		},
		Adapters:              len(a.opts.Registry.Types()),
		PipelineSchemaVersion: pipeline.SchemaVersion,
	}
	if a.opts.LLM != nil {
		out.Providers.LLM = a.opts.LLM.Profiles()
		for i := range out.Providers.LLM {
			out.Providers.LLM[i].BaseURL = appconfig.RedactURL(out.Providers.LLM[i].BaseURL)
		}
	}
	if a.opts.Vectors != nil {
		out.Providers.PgVector = a.opts.Vectors.Available()
	}
	if a.opts.Queue != nil {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		out.Providers.Queue.Provider = a.opts.Queue.Health(hctx).Provider
		cancel()
		out.Providers.Queue.URL = "embedded"
		if a.opts.QueueURL != "" {
			out.Providers.Queue.URL = appconfig.RedactURL(a.opts.QueueURL)
		}
	}
	return out
}

// MQDiagnosticRequest is the body of POST /system/mq-diagnostic.
type MQDiagnosticRequest struct {
	MessageCount   int `json:"message_count,omitempty" minimum:"0" maximum:"1000" doc:"Messages to publish and consume (1-1000; default 10)"`
	PayloadBytes   int `json:"payload_bytes,omitempty" minimum:"0" maximum:"1048576" doc:"Body size of each message (default 1024, at most 1 MiB)"`
	TimeoutSeconds int `json:"timeout_seconds,omitempty" minimum:"0" maximum:"120" doc:"Budget of the whole round trip (default 10, at most 120)"`
}

// MQDiagnosticStep is one entry of a diagnostic's timeline.
type MQDiagnosticStep struct {
	Step   string  `json:"step" enum:"connect,subscribe,publish_first,publish_all,first_receive,all_received,receive,cleanup"`
	AtMS   float64 `json:"at_ms" doc:"Milliseconds since the diagnostic began"`
	Detail string  `json:"detail,omitempty"`
}

// MQDiagnostic answers POST /system/mq-diagnostic. A broker failure is a
// result, not a server error: ok is false and failed_step names where
// the round trip broke.
type MQDiagnostic struct {
	OK         bool               `json:"ok"`
	Provider   string             `json:"provider"`
	Scope      string             `json:"scope" doc:"Throwaway execution scope the queues lived in; deleted afterwards"`
	Published  int                `json:"published"`
	Received   int                `json:"received" doc:"Distinct messages received"`
	Duplicates int                `json:"duplicates" doc:"Deliveries of a message already received"`
	Lost       int                `json:"lost" doc:"Published messages not received within the timeout"`
	LatencyP50 float64            `json:"latency_p50_ms"`
	LatencyP99 float64            `json:"latency_p99_ms"`
	DurationMS float64            `json:"duration_ms"`
	FailedStep string             `json:"failed_step,omitempty"`
	Error      string             `json:"error,omitempty"`
	Timeline   []MQDiagnosticStep `json:"timeline"`
}

// CodeQueueNotConfigured: the server runs without a broker.
const CodeQueueNotConfigured = "QUEUE_NOT_CONFIGURED"

func (a *API) registerMQDiagnostic() {
	o := op(http.MethodPost, "/system/mq-diagnostic", "run-mq-diagnostic",
		"Publish/consume round trip on the configured broker", "system")
	o.Description = "Checks the broker's health, subscribes to a throwaway queue in a scope of its own " +
		"(diag-<uuid>), publishes message_count messages of payload_bytes each, consumes and acks them, " +
		"and deletes the scope again. The answer is 200 whatever the broker did: ok=false with failed_step " +
		"and error says where the round trip broke (connect, subscribe, publish_first, publish_all, receive). " +
		"Running executions are not touched."
	huma.Register(a.huma, o,
		func(ctx context.Context, in *struct {
			Body *MQDiagnosticRequest `required:"false"`
		}) (*struct{ Body MQDiagnostic }, error) {
			if a.opts.Queue == nil {
				return nil, problem(http.StatusServiceUnavailable, CodeQueueNotConfigured,
					"this server has no queue provider", "start the server with a broker")
			}
			req := MQDiagnosticRequest{}
			if in.Body != nil {
				req = *in.Body
			}
			return &struct{ Body MQDiagnostic }{Body: runMQDiagnostic(ctx, a.opts.Queue, req)}, nil
		})
}

// runMQDiagnostic does the round trip. Every wait is bounded by the
// request's timeout and the caller's context; the subscription is closed
// and the scope deleted on every path.
func runMQDiagnostic(ctx context.Context, q queue.Provider, req MQDiagnosticRequest) (out MQDiagnostic) {
	if req.MessageCount <= 0 {
		req.MessageCount = 10
	}
	if req.PayloadBytes <= 0 {
		req.PayloadBytes = 1024
	}
	if req.TimeoutSeconds <= 0 {
		req.TimeoutSeconds = 10
	}
	begin := time.Now()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(req.TimeoutSeconds)*time.Second)
	defer cancel()
	out = MQDiagnostic{Scope: "diag-" + uuid.NewString(), Timeline: []MQDiagnosticStep{}}
	step := func(name, detail string) {
		out.Timeline = append(out.Timeline, MQDiagnosticStep{Step: name, AtMS: ms(time.Since(begin)), Detail: detail})
	}
	fail := func(name string, err error) MQDiagnostic {
		out.OK, out.FailedStep, out.Error = false, name, err.Error()
		step(name, "failed: "+err.Error())
		out.Lost = out.Published - out.Received
		out.DurationMS = ms(time.Since(begin))
		return out
	}

	h := q.Health(ctx)
	out.Provider = h.Provider
	if h.State != queue.Healthy {
		return fail("connect", fmt.Errorf("broker is %s: %s", h.State, h.Detail))
	}
	step("connect", fmt.Sprintf("%s %s, %d reconnects so far", h.Provider, h.State, h.ReconnectAttempts))

	dst := queue.Destination{Execution: out.Scope, Queue: "diagnostic"}
	// The scope goes even when the request was cancelled: it must not
	// outlive the diagnostic on the broker.
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer ccancel()
		if err := q.DeleteScope(cctx, out.Scope); err != nil {
			step("cleanup", "deleting the scope failed: "+err.Error())
			return
		}
		step("cleanup", "scope deleted")
		out.DurationMS = ms(time.Since(begin))
	}()

	rec := newReceipts(req.MessageCount)
	sub, err := q.Subscribe(ctx, dst, queue.SubscribeOptions{Concurrency: 4, Group: "factflow-diagnostic"},
		func(_ context.Context, d queue.Delivery) queue.Outcome {
			rec.add(d.ID)
			return queue.Ack()
		})
	if err != nil {
		return fail("subscribe", err)
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer ccancel()
		_ = sub.Close(cctx) // nothing unsettled matters: the scope is deleted next
	}()
	step("subscribe", dst.String())

	body := make([]byte, req.PayloadBytes)
	for i := range body {
		body[i] = 'x'
	}
	for i := range req.MessageCount {
		id := uuid.NewString()
		rec.sent(id)
		if err := q.Publish(ctx, dst, queue.Message{ID: id, Headers: map[string]string{}, Body: body}); err != nil {
			rec.unsend(id)
			if i == 0 {
				return fail("publish_first", err)
			}
			return fail("publish_all", fmt.Errorf("after %d messages: %w", i, err))
		}
		out.Published++
		if i == 0 {
			step("publish_first", "")
		}
	}
	step("publish_all", fmt.Sprintf("%d messages of %d bytes", out.Published, req.PayloadBytes))

	select {
	case <-rec.first:
		step("first_receive", "")
	case <-ctx.Done():
		out.Received, out.Duplicates = rec.counts()
		return fail("receive", fmt.Errorf("no message came back within %ds: %w", req.TimeoutSeconds, ctx.Err()))
	}
	select {
	case <-rec.all:
	case <-ctx.Done():
		out.Received, out.Duplicates = rec.counts()
		return fail("receive", fmt.Errorf("%d of %d messages came back within %ds: %w",
			out.Received, out.Published, req.TimeoutSeconds, ctx.Err()))
	}
	out.Received, out.Duplicates = rec.counts()
	step("all_received", fmt.Sprintf("%d messages", out.Received))
	out.LatencyP50, out.LatencyP99 = rec.percentiles()
	out.OK = true
	out.DurationMS = ms(time.Since(begin))
	return out
}

// receipts track which published messages came back and how fast.
type receipts struct {
	mu        sync.Mutex
	want      int
	sentAt    map[string]time.Time
	latencies []time.Duration
	seen      map[string]bool
	dups      int
	first     chan struct{}
	all       chan struct{}
}

func newReceipts(n int) *receipts {
	return &receipts{want: n, sentAt: make(map[string]time.Time, n), seen: make(map[string]bool, n),
		first: make(chan struct{}), all: make(chan struct{})}
}

func (r *receipts) sent(id string) {
	r.mu.Lock()
	r.sentAt[id] = time.Now()
	r.mu.Unlock()
}

func (r *receipts) unsend(id string) {
	r.mu.Lock()
	delete(r.sentAt, id)
	r.mu.Unlock()
}

func (r *receipts) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[id] {
		r.dups++
		return
	}
	at, ok := r.sentAt[id]
	if !ok {
		return // not ours: the scope is fresh, so this cannot happen
	}
	r.seen[id] = true
	r.latencies = append(r.latencies, time.Since(at))
	if len(r.seen) == 1 {
		close(r.first)
	}
	if len(r.seen) == r.want {
		close(r.all)
	}
}

func (r *receipts) counts() (received, duplicates int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen), r.dups
}

func (r *receipts) percentiles() (p50, p99 float64) {
	r.mu.Lock()
	l := slices.Clone(r.latencies)
	r.mu.Unlock()
	if len(l) == 0 {
		return 0, 0
	}
	slices.Sort(l)
	at := func(q float64) float64 { return ms(l[int(q*float64(len(l)-1))]) }
	return at(0.50), at(0.99)
}
