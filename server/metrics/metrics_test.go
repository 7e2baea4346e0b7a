package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/api/apitest"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/server/metrics"
	"github.com/factflow/factflow/store"
)

const onePipeline = `version: "1.0"
routes:
  only:
    inbound: { queue: m.only }
    adapters: [ { type: noop } ]
init_message: { route: only, payload: { n: 1 } }
`

func start(t *testing.T) *apitest.Server {
	t.Helper()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	return apitest.Start(t, container.Config{QueueURL: natsURL}, api.Options{})
}

func post(t *testing.T, url string, body any, out any) {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	res, err := http.Post(url, "application/json", bytes.NewReader(raw))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Less(t, res.StatusCode, 300, url)
	if out != nil {
		require.NoError(t, json.NewDecoder(res.Body).Decode(out))
	}
}

// runOnce runs the config to its end.
func runOnce(t *testing.T, s *apitest.Server, config string) {
	t.Helper()
	var ex api.Execution
	post(t, s.URL+"/api/v1/configs/"+config+"/run", map[string]any{}, &ex)
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(s.URL + "/api/v1/executions/" + ex.ID)
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(res.Body).Decode(&ex))
		res.Body.Close()
		if ex.Status.Terminal() {
			require.Equal(t, store.StatusCompleted, ex.Status)
			return
		}
		require.True(t, time.Now().Before(deadline), "execution %s still %s", ex.ID, ex.Status)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRouteCountersSurviveTheirExecutions(t *testing.T) {
	t.Parallel()
	s := start(t)
	m, err := metrics.New(metrics.Options{Manager: s.Container.Manager, DB: s.Container.DB, CacheTTL: time.Nanosecond})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	post(t, s.URL+"/api/v1/configs", api.ConfigCreate{Name: "one", ConfigYAML: onePipeline}, nil)

	// No scrape while they run: the bus folds them in as they end.
	runOnce(t, s, "one")
	runOnce(t, s, "one")
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP factflow_route_messages_total Messages per route by outcome, over every execution this process ran.
# TYPE factflow_route_messages_total counter
factflow_route_messages_total{route="only",status="completed"} 2
factflow_route_messages_total{route="only",status="dead_lettered"} 0
factflow_route_messages_total{route="only",status="duplicates"} 0
factflow_route_messages_total{route="only",status="emitted"} 0
factflow_route_messages_total{route="only",status="failed"} 0
factflow_route_messages_total{route="only",status="received"} 2
factflow_route_messages_total{route="only",status="retried"} 0
factflow_route_messages_total{route="only",status="skipped"} 0
`), "factflow_route_messages_total"))

	// A third, scraped again: totals only grow.
	runOnce(t, s, "one")
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP factflow_route_messages_total Messages per route by outcome, over every execution this process ran.
# TYPE factflow_route_messages_total counter
factflow_route_messages_total{route="only",status="completed"} 3
factflow_route_messages_total{route="only",status="dead_lettered"} 0
factflow_route_messages_total{route="only",status="duplicates"} 0
factflow_route_messages_total{route="only",status="emitted"} 0
factflow_route_messages_total{route="only",status="failed"} 0
factflow_route_messages_total{route="only",status="received"} 3
factflow_route_messages_total{route="only",status="retried"} 0
factflow_route_messages_total{route="only",status="skipped"} 0
`), "factflow_route_messages_total"))
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP factflow_executions Executions in the database by status.
# TYPE factflow_executions gauge
factflow_executions{status="cancelled"} 0
factflow_executions{status="cancelling"} 0
factflow_executions{status="completed"} 3
factflow_executions{status="failed"} 0
factflow_executions{status="interrupted"} 0
factflow_executions{status="pending"} 0
factflow_executions{status="running"} 0
`), "factflow_executions"))
}

func TestDatabaseGaugesAreCached(t *testing.T) {
	t.Parallel()
	s := start(t)
	db := s.Container.DB
	m, err := metrics.New(metrics.Options{Manager: s.Container.Manager, DB: db, CacheTTL: time.Hour})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	post(t, s.URL+"/api/v1/configs", api.ConfigCreate{Name: "one", ConfigYAML: onePipeline}, nil)
	runOnce(t, s, "one")

	depth := func() float64 {
		families, err := m.Registry().Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() == "factflow_dlq_depth" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("factflow_dlq_depth is missing")
		return 0
	}
	require.Zero(t, depth())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	page, err := db.Executions().List(ctx, store.ExecutionFilter{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, page.Items)
	dl := &store.DeadLetter{ExecutionID: page.Items[0].ID, Route: "only", Queue: "m.only", Payload: []byte(`{}`), Reason: "test"}
	require.NoError(t, db.DeadLetters().Insert(ctx, dl))
	require.Zero(t, depth(), "within the TTL the cached depth is served")

	fresh, err := metrics.New(metrics.Options{Manager: s.Container.Manager, DB: db})
	require.NoError(t, err)
	t.Cleanup(fresh.Close)
	families, err := fresh.Registry().Gather()
	require.NoError(t, err)
	found := false
	for _, f := range families {
		if f.GetName() == "factflow_dlq_depth" {
			require.Equal(t, 1.0, f.GetMetric()[0].GetGauge().GetValue())
			found = true
		}
	}
	require.True(t, found)

	// A requeued dead letter stays in the store but is no longer depth.
	require.NoError(t, db.DeadLetters().MarkRequeued(ctx, dl.ID, "0190c3a8-7d2e-7000-8000-00000000000a", time.Now()))
	after, err := metrics.New(metrics.Options{Manager: s.Container.Manager, DB: db})
	require.NoError(t, err)
	t.Cleanup(after.Close)
	families, err = after.Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "factflow_dlq_depth" {
			require.Zero(t, f.GetMetric()[0].GetGauge().GetValue(), "requeued rows are not pending")
		}
	}
}

type recordingSink struct {
	mu      sync.Mutex
	rows    []store.LineageEntry
	flushed int
}

func (r *recordingSink) Append(e store.LineageEntry) {
	r.mu.Lock()
	r.rows = append(r.rows, e)
	r.mu.Unlock()
}

func (r *recordingSink) Flush(context.Context) error {
	r.mu.Lock()
	r.flushed++
	r.mu.Unlock()
	return nil
}

func TestLatencySinkObservesAndForwards(t *testing.T) {
	next := &recordingSink{}
	s := metrics.NewLatencySink(next)
	s.Append(store.LineageEntry{RouteID: "a", DurationMS: 20})
	s.Append(store.LineageEntry{RouteID: "a", DurationMS: 3000})
	s.Append(store.LineageEntry{RouteID: "b", DurationMS: 1})
	require.NoError(t, s.Flush(context.Background()))
	require.Len(t, next.rows, 3)
	require.Equal(t, 1, next.flushed)
	require.Equal(t, 2, testutil.CollectAndCount(s, "factflow_route_latency_seconds"))
	out, err := testutil.CollectAndFormat(s, expfmt.TypeTextPlain, "factflow_route_latency_seconds")
	require.NoError(t, err)
	require.Contains(t, string(out), `factflow_route_latency_seconds_sum{route="a"} 3.02`)
	require.Contains(t, string(out), `factflow_route_latency_seconds_count{route="a"} 2`)

	// Without a next sink rows are only observed, and Flush is a no-op.
	alone := metrics.NewLatencySink(nil)
	alone.Append(store.LineageEntry{RouteID: "a", DurationMS: 1})
	require.NoError(t, alone.Flush(context.Background()))
}

func TestHTTPAndRequiredOptions(t *testing.T) {
	_, err := metrics.New(metrics.Options{})
	require.Error(t, err)
}
