package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue/queuetest"
	"github.com/factflow/factflow/store/storetest"
)

// TestRunDocsIngestOnBrokers runs the shipped docs-ingest pipeline,
// unchanged, over each real broker instead of the in-process NATS: the
// same YAML gives the same counts per route and the same dead letters.
func TestRunDocsIngestOnBrokers(t *testing.T) {
	t.Parallel()
	for _, b := range queuetest.Brokers {
		t.Run(b.Service, func(t *testing.T) {
			t.Parallel()
			runDocsIngestOn(t, b.URL(t, false).String())
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
		"segments": {Done: segments, Emitted: segments},
		"embed":    {Done: segments},
	}, summaryRows(t, res.stdout), res.stdout)
	require.Len(t, artefacts(t, dataDir, id, "convert", "markdown_storage_writer"), fetched)
}
