package container_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/storage/s3"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func start(t *testing.T, cfg container.Config) *container.Container {
	t.Helper()
	c, err := container.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	return c
}

// An external NATS server (the test services run one) and an explicit
// database: nothing is provisioned, and a pipeline runs end to end.
func TestExternalBrokerAndDatabase(t *testing.T) {
	t.Parallel()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	c := start(t, container.Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t), QueueURL: natsURL})
	require.Nil(t, c.NATS, "no embedded server with an external URL")
	require.Nil(t, c.Postgres, "no private cluster with an explicit URL")
	require.Equal(t, queue.Healthy, c.Queue.Health(context.Background()).State)

	p, report := pipeline.Load([]byte(`
version: "1.0"
routes:
  a:
    inbound: { queue: c.a }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: c.b } ]
  b:
    inbound: { queue: c.b, concurrency: 4 }
    adapters: [ { type: noop } ]
init_message: { route: a, payload: { urls: [ { url: "https://x.test/1" }, { url: "https://x.test/2" } ] } }
`), c.Registry)
	require.True(t, report.Valid(), report.Findings)
	ex, err := c.Manager.Start(context.Background(), orchestrator.StartRequest{Pipeline: p, ConfigName: "external"})
	require.NoError(t, err)
	select {
	case <-ex.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("execution did not finish")
	}
	require.Equal(t, store.StatusCompleted, ex.Status())
	rec, err := c.DB.Executions().Get(context.Background(), ex.ID)
	require.NoError(t, err)
	require.Equal(t, c.Instance.ID, rec.OwnerID, "the execution is owned by this instance")
}

func TestStartRefusesWhatItCannotServe(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]container.Config{
		"queue scheme":   {QueueURL: "kafka://localhost:9092"},
		"storage scheme": {StorageURI: "gs://bucket"},
		"bad allow-list": {AllowedHosts: []string{"not a host at all/"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg.DataDir = t.TempDir()
			cfg.DatabaseURL = storetest.URL(t)
			_, err := container.Start(context.Background(), cfg)
			require.Error(t, err)
			if name != "bad allow-list" {
				var ce *adapters.CodedError
				require.ErrorAs(t, err, &ce)
				require.NotEmpty(t, ce.Hint)
			}
		})
	}
}

// S3 storage is opened and checked at start: a missing bucket and missing
// credentials are coded, and secrets stay out of the errors.
func TestS3StorageIsCheckedAtStart(t *testing.T) {
	t.Parallel()
	endpoint := os.Getenv("FACTFLOW_TEST_S3_ENDPOINT")
	require.NotEmpty(t, endpoint, "FACTFLOW_TEST_S3_ENDPOINT is not set: run `scripts/services.sh up minio` and eval its env")
	creds := s3.Config{Endpoint: endpoint, Region: os.Getenv("FACTFLOW_TEST_S3_REGION"),
		AccessKey: os.Getenv("FACTFLOW_TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("FACTFLOW_TEST_S3_SECRET_KEY")}
	for name, tc := range map[string]struct {
		uri  string
		cfg  s3.Config
		code string
	}{
		"missing bucket": {"minio://factflow-no-such-bucket", creds, s3.CodeBucketNotFound},
		"wrong secret": {"minio://factflow-no-such-bucket", s3.Config{Endpoint: endpoint, AccessKey: creds.AccessKey,
			SecretKey: "wrong-secret-value"}, s3.CodeAccessDenied},
		"no endpoint": {"minio://bucket", s3.Config{AccessKey: "a", SecretKey: "b"}, s3.CodeConfigInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := container.Start(context.Background(), container.Config{DataDir: t.TempDir(),
				DatabaseURL: storetest.URL(t), StorageURI: tc.uri, S3: tc.cfg})
			var ce *adapters.CodedError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.code, ce.Code, err.Error())
			require.NotEmpty(t, ce.Hint)
			require.NotContains(t, err.Error(), "wrong-secret-value")
			require.NotContains(t, err.Error(), creds.SecretKey)
		})
	}
}

func TestUnreachableDatabaseIsCoded(t *testing.T) {
	t.Parallel()
	_, err := container.Start(context.Background(), container.Config{
		DataDir: t.TempDir(), DatabaseURL: "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2",
	})
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "DATABASE_UNREACHABLE", ce.Code)
	require.NotContains(t, err.Error(), "secret", "passwords never appear in errors")
}
