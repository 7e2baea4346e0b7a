package container_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
	"github.com/factflow/factflow/webhooks"
)

type received struct {
	typ, delivery string
	body          map[string]any
}

// receiver is a webhook endpoint that checks every signature with secret.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	secret string
	got    []received
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhooks.Verify(r.secret, req.Header.Get("X-Factflow-Timestamp"), body,
		req.Header.Get("X-Factflow-Signature"), time.Minute, time.Now()); err != nil {
		r.t.Errorf("signature of %s: %v", req.Header.Get("X-Factflow-Event"), err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	r.got = append(r.got, received{req.Header.Get("X-Factflow-Event"), req.Header.Get("X-Factflow-Delivery"), m})
}

func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, g := range r.got {
		out = append(out, g.typ)
	}
	return out
}

// TestWebhooksReceiveEngineEvents: a subscription hears an execution's
// start, the dead letter of its failing branch and its end, signed, in
// order, with the execution and its config; a subscription filtered to
// another config hears nothing.
func TestWebhooksReceiveEngineEvents(t *testing.T) {
	t.Parallel()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	c := start(t, container.Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t), QueueURL: natsURL,
		AllowPrivateTargets: true, WebhookPollInterval: 50 * time.Millisecond})
	ctx := context.Background()

	cfg := &store.PipelineConfig{Name: "hooked", YAML: "version: \"1.0\"\n"}
	require.NoError(t, c.DB.Configs().Create(ctx, cfg))
	rcv := &receiver{t: t}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	created, err := c.Webhooks.Create(ctx, webhooks.CreateRequest{URL: srv.URL + "/hook",
		EventTypes: []string{webhooks.EventExecutionStarted, webhooks.EventExecutionCompleted, webhooks.EventDeadLetterCreated,
			webhooks.EventLineageFailed},
		Filters: store.WebhookFilters{ConfigID: cfg.ID}})
	require.NoError(t, err)
	rcv.mu.Lock()
	rcv.secret = created.Secret
	rcv.mu.Unlock()
	other := &receiver{t: t}
	otherSrv := httptest.NewServer(other)
	t.Cleanup(otherSrv.Close)
	_, err = c.Webhooks.Create(ctx, webhooks.CreateRequest{URL: otherSrv.URL,
		EventTypes: webhooks.EventTypes()[:4], Filters: store.WebhookFilters{ConfigID: "00000000-0000-0000-0000-000000000001"}})
	require.NoError(t, err)

	p, report := pipeline.Load([]byte(`
version: "1.0"
defaults:
  error_handling: { max_retries: 0, dead_letter: true }
routes:
  a:
    inbound: { queue: hook.a }
    adapters: [ { type: noop } ]
    outbound: [ { queue: hook.b } ]
  b:
    inbound: { queue: hook.b }
    adapters: [ { type: fail, config: { permanent: true } } ]
init_message: { route: a, payload: {} }
`), c.Registry)
	require.True(t, report.Valid(), report.Findings)
	ex, err := c.Manager.Start(ctx, orchestrator.StartRequest{Pipeline: p, ConfigName: cfg.Name, ConfigID: cfg.ID})
	require.NoError(t, err)
	<-ex.Done()

	require.Eventually(t, func() bool { return len(rcv.types()) >= 4 }, 30*time.Second, 50*time.Millisecond, rcv.types())
	require.Equal(t, []string{webhooks.EventExecutionStarted, webhooks.EventLineageFailed, webhooks.EventDeadLetterCreated,
		webhooks.EventExecutionCompleted}, rcv.types(), "in the order they happened")
	rcv.mu.Lock()
	seen := map[string]bool{}
	for _, g := range rcv.got {
		require.Equal(t, ex.ID, g.body["execution_id"], g.typ)
		require.Equal(t, cfg.ID, g.body["config_id"], g.typ)
		require.False(t, seen[g.delivery], "one delivery id per event")
		seen[g.delivery] = true
	}
	for _, g := range rcv.got[1:3] {
		require.Equal(t, "b", g.body["route_id"], g.typ)
		require.Equal(t, "fail", g.body["adapter_name"], g.typ)
	}
	failed, _ := rcv.got[1].body["data"].(map[string]any)
	require.Equal(t, "failed", failed["stage_status"])
	require.NotEmpty(t, failed["error"], "the failure's error info")
	rcv.mu.Unlock()
	require.Empty(t, other.types(), "a subscription of another config hears nothing")
}

// TestSlowWebhookReceiverDoesNotBlockThePipeline: a receiver that hangs
// holds up its own deliveries only; executions run and finish as usual,
// and the outbox keeps the events for it.
func TestSlowWebhookReceiverDoesNotBlockThePipeline(t *testing.T) {
	t.Parallel()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	c := start(t, container.Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t), QueueURL: natsURL,
		AllowPrivateTargets: true, WebhookPollInterval: 50 * time.Millisecond})
	ctx := context.Background()
	release := make(chan struct{})
	var hits sync.WaitGroup
	hits.Add(1)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(hits.Done)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	created, err := c.Webhooks.Create(ctx, webhooks.CreateRequest{URL: srv.URL, EventTypes: webhooks.EventTypes()})
	require.NoError(t, err)

	p, report := pipeline.Load([]byte(`
version: "1.0"
routes:
  a:
    inbound: { queue: slowhook.a, concurrency: 4 }
    adapters: [ { type: noop } ]
init_message: { route: a, payload: {} }
`), c.Registry)
	require.True(t, report.Valid(), report.Findings)
	for range 3 {
		ex, err := c.Manager.Start(ctx, orchestrator.StartRequest{Pipeline: p, ConfigName: "slowhook"})
		require.NoError(t, err)
		select {
		case <-ex.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("an execution waited for the webhook receiver")
		}
		require.Equal(t, store.StatusCompleted, ex.Status())
	}
	hits.Wait() // the receiver got the first event and holds it
	var pg store.Page[store.WebhookDelivery]
	require.Eventually(t, func() bool {
		pg, err = c.Webhooks.Deliveries(ctx, created.ID, 100, 0)
		return err == nil && pg.Total == 6
	}, 30*time.Second, 20*time.Millisecond, "started and completed of each execution reach the outbox")
	pending := 0
	for _, d := range pg.Items {
		if d.Status == store.WebhookDeliveryPending {
			pending++
		}
	}
	require.Equal(t, 6, pending, "none delivered while the first one hangs; none lost")
}
