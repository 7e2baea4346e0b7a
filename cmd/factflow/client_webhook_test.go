package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

// webhookReceiver is a loopback receiver; each request's headers come out
// of the channel with the body under X-Test-Body.
func webhookReceiver(t *testing.T) (string, <-chan http.Header) {
	t.Helper()
	got := make(chan http.Header, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		h.Set("X-Test-Body", string(body))
		got <- h
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/in", got
}

func nextHook(t *testing.T, ch <-chan http.Header) http.Header {
	t.Helper()
	select {
	case h := <-ch:
		return h
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook request arrived")
		return nil
	}
}

func waitCLIDelivery(t *testing.T, e *cliEnv, subID, id string) store.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pg := decoded[api.Page[store.WebhookDelivery]](t, e.cli("webhook", "deliveries", subID, "--output", "json"))
		for _, d := range pg.Items {
			if d.ID == id && d.Status == store.WebhookDeliverySucceeded {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s never succeeded: %+v", id, pg.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCLIWebhooks(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	target, hooks := webhookReceiver(t)

	// Table output: the subscription, the secret and the warning.
	res := e.cli("webhook", "create", "--url", target, "--event", "execution.failed", "--description", "table one")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "Secret:")
	require.Contains(t, res.stdout, "shown this once")
	require.Contains(t, res.stdout, "execution.failed")

	res = e.cli("webhook", "create", "--url", target, "--event", "execution.completed,execution.failed",
		"--event", "dead_letter.created", "--execution", "ex-9", "--config", "cfg-9", "--route", "r9", "--adapter", "noop",
		"--secret", "cli-secret", "--output", "json")
	sub := decoded[api.WebhookWithSecret](t, res)
	require.Contains(t, res.stderr, "shown this once")
	require.Equal(t, "cli-secret", sub.Secret)
	require.Equal(t, []string{"execution.completed", "execution.failed", "dead_letter.created"}, sub.EventTypes)
	require.Equal(t, store.WebhookFilters{ConfigID: "cfg-9", ExecutionID: "ex-9", RouteID: "r9", AdapterName: "noop"}, sub.Filters)

	bad := e.cli("webhook", "create", "--url", target, "--event", "nope")
	require.NotEqual(t, exitOK, bad.code, bad)
	require.Contains(t, bad.stderr, "VALIDATION_FAILED")

	pg := decoded[api.Page[webhooks.Subscription]](t, e.cli("webhook", "list", "--output", "json"))
	require.Equal(t, 2, pg.Total)
	res = e.cli("webhook", "list")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, sub.ID)
	require.Contains(t, res.stdout, "route=r9")
	require.NotContains(t, res.stdout, "cli-secret")

	got := decoded[webhooks.Subscription](t, e.cli("webhook", "get", sub.ID, "--output", "json"))
	require.Equal(t, sub.Subscription.ID, got.ID)
	res = e.cli("webhook", "get", sub.ID, "--output", "yaml")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "url: "+target)
	require.NotContains(t, res.stdout, "secret")

	d := decoded[store.WebhookDelivery](t, e.cli("webhook", "test", sub.ID, "--output", "json"))
	h := nextHook(t, hooks)
	require.Equal(t, d.ID, h.Get("X-Factflow-Delivery"))
	require.NoError(t, webhooks.Verify("cli-secret", h.Get("X-Factflow-Timestamp"), []byte(h.Get("X-Test-Body")),
		h.Get("X-Factflow-Signature"), 0, time.Now()))
	done := waitCLIDelivery(t, e, sub.ID, d.ID)
	require.Equal(t, http.StatusOK, done.LastStatus)
	res = e.cli("webhook", "deliveries", sub.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, d.ID)
	require.Contains(t, res.stdout, "succeeded")

	res = e.cli("webhook", "redeliver", d.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, d.ID)
	h = nextHook(t, hooks)
	require.Equal(t, d.ID, h.Get("X-Factflow-Delivery"), "a redelivery keeps the delivery id")
	waitCLIDelivery(t, e, sub.ID, d.ID)

	res = e.cli("webhook", "delete", sub.ID)
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("webhook", "get", sub.ID)
	require.NotEqual(t, exitOK, res.code, res)
	require.Contains(t, res.stderr, store.CodeWebhookNotFound)
	res = e.cli("webhook", "redeliver", d.ID)
	require.NotEqual(t, exitOK, res.code, res)
	require.Contains(t, res.stderr, store.CodeWebhookDeliveryNotFound)
}
