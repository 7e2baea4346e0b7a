package container_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
	"github.com/factflow/factflow/webhooks"
)

// A queue URL that does not parse is reported without its password:
// url.Parse's own error quotes the whole URL, and a password holding a
// reserved character turns into an "invalid port" that quotes it.
func TestQueueURLErrorHidesPassword(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	for name, raw := range map[string]string{
		"slash in password": "amqp://user:s3cr/etpw@mq.test:5672/",
		"control character": "amqp://user:s3cretpw@mq.test:5672/\n",
	} {
		_, err := container.Start(context.Background(), container.Config{DataDir: t.TempDir(), DatabaseURL: dbURL, QueueURL: raw})
		var ce *adapters.CodedError
		require.ErrorAs(t, err, &ce, name)
		require.Equal(t, "QUEUE_URL_INVALID", ce.Code, name)
		require.NotContains(t, err.Error(), "s3cr", name)
	}
}

// With a configured secret key, webhook secrets are encrypted under it
// and no key file is written; a restart with the same key reads them even
// when its data dir holds another key file, which it warns about.
func TestSecretKeyEncryptsWebhookSecrets(t *testing.T) {
	t.Parallel()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	ctx := context.Background()
	dbURL := storetest.URL(t)
	key := strings.Repeat("3c", webhooks.KeySize)
	rcv := &receiver{t: t}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)

	first := t.TempDir()
	c1, err := container.Start(ctx, container.Config{DataDir: first, DatabaseURL: dbURL, QueueURL: natsURL,
		AllowPrivateTargets: true, SecretKey: key})
	require.NoError(t, err)
	created, err := c1.Webhooks.Create(ctx, webhooks.CreateRequest{URL: srv.URL + "/hook",
		EventTypes: []string{webhooks.EventExecutionStarted}})
	require.NoError(t, err)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, c1.Stop(sctx))
	require.NoFileExists(t, filepath.Join(first, container.WebhookKeyFile), "a configured key is not written to disk")

	second := t.TempDir()
	_, err = webhooks.LoadOrCreateKey(filepath.Join(second, container.WebhookKeyFile))
	require.NoError(t, err)
	logs := &lockedBuffer{}
	c2 := start(t, container.Config{DataDir: second, DatabaseURL: dbURL, QueueURL: natsURL, AllowPrivateTargets: true,
		SecretKey: key, WebhookPollInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.Contains(t, logs.String(), "differs from the key file", "the file's secrets are unreadable with the configured key")
	require.NotContains(t, logs.String(), key)

	rcv.mu.Lock()
	rcv.secret = created.Secret
	rcv.mu.Unlock()
	d, err := c2.Webhooks.Test(ctx, created.ID)
	require.NoError(t, err)
	var got *store.WebhookDelivery
	require.Eventually(t, func() bool {
		got, err = c2.Webhooks.Delivery(ctx, d.ID)
		return err == nil && got.Status != store.WebhookDeliveryPending
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, store.WebhookDeliverySucceeded, got.Status, got.LastError)
	require.Equal(t, []string{webhooks.EventTest}, rcv.types(), "signed with the secret stored by the first start")
}

// A malformed configured key stops the start, without being echoed.
func TestSecretKeyMalformed(t *testing.T) {
	t.Parallel()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	bad := strings.Repeat("zz", webhooks.KeySize)
	dir := t.TempDir()
	_, err := container.Start(context.Background(), container.Config{DataDir: dir, DatabaseURL: storetest.URL(t),
		QueueURL: natsURL, SecretKey: bad})
	require.Equal(t, webhooks.CodeKeyInvalid, store.Code(err), "%v", err)
	require.NotContains(t, err.Error(), bad)
	require.NoFileExists(t, filepath.Join(dir, container.WebhookKeyFile))
}
