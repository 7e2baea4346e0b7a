package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/factflow/factflow/queue"
	natsq "github.com/factflow/factflow/queue/nats"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/api/apitest"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/server/metrics"
	"github.com/factflow/factflow/store/storetest"
)

// newSystemEnv serves the API over a real container with everything the
// system endpoints can show: metrics, the lineage writer, the queue URL
// and the concurrency cap. mutateOpts may swap services (e.g. the queue).
func newSystemEnv(t *testing.T, cfg container.Config, mutateOpts ...func(*api.Options)) (*env, *metrics.Metrics) {
	t.Helper()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	if cfg.QueueURL == "" {
		cfg.QueueURL = natsURL
	}
	s := apitest.Start(t, cfg, api.Options{})
	c := s.Container
	m, err := metrics.New(metrics.Options{Manager: c.Manager, DB: c.DB, Lineage: c.Lineage, CacheTTL: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	opts := api.Options{
		DB: c.DB, Manager: c.Manager, Storage: c.Storage, Queue: c.Queue, Registry: c.Registry,
		InstanceID: c.Instance.ID, Version: "test", PollInterval: 200 * time.Millisecond,
		Metrics: m, Lineage: c.Lineage, QueueURL: cfg.QueueURL, MaxConcurrentExecutions: 7,
	}
	for _, f := range mutateOpts {
		f(&opts)
	}
	a, err := api.New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &env{t: t, c: c, url: srv.URL}, m
}

func component(t *testing.T, h api.Health, name string) map[string]any {
	t.Helper()
	for _, c := range h.Components {
		if c.Name == name {
			raw, err := json.Marshal(c)
			require.NoError(t, err)
			var out map[string]any
			require.NoError(t, json.Unmarshal(raw, &out))
			return out
		}
	}
	t.Fatalf("no component %q in %+v", name, h.Components)
	return nil
}

func TestHealthDebug(t *testing.T) {
	t.Parallel()
	e, _ := newSystemEnv(t, container.Config{})

	var plain api.Health
	e.call(http.MethodGet, "/api/v1/system/health", nil, http.StatusOK, &plain)
	require.Equal(t, "healthy", plain.Status)
	names := []string{}
	for _, c := range plain.Components {
		names = append(names, c.Name)
	}
	require.ElementsMatch(t, []string{"database", "storage", "orchestrator", "queue"}, names)
	require.Nil(t, component(t, plain, "database")["details"], "no pool statistics without debug")

	var h api.Health
	e.call(http.MethodGet, "/api/v1/system/health?debug=true", nil, http.StatusOK, &h)
	require.Equal(t, "healthy", h.Status)

	db := component(t, h, "database")["details"].(map[string]any)
	require.Greater(t, db["total_conns"].(float64), 0.0)
	require.Greater(t, db["max_conns"].(float64), 0.0)
	require.Contains(t, db, "idle_conns")
	require.Contains(t, db, "acquired_conns")
	require.Contains(t, db, "ping_ms")

	q := component(t, h, "queue")["details"].(map[string]any)
	require.Equal(t, "nats", q["provider"])
	require.Equal(t, "healthy", q["state"])
	require.Contains(t, q, "reconnect_attempts")

	st := component(t, h, "storage")["details"].(map[string]any)
	require.True(t, strings.HasPrefix(st["uri"].(string), "file://"), st)
	require.Contains(t, st, "probe_ms")

	orch := component(t, h, "orchestrator")["details"].(map[string]any)
	require.Equal(t, 7.0, orch["max_concurrent"])
	require.Equal(t, 0.0, orch["running"])
	require.Contains(t, orch, "event_bus_dropped")
	require.Empty(t, orch["executions"])

	lin := component(t, h, "lineage")
	require.Equal(t, "healthy", lin["status"])
	require.Contains(t, lin["details"], "written")

	// After a message went through, the broker reports its age.
	e.createConfig("quick", quickPipeline)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run", nil, http.StatusCreated, &ex)
	e.waitStatus(ex.ID, true)
	e.call(http.MethodGet, "/api/v1/system/health?debug=true", nil, http.StatusOK, &h)
	q = component(t, h, "queue")["details"].(map[string]any)
	require.Contains(t, q, "last_message_age_seconds")
	require.GreaterOrEqual(t, q["last_message_age_seconds"].(float64), 0.0)
}

func TestSystemInfoHasNoSecrets(t *testing.T) {
	t.Parallel()
	const secret = "S3cr3t-pw-never-shown"
	// PostgreSQL trusts local connections here, so the password is
	// accepted and ignored; it must still never be shown.
	dbURL, err := url.Parse(storetest.URL(t))
	require.NoError(t, err)
	dbURL.User = url.UserPassword(dbURL.User.Username(), secret)
	natsURL, err := url.Parse(os.Getenv("FACTFLOW_TEST_NATS_URL"))
	require.NoError(t, err)
	e, _ := newSystemEnv(t, container.Config{DatabaseURL: dbURL.String()}, func(o *api.Options) {
		// The URL shown is the configured one; this one carries a
		// password too (the connection itself does not use it).
		u := *natsURL
		u.User = url.UserPassword("diag", secret)
		o.QueueURL = u.String()
	})

	r := e.call(http.MethodGet, "/api/v1/system/info", nil, http.StatusOK, nil)
	require.NotContains(t, string(r.body), secret)
	var info api.SystemInfo
	require.NoError(t, json.Unmarshal(r.body, &info))
	require.Equal(t, "test", info.Version)
	require.True(t, strings.HasPrefix(info.GoVersion, "go"), info.GoVersion)
	require.Equal(t, e.c.Instance.ID, info.InstanceID)
	require.False(t, info.StartedAt.IsZero())
	require.Equal(t, "nats", info.Providers.Queue.Provider)
	require.Contains(t, info.Providers.Queue.URL, "diag:")
	require.Contains(t, info.Providers.Database.URL, dbURL.Host)
	require.Contains(t, info.Providers.Database.URL, "postgres")
	require.True(t, strings.HasPrefix(info.Providers.Storage.URI, "file://"))
	require.Equal(t, 7, info.Limits.MaxConcurrentExecutions)
	require.Equal(t, int64(4<<20), info.Limits.MaxBodyBytes)
	require.Equal(t, 15.0, info.Limits.SSEHeartbeatSeconds)
	require.Equal(t, len(e.c.Registry.Types()), info.Adapters)
	require.Positive(t, info.Adapters)
	require.Equal(t, "1.0", info.PipelineSchemaVersion)

	// Nor in the debug health, nor in the metrics.
	r = e.call(http.MethodGet, "/api/v1/system/health?debug=true", nil, http.StatusOK, nil)
	require.NotContains(t, string(r.body), secret)
	r = e.call(http.MethodGet, "/metrics", nil, http.StatusOK, nil)
	require.NotContains(t, string(r.body), secret)
}

func TestMQDiagnosticRoundTrip(t *testing.T) {
	t.Parallel()
	e, _ := newSystemEnv(t, container.Config{})

	var d api.MQDiagnostic
	e.call(http.MethodPost, "/api/v1/system/mq-diagnostic",
		api.MQDiagnosticRequest{MessageCount: 25, PayloadBytes: 2048, TimeoutSeconds: 30}, http.StatusOK, &d)
	require.True(t, d.OK, "%+v", d)
	require.Equal(t, "nats", d.Provider)
	require.Equal(t, 25, d.Published)
	require.Equal(t, 25, d.Received)
	require.Zero(t, d.Lost)
	require.Empty(t, d.FailedStep)
	require.True(t, strings.HasPrefix(d.Scope, "diag-"), d.Scope)
	steps := []string{}
	for i, s := range d.Timeline {
		steps = append(steps, s.Step)
		if i > 0 {
			require.GreaterOrEqual(t, s.AtMS, d.Timeline[i-1].AtMS)
		}
	}
	require.Equal(t, []string{"connect", "subscribe", "publish_first", "publish_all", "first_receive", "all_received", "cleanup"}, steps)
	require.LessOrEqual(t, d.LatencyP50, d.LatencyP99)
	require.Positive(t, d.LatencyP99)

	// The scope is gone from the broker afterwards.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(os.Getenv("FACTFLOW_TEST_NATS_URL"))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.Stream(ctx, "FACTFLOW_"+d.Scope)
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound, "the diagnostic scope was deleted")

	// Defaults with an empty body.
	e.call(http.MethodPost, "/api/v1/system/mq-diagnostic", nil, http.StatusOK, &d)
	require.True(t, d.OK, "%+v", d)
	require.Equal(t, 10, d.Received)

	// Out-of-range input is refused naming the field.
	r := e.do(http.MethodPost, "/api/v1/system/mq-diagnostic", map[string]any{"message_count": 1001})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, string(r.body))
	require.Contains(t, string(r.body), "message_count")
	r = e.do(http.MethodPost, "/api/v1/system/mq-diagnostic", map[string]any{"payload_bytes": 2 << 20})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, string(r.body))
	require.Contains(t, string(r.body), "payload_bytes")
}

func TestMQDiagnosticBrokerDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A real provider whose connection is gone.
	down, err := natsq.New(ctx, natsq.Config{URL: os.Getenv("FACTFLOW_TEST_NATS_URL")})
	require.NoError(t, err)
	require.NoError(t, down.Close(ctx))

	e, _ := newSystemEnv(t, container.Config{}, func(o *api.Options) { o.Queue = down })
	var d api.MQDiagnostic
	e.call(http.MethodPost, "/api/v1/system/mq-diagnostic", api.MQDiagnosticRequest{TimeoutSeconds: 5}, http.StatusOK, &d)
	require.False(t, d.OK)
	require.Equal(t, "connect", d.FailedStep)
	require.Contains(t, d.Error, "closed")
	require.Zero(t, d.Published)
	require.NotEmpty(t, d.Timeline)
	require.Equal(t, "connect", d.Timeline[len(d.Timeline)-1].Step)

	var h api.Health
	e.call(http.MethodGet, "/api/v1/system/health?debug=true", nil, http.StatusOK, &h)
	require.Equal(t, "degraded", h.Status)
}

func TestMetricsAfterAPipeline(t *testing.T) {
	t.Parallel()
	e, _ := newSystemEnv(t, container.Config{})
	e.createConfig("quick", quickPipeline)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run", nil, http.StatusCreated, &ex)
	e.waitStatus(ex.ID, true)

	r := e.do(http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.header.Get("Content-Type"), "text/plain")
	body := string(r.body)
	for _, want := range []string{
		`factflow_route_messages_total{route="expand",status="received"} 1`,
		`factflow_route_messages_total{route="work",status="received"} 3`,
		`factflow_route_messages_total{route="work",status="completed"} 2`,
		`factflow_route_messages_total{route="work",status="dead_lettered"} 1`,
		`factflow_dlq_depth 1`,
		`factflow_executions{status="completed"} 1`,
		`factflow_executions{status="running"} 0`,
		"# TYPE factflow_lineage_flush_seconds gauge",
		`factflow_http_requests_total{operation="run-config",status="201"} 1`,
		`factflow_http_request_seconds_bucket{operation="get-execution",`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, ex.ID, "never a raw path or an id as a label")
}

// The diagnostic releases what it started (its subscription and its
// handlers) on success and when the request is cancelled mid-way.
func TestMQDiagnosticLeaksNothing(t *testing.T) {
	var tracked *trackingProvider
	e, _ := newSystemEnv(t, container.Config{}, func(o *api.Options) {
		tracked = &trackingProvider{Provider: o.Queue, subscribed: make(chan struct{}, 10)}
		o.Queue = tracked
	})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	run := func(ctx context.Context, body string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/api/v1/system/mq-diagnostic", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		return client.Do(req)
	}
	// Warm up: the provider starts its own long-lived goroutines lazily.
	res, err := run(context.Background(), `{"message_count": 5}`)
	require.NoError(t, err)
	res.Body.Close()
	client.CloseIdleConnections()
	<-tracked.subscribed
	ignore := goleak.IgnoreCurrent()

	res, err = run(context.Background(), `{"message_count": 50}`)
	require.NoError(t, err)
	var d api.MQDiagnostic
	require.NoError(t, json.NewDecoder(res.Body).Decode(&d))
	res.Body.Close()
	require.True(t, d.OK, "%+v", d)
	<-tracked.subscribed

	// A client that gives up while the round trip runs.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-tracked.subscribed // the third subscription: this run's
		cancel()
	}()
	if res, err := run(ctx, `{"message_count": 1000, "payload_bytes": 65536}`); err == nil {
		res.Body.Close()
	}
	cancel()
	client.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
	opened, closed := tracked.counts()
	require.Equal(t, 3, opened)
	require.Equal(t, opened, closed, "every diagnostic subscription was closed")
}

// trackingProvider is the real provider, counting the subscriptions made
// through it and those closed again.
type trackingProvider struct {
	queue.Provider
	subscribed     chan struct{}
	mu             sync.Mutex
	opened, closed int
}

func (p *trackingProvider) Subscribe(ctx context.Context, dst queue.Destination, o queue.SubscribeOptions, h queue.Handler) (queue.Subscription, error) {
	sub, err := p.Provider.Subscribe(ctx, dst, o, h)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.opened++
	p.mu.Unlock()
	p.subscribed <- struct{}{}
	return &trackedSub{Subscription: sub, p: p}, nil
}

func (p *trackingProvider) counts() (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opened, p.closed
}

type trackedSub struct {
	queue.Subscription
	p    *trackingProvider
	once sync.Once
}

func (s *trackedSub) Close(ctx context.Context) error {
	s.once.Do(func() {
		s.p.mu.Lock()
		s.p.closed++
		s.p.mu.Unlock()
	})
	return s.Subscription.Close(ctx)
}
