package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

// newWebhookEnv serves the API with the container's webhook service (and
// its running dispatcher).
func newWebhookEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	require.NotNil(t, e.c.Webhooks, "the container has no webhook service")
	return e
}

// serveWebhooks serves the API over e's container with svc as the webhook
// service, on a server of its own.
func (e *env) serveWebhooks(svc *webhooks.Service) *env {
	e.t.Helper()
	a, err := api.New(api.Options{DB: e.c.DB, Manager: e.c.Manager, Storage: e.c.Storage, Queue: e.c.Queue,
		Registry: e.c.Registry, InstanceID: e.c.Instance.ID, Version: "test", Webhooks: svc})
	require.NoError(e.t, err)
	srv := httptest.NewServer(a.Handler())
	e.t.Cleanup(srv.Close)
	return &env{t: e.t, c: e.c, url: srv.URL}
}

type receivedHook struct {
	header http.Header
	body   []byte
}

// newReceiver is a webhook receiver on loopback that answers 204.
func newReceiver(t *testing.T) (string, <-chan receivedHook) {
	t.Helper()
	got := make(chan receivedHook, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- receivedHook{header: r.Header.Clone(), body: body}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook", got
}

func receive(t *testing.T, ch <-chan receivedHook) receivedHook {
	t.Helper()
	select {
	case h := <-ch:
		return h
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook request arrived")
		return receivedHook{}
	}
}

func verifyHook(t *testing.T, secret string, h receivedHook) {
	t.Helper()
	require.NoError(t, webhooks.Verify(secret, h.header.Get("X-Factflow-Timestamp"), h.body,
		h.header.Get("X-Factflow-Signature"), 0, time.Now()))
	require.Equal(t, webhooks.EventTest, h.header.Get("X-Factflow-Event"))
}

// waitDelivery polls the deliveries of a subscription until id has status.
func (e *env) waitDelivery(subID, id, status string) store.WebhookDelivery {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pg api.Page[store.WebhookDelivery]
		e.call(http.MethodGet, "/api/v1/webhooks/"+subID+"/deliveries", nil, http.StatusOK, &pg)
		for _, d := range pg.Items {
			if d.ID == id && d.Status == status {
				return d
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("delivery %s never reached %s: %+v", id, status, pg.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWebhooksCRUD(t *testing.T) {
	e := newWebhookEnv(t)
	target, _ := newReceiver(t)

	var created api.WebhookWithSecret
	r := e.call(http.MethodPost, "/api/v1/webhooks", map[string]any{
		"url": target, "event_types": []string{"execution.completed", "execution.failed"},
		"filters":     map[string]string{"config_id": "cfg-1", "execution_id": "ex-1", "route_id": "r1", "adapter_name": "noop"},
		"description": "ops channel",
	}, http.StatusCreated, &created)
	require.NotEmpty(t, created.ID)
	require.NotEmpty(t, created.Secret, "a secret is generated and shown on create")
	require.Equal(t, target, created.URL)
	require.True(t, created.Active)
	require.Equal(t, "ops channel", created.Description)
	require.Equal(t, []string{"execution.completed", "execution.failed"}, created.EventTypes)
	require.Equal(t, store.WebhookFilters{ConfigID: "cfg-1", ExecutionID: "ex-1", RouteID: "r1", AdapterName: "noop"}, created.Filters)
	require.Contains(t, string(r.body), `"secret"`)

	// The secret is never shown again.
	var got webhooks.Subscription
	r = e.call(http.MethodGet, "/api/v1/webhooks/"+created.ID, nil, http.StatusOK, &got)
	require.NotContains(t, string(r.body), "secret")
	require.NotContains(t, string(r.body), created.Secret)
	require.Equal(t, created.Filters, got.Filters)
	require.Equal(t, created.EventTypes, got.EventTypes)

	var given api.WebhookWithSecret
	e.call(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": target, "event_types": []string{"dead_letter.created"},
		"secret": "my-own-secret", "active": false}, http.StatusCreated, &given)
	require.Equal(t, "my-own-secret", given.Secret)
	require.False(t, given.Active)

	var pg api.Page[webhooks.Subscription]
	r = e.call(http.MethodGet, "/api/v1/webhooks?limit=1", nil, http.StatusOK, &pg)
	require.Equal(t, 2, pg.Total)
	require.True(t, pg.HasMore)
	require.Len(t, pg.Items, 1)
	r2 := e.call(http.MethodGet, "/api/v1/webhooks", nil, http.StatusOK, &pg)
	require.Len(t, pg.Items, 2)
	for _, body := range [][]byte{r.body, r2.body} {
		require.NotContains(t, string(body), "secret")
		require.NotContains(t, string(body), created.Secret)
		require.NotContains(t, string(body), "my-own-secret")
	}

	// PATCH changes what is given; no secret in the answer unless one is set.
	var upd api.WebhookWithSecret
	r = e.call(http.MethodPatch, "/api/v1/webhooks/"+created.ID, map[string]any{"description": "changed",
		"event_types": []string{"lineage.failed"}, "filters": map[string]string{"route_id": "r2"}, "active": false},
		http.StatusOK, &upd)
	require.NotContains(t, string(r.body), "secret")
	require.Equal(t, "changed", upd.Description)
	require.Equal(t, []string{"lineage.failed"}, upd.EventTypes)
	require.Equal(t, store.WebhookFilters{RouteID: "r2"}, upd.Filters)
	require.False(t, upd.Active)
	require.Equal(t, target, upd.URL)

	e.call(http.MethodPatch, "/api/v1/webhooks/"+created.ID, map[string]any{"secret": "rotated-secret"}, http.StatusOK, &upd)
	require.Equal(t, "rotated-secret", upd.Secret)
	upd = api.WebhookWithSecret{}
	e.call(http.MethodPatch, "/api/v1/webhooks/"+created.ID, map[string]any{"rotate_secret": true}, http.StatusOK, &upd)
	require.NotEmpty(t, upd.Secret)
	require.NotEqual(t, "rotated-secret", upd.Secret)
	e.problem(e.do(http.MethodPatch, "/api/v1/webhooks/"+created.ID, map[string]any{"rotate_secret": true, "secret": "x"}),
		http.StatusUnprocessableEntity, api.CodeWebhookSecretChoice)

	e.call(http.MethodDelete, "/api/v1/webhooks/"+created.ID, nil, http.StatusNoContent, nil)
	e.problem(e.do(http.MethodGet, "/api/v1/webhooks/"+created.ID, nil), http.StatusNotFound, store.CodeWebhookNotFound)
	e.call(http.MethodGet, "/api/v1/webhooks", nil, http.StatusOK, &pg)
	require.Equal(t, 1, pg.Total)
}

func TestWebhooksErrors(t *testing.T) {
	e := newWebhookEnv(t)
	target, _ := newReceiver(t)
	missing := "0193a6f5-0000-7000-8000-000000000000"

	e.problem(e.do(http.MethodGet, "/api/v1/webhooks/"+missing, nil), http.StatusNotFound, store.CodeWebhookNotFound)
	e.problem(e.do(http.MethodPatch, "/api/v1/webhooks/"+missing, map[string]any{"description": "x"}), http.StatusNotFound, store.CodeWebhookNotFound)
	e.problem(e.do(http.MethodDelete, "/api/v1/webhooks/"+missing, nil), http.StatusNotFound, store.CodeWebhookNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/webhooks/"+missing+"/test", nil), http.StatusNotFound, store.CodeWebhookNotFound)
	e.problem(e.do(http.MethodGet, "/api/v1/webhooks/"+missing+"/deliveries", nil), http.StatusNotFound, store.CodeWebhookNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/webhooks/deliveries/"+missing+"/redeliver", nil), http.StatusNotFound,
		store.CodeWebhookDeliveryNotFound)

	e.problem(e.do(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": "ftp://example.com/x", "event_types": []string{"execution.failed"}}),
		http.StatusBadRequest, webhooks.CodeURLInvalid)
	// The schema knows the event types.
	e.problem(e.do(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": target, "event_types": []string{"execution.exploded"}}),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED")
	e.problem(e.do(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": target, "event_types": []string{}}),
		http.StatusUnprocessableEntity, "VALIDATION_FAILED")

	// Without the loopback allowance the receiver's address is refused.
	strict, err := webhooks.New(e.c.DB, webhooks.Options{Key: make([]byte, webhooks.KeySize)})
	require.NoError(t, err)
	t.Cleanup(strict.Close)
	s := e.serveWebhooks(strict)
	p := s.problem(s.do(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": target, "event_types": []string{"execution.failed"}}),
		http.StatusBadRequest, webhooks.CodeTargetForbidden)
	require.NotEmpty(t, p.Hint)
}

func TestWebhookEventEnumMatchesService(t *testing.T) {
	e := newWebhookEnv(t)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Items struct {
						Enum []string `json:"enum"`
					} `json:"items"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	e.call(http.MethodGet, "/openapi.json", nil, http.StatusOK, &doc)
	for _, name := range []string{"WebhookCreate", "WebhookUpdate"} {
		require.Equal(t, webhooks.EventTypes(), doc.Components.Schemas[name].Properties["event_types"].Items.Enum, name)
	}
}

func TestWebhookTestDeliveryAndRedeliver(t *testing.T) {
	e := newWebhookEnv(t)
	target, got := newReceiver(t)

	var sub api.WebhookWithSecret
	e.call(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": target, "event_types": []string{"execution.completed"}},
		http.StatusCreated, &sub)

	var d store.WebhookDelivery
	e.call(http.MethodPost, "/api/v1/webhooks/"+sub.ID+"/test", nil, http.StatusAccepted, &d)
	require.Equal(t, sub.ID, d.SubscriptionID)
	require.Equal(t, webhooks.EventTest, d.EventType)

	h := receive(t, got)
	verifyHook(t, sub.Secret, h)
	require.Equal(t, d.ID, h.header.Get("X-Factflow-Delivery"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(h.body, &body))

	done := e.waitDelivery(sub.ID, d.ID, store.WebhookDeliverySucceeded)
	require.Equal(t, 1, done.Attempts)
	require.Equal(t, http.StatusNoContent, done.LastStatus)
	require.Empty(t, done.LastError)

	var again store.WebhookDelivery
	e.call(http.MethodPost, "/api/v1/webhooks/deliveries/"+d.ID+"/redeliver", nil, http.StatusAccepted, &again)
	require.Equal(t, d.ID, again.ID)
	h2 := receive(t, got)
	verifyHook(t, sub.Secret, h2)
	require.Equal(t, d.ID, h2.header.Get("X-Factflow-Delivery"), "a redelivery keeps its delivery id")
	require.Equal(t, string(h.body), string(h2.body), "a redelivery sends the same event")
	e.waitDelivery(sub.ID, d.ID, store.WebhookDeliverySucceeded)

	// A second test delivery lists first (newest first).
	var d2 store.WebhookDelivery
	e.call(http.MethodPost, "/api/v1/webhooks/"+sub.ID+"/test", nil, http.StatusAccepted, &d2)
	receive(t, got)
	e.waitDelivery(sub.ID, d2.ID, store.WebhookDeliverySucceeded)
	var pg api.Page[store.WebhookDelivery]
	e.call(http.MethodGet, "/api/v1/webhooks/"+sub.ID+"/deliveries", nil, http.StatusOK, &pg)
	require.Equal(t, 2, pg.Total)
	require.Equal(t, []string{d2.ID, d.ID}, []string{pg.Items[0].ID, pg.Items[1].ID})
	require.False(t, strings.Contains(string(mustJSON(t, pg)), sub.Secret))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
