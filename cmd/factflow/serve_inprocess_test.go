package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// TestServeInProcess runs the serve command in this process (so the race
// detector watches the server's own goroutines): it serves the API, has
// registered the shipped pipelines and the operator's, and returns 0 once
// its context (the signal context in main) ends.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()
	cfgDir := t.TempDir()
	mine, err := os.ReadFile(folderIngestYAML)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(cfgDir, "mine.yaml"), mine, 0o600))
	appYAML := filepath.Join(t.TempDir(), "app.yaml")
	require.NoError(t, os.WriteFile(appYAML, []byte(`
server: { port: 0, shutdown_timeout: 20s }
embedded: true
pipelines: { dir: "`+cfgDir+`" }
logging: { level: warn }
`), 0o600))

	srv := serveInProcess(t, "--config", appYAML, "--data-dir", dataDir, "--database-url", dbURL, "--log-level", "info")
	url, stdout, stderr := srv.url, srv.stdout, srv.stderr
	require.Contains(t, stdout.String(), "  data dir: "+dataDir+"\n")
	require.Contains(t, stdout.String(), "  database: "+dbURL+"\n", "an external database is named (no password here)")

	status, overall, comps := healthOf(t, url)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "healthy", overall, comps)
	require.Equal(t, "healthy", comps["database"])
	require.Equal(t, "healthy", comps["queue"])
	require.Equal(t, http.StatusOK, serveCall(t, http.MethodGet, url+"/openapi.json", nil, nil))

	var page api.Page[api.Config]
	require.Equal(t, http.StatusOK, serveCall(t, http.MethodGet, url+"/api/v1/configs?limit=100", nil, &page))
	got := map[string]api.Config{}
	for _, c := range page.Items {
		got[c.Name] = c
	}
	for name, source := range map[string]string{
		"docs-ingest":   "shipped:docs-ingest.yaml",
		"folder-ingest": "shipped:folder-ingest.yaml",
		"mine":          filepath.Join(cfgDir, "mine.yaml"),
	} {
		require.Contains(t, got, name)
		require.Equal(t, store.SourceShipped, got[name].SourceType, name)
		require.Equal(t, source, got[name].SourcePath, name)
		require.True(t, got[name].IsRunnable, name)
	}

	require.Equal(t, exitOK, srv.stop(t), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stderr.String(), "msg=stopped")
}
