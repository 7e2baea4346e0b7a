package main

import (
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/store/storetest"
)

// TestRunDocsIngestOnBrokers runs the shipped docs-ingest pipeline,
// unchanged, over each real broker instead of the in-process NATS: the
// same YAML gives the same counts per route and the same dead letters.
func TestRunDocsIngestOnBrokers(t *testing.T) {
	t.Parallel()
	for _, b := range []struct {
		name, env string
		// query names the broker's management endpoint where the
		// provider needs one beside the broker URL.
		query map[string]string
	}{
		{name: "nats", env: "FACTFLOW_TEST_NATS_URL"}, // an external server, not the in-process one
		{name: "rabbitmq", env: "FACTFLOW_TEST_AMQP_URL"},
		{name: "artemis", env: "FACTFLOW_TEST_STOMP_URL"},
		{name: "activemq", env: "FACTFLOW_TEST_ACTIVEMQ_STOMP_URL", query: map[string]string{"management": "FACTFLOW_TEST_ACTIVEMQ_MANAGEMENT_URL"}},
		{name: "pulsar", env: "FACTFLOW_TEST_PULSAR_URL", query: map[string]string{"admin": "FACTFLOW_TEST_PULSAR_ADMIN_URL"}},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			raw := os.Getenv(b.env)
			require.NotEmpty(t, raw, "%s is not set: run `scripts/services.sh up %s` and eval its env", b.env, b.name)
			brokerURL, err := url.Parse(raw)
			require.NoError(t, err)
			q := brokerURL.Query()
			for k, env := range b.query {
				require.NotEmpty(t, os.Getenv(env), "%s is not set: run `scripts/services.sh up %s` and eval its env", env, b.name)
				q.Set(k, os.Getenv(env))
			}
			brokerURL.RawQuery = q.Encode()
			brokerlock.Hold(t, b.name, false) // no broker restart meanwhile
			runDocsIngestOn(t, brokerURL.String())
		})
	}
}

func runDocsIngestOn(t *testing.T, brokerURL string) {
	t.Helper()
	site := newDocsSite(t, docsSiteOptions{guides: 4, references: 4, troublemakers: true})
	dataDir := t.TempDir()

	res := runInProcess(t, "run", docsIngestYAML,
		"--payload", fmt.Sprintf(`{"sitemap_url": %q}`, site.URL+"/sitemap.xml"),
		"--data-dir", dataDir, "--database-url", storetest.URL(t), "--queue", brokerURL)
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
