package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/httpguard"
)

// TestRateLimitAndCORS: a client over its limit gets a 429 problem with
// Retry-After while health probes pass; a page of an allowed origin may
// call the API, any other origin's preflight is refused.
func TestRateLimitAndCORS(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, api.Options{PollInterval: 200 * time.Millisecond,
		RateLimit: httpguard.RateLimit{RequestsPerSecond: 0.01, Burst: 3},
		CORS:      httpguard.CORS{AllowedOrigins: []string{"https://ops.example.com"}}})

	send := func(method, path string, header ...string) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	problemOf := func(res *http.Response) api.Problem {
		var p api.Problem
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
		require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
		return p
	}

	// The preflight is answered before the limiter counts anything.
	res := send(http.MethodOptions, "/api/v1/configs", "Origin", "https://ops.example.com", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "https://ops.example.com", res.Header.Get("Access-Control-Allow-Origin"))
	res = send(http.MethodOptions, "/api/v1/configs", "Origin", "https://evil.example.net", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Equal(t, httpguard.CodeCORSRefused, problemOf(res).ErrorCode)

	res = send(http.MethodGet, "/api/v1/configs", "Origin", "https://ops.example.com")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "https://ops.example.com", res.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, http.StatusOK, send(http.MethodGet, "/api/v1/configs").StatusCode)
	require.Equal(t, http.StatusOK, send(http.MethodGet, "/api/v1/executions").StatusCode)

	res = send(http.MethodGet, "/api/v1/configs")
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.Equal(t, "100", res.Header.Get("Retry-After"), "one request per 100 s")
	p := problemOf(res)
	require.Equal(t, httpguard.CodeRateLimited, p.ErrorCode)
	require.NotEmpty(t, p.Hint)
	require.Equal(t, res.Header.Get(api.RequestIDHeader), p.CorrelationID)

	require.Equal(t, http.StatusOK, send(http.MethodGet, "/api/v1/system/health").StatusCode, "health probes are not counted")
}
