package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/web"
)

// TestUIFallbackNeverShadowsTheServer: the UI answers client-side routes,
// while the server's own paths keep their answers, and an unknown path
// under them is a 404 problem instead of the UI's HTML.
func TestUIFallbackNeverShadowsTheServer(t *testing.T) {
	t.Parallel()
	ui := web.FromFS(fstest.MapFS{"index.html": {Data: []byte("<html>ui</html>")}})
	e := newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond, UI: ui})

	fetch := func(method, path string) (int, string, http.Header) {
		req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, nil)
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b), res.Header
	}

	for _, p := range []string{"/", "/executions", "/executions/01a2/lineage", "/pipelines/new"} {
		status, body, _ := fetch(http.MethodGet, p)
		require.Equal(t, http.StatusOK, status, p)
		require.Equal(t, "<html>ui</html>", body, p)
	}

	status, body, _ := fetch(http.MethodGet, "/api/v1/system/health")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `"status"`)
	status, body, _ = fetch(http.MethodGet, "/openapi.json")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `"openapi"`)
	status, _, _ = fetch(http.MethodGet, "/docs")
	require.Equal(t, http.StatusOK, status)

	for _, p := range []string{"/api/v1/nothing-here", "/api", "/api/v2/x", "/docs/x", "/openapi.txt", "/metrics/x", "/site", "/site/guide"} {
		status, body, h := fetch(http.MethodGet, p)
		require.Equal(t, http.StatusNotFound, status, p)
		require.Equal(t, "application/problem+json", h.Get("Content-Type"), p)
		var prob api.Problem
		require.NoError(t, json.Unmarshal([]byte(body), &prob), p)
		require.Equal(t, api.CodeNotFound, prob.ErrorCode)
		require.Equal(t, h.Get(api.RequestIDHeader), prob.CorrelationID)
		require.NotEmpty(t, prob.Hint)
	}

	// A path whose operation exists for another method still says so.
	status, _, _ = fetch(http.MethodPost, "/api/v1/system/health")
	require.Equal(t, http.StatusMethodNotAllowed, status)
	// The UI answers reads only.
	status, _, _ = fetch(http.MethodPost, "/executions")
	require.NotEqual(t, http.StatusOK, status)
}
