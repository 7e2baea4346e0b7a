package httpguard_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/httpguard"
)

func refuse(w http.ResponseWriter, _ *http.Request, status int, code, _, _ string) {
	w.Header().Set("X-Code", code)
	w.WriteHeader(status)
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

func call(h http.Handler, remote, path string) *http.Response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestRateLimitPerClient(t *testing.T) {
	t.Parallel()
	l := httpguard.NewLimiter(httpguard.RateLimit{RequestsPerSecond: 0.5, Burst: 3,
		Exempt: func(r *http.Request) bool { return r.URL.Path == "/health" }}, refuse)
	h := l.Middleware(ok)

	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusOK, call(h, "10.0.0.1:1000", "/x").StatusCode)
	}
	res := call(h, "10.0.0.1:2000", "/x")
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "same IP, another port")
	require.Equal(t, httpguard.CodeRateLimited, res.Header.Get("X-Code"))
	require.Equal(t, "2", res.Header.Get("Retry-After"), "one token every 2 s")
	// Refusals do not push the next allowed request further out.
	require.Equal(t, "2", call(h, "10.0.0.1:2000", "/x").Header.Get("Retry-After"))

	require.Equal(t, http.StatusOK, call(h, "10.0.0.2:1000", "/x").StatusCode, "another client has its own bucket")
	require.Equal(t, http.StatusOK, call(h, "10.0.0.1:1000", "/health").StatusCode, "exempt")
	require.Equal(t, 2, l.Clients())
}

func TestRateLimitOffAndKey(t *testing.T) {
	t.Parallel()
	off := httpguard.NewLimiter(httpguard.RateLimit{}, refuse).Middleware(ok)
	for i := 0; i < 50; i++ {
		require.Equal(t, http.StatusOK, call(off, "10.0.0.1:1", "/").StatusCode)
	}
	byToken := httpguard.NewLimiter(httpguard.RateLimit{RequestsPerSecond: 1, Burst: 1,
		ClientKey: func(r *http.Request) string { return r.Header.Get("Authorization") }}, refuse).Middleware(ok)
	a := httptest.NewRequest(http.MethodGet, "/", nil)
	a.Header.Set("Authorization", "Bearer a")
	rec := httptest.NewRecorder()
	byToken.ServeHTTP(rec, a)
	require.Equal(t, http.StatusOK, rec.Code)
	b := httptest.NewRequest(http.MethodGet, "/", nil)
	b.Header.Set("Authorization", "Bearer b")
	rec = httptest.NewRecorder()
	byToken.ServeHTTP(rec, b)
	require.Equal(t, http.StatusOK, rec.Code, "same IP, another token")
}

func TestRateLimitConcurrentClients(t *testing.T) {
	t.Parallel()
	l := httpguard.NewLimiter(httpguard.RateLimit{RequestsPerSecond: 0.001, Burst: 5, IdleTTL: 50 * time.Millisecond}, refuse)
	h := l.Middleware(ok)
	var passed atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if call(h, "10.0.0.9:1", "/").StatusCode == http.StatusOK {
					passed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 5, passed.Load(), "exactly the burst passes, however the requests interleave")

	// A client quiet for longer than IdleTTL is dropped when others come.
	time.Sleep(120 * time.Millisecond)
	call(h, "10.0.0.10:1", "/")
	require.Equal(t, 1, l.Clients(), "only the new client is held")
}

func TestCORS(t *testing.T) {
	t.Parallel()
	h := httpguard.CORS{AllowedOrigins: []string{"https://ops.example.com/"}, AllowCredentials: true}.Middleware(refuse, ok)
	do := func(method, origin string, preflight bool) *http.Response {
		req := httptest.NewRequest(method, "http://api.internal:8000/api/v1/executions", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}

	res := do(http.MethodOptions, "https://ops.example.com", true)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "https://ops.example.com", res.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	require.Contains(t, res.Header.Get("Access-Control-Allow-Headers"), "Last-Event-ID")
	require.Equal(t, "Origin", res.Header.Get("Vary"))

	res = do(http.MethodGet, "https://ops.example.com", false)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Access-Control-Expose-Headers"), "X-Request-ID")

	res = do(http.MethodOptions, "https://evil.example.net", true)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Equal(t, httpguard.CodeCORSRefused, res.Header.Get("X-Code"))
	res = do(http.MethodGet, "https://evil.example.net", false)
	require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "the browser keeps the answer from the page")

	for _, origin := range []string{"", "http://api.internal:8000"} {
		res = do(http.MethodGet, origin, false)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "same origin needs no CORS")
	}

	star := httpguard.CORS{AllowedOrigins: []string{"*"}, AllowCredentials: true}.Middleware(refuse, ok)
	req := httptest.NewRequest(http.MethodGet, "http://api.internal:8000/x", nil)
	req.Header.Set("Origin", "https://any.example.org")
	rec := httptest.NewRecorder()
	star.ServeHTTP(rec, req)
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"), "never credentials with a wildcard")
}
