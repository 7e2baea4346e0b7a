package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/store/storetest"
)

// TestRunDocsIngestOnRabbitMQ runs the shipped docs-ingest pipeline,
// unchanged, over RabbitMQ instead of NATS: the same YAML gives the same
// counts per route and the same dead letters.
func TestRunDocsIngestOnRabbitMQ(t *testing.T) {
	t.Parallel()
	amqpURL := os.Getenv("FACTFLOW_TEST_AMQP_URL")
	require.NotEmpty(t, amqpURL, "FACTFLOW_TEST_AMQP_URL is not set: run `scripts/services.sh up rabbitmq` and eval its env")
	brokerlock.Hold(t, "rabbitmq", false) // no broker restart meanwhile
	site := newDocsSite(t, docsSiteOptions{guides: 4, references: 4, troublemakers: true})
	dataDir := t.TempDir()

	res := runInProcess(t, "run", docsIngestYAML,
		"--payload", fmt.Sprintf(`{"sitemap_url": %q}`, site.URL+"/sitemap.xml"),
		"--data-dir", dataDir, "--database-url", storetest.URL(t), "--queue", amqpURL)
	require.Equal(t, exitOK, res.code, res)
	id := executionID(t, res.stdout)

	fetched := len(site.pagePaths())
	segments := len(artefacts(t, dataDir, id, "segments", "segments"))
	require.Positive(t, segments)
	require.Equal(t, map[string]routeRow{
		"discover": {Done: 1, Emitted: site.listed()},
		"fetch":    {Done: fetched, Failed: 3, Retried: 1, Dead: 2, Emitted: fetched},
		"convert":  {Done: fetched, Emitted: segments},
		"segments": {Done: segments},
	}, summaryRows(t, res.stdout), res.stdout)
	require.Len(t, artefacts(t, dataDir, id, "convert", "markdown_storage_writer"), fetched)
}
