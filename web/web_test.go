package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/web"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func TestServesBuiltFilesAndFallsBackToIndex(t *testing.T) {
	t.Parallel()
	h := web.FromFS(fstest.MapFS{
		"index.html":          {Data: []byte("<html>app</html>")},
		"favicon.svg":         {Data: []byte("<svg/>")},
		"assets/index-abc.js": {Data: []byte("console.log(1)")},
	})

	res := get(t, h, http.MethodGet, "/assets/index-abc.js")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "console.log(1)", body(t, res))
	require.Contains(t, res.Header.Get("Cache-Control"), "immutable")
	require.Contains(t, res.Header.Get("Content-Type"), "javascript")

	res = get(t, h, http.MethodGet, "/favicon.svg")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "no-cache", res.Header.Get("Cache-Control"))

	// Client-side routes get the app, with the security headers.
	for _, p := range []string{"/", "/executions/01a2", "/pipelines/new", "/index.html"} {
		res = get(t, h, http.MethodGet, p)
		require.Equal(t, http.StatusOK, res.StatusCode, p)
		require.Equal(t, "<html>app</html>", body(t, res), p)
		require.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
		require.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	}

	// A missing file is a 404, never the app's HTML in its place.
	res = get(t, h, http.MethodGet, "/assets/gone-123.js")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.NotContains(t, body(t, res), "app")

	// Paths cannot climb out of the served files.
	res = get(t, h, http.MethodGet, "/../../etc/passwd")
	require.NotContains(t, body(t, res), "root:")

	res = get(t, h, http.MethodHead, "/executions")
	require.Equal(t, http.StatusOK, res.StatusCode)

	res = get(t, h, http.MethodPost, "/")
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	require.Equal(t, "GET, HEAD", res.Header.Get("Allow"))
}

func TestScriptsAreGzippedForClientsThatAcceptIt(t *testing.T) {
	t.Parallel()
	script := strings.Repeat("export const answer = 42;\n", 400)
	h := web.FromFS(fstest.MapFS{
		"index.html":      {Data: []byte("<html>app</html>")},
		"assets/app-1.js": {Data: []byte(script)},
		"assets/logo.png": {Data: []byte("\x89PNG")},
	})
	fetch := func(path, acceptEncoding string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}

	for i := 0; i < 2; i++ { // compressed once, then from memory
		res := fetch("/assets/app-1.js", "br, gzip;q=0.8")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
		require.Equal(t, "Accept-Encoding", res.Header.Get("Vary"))
		require.Equal(t, "text/javascript; charset=utf-8", res.Header.Get("Content-Type"))
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Less(t, len(raw), len(script)/4)
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		require.Equal(t, script, string(plain))
	}

	for _, enc := range []string{"", "identity", "gzip;q=0"} {
		res := fetch("/assets/app-1.js", enc)
		require.Empty(t, res.Header.Get("Content-Encoding"), enc)
		require.Equal(t, script, body(t, res), enc)
	}
	// Images are compressed already.
	res := fetch("/assets/logo.png", "gzip")
	require.Empty(t, res.Header.Get("Content-Encoding"))
}

func TestWithoutBuiltAssetsSaysHowToBuild(t *testing.T) {
	t.Parallel()
	h := web.FromFS(fstest.MapFS{"README.md": {Data: []byte("x")}})
	for _, p := range []string{"/", "/executions"} {
		res := get(t, h, http.MethodGet, p)
		require.Equal(t, http.StatusOK, res.StatusCode)
		b := body(t, res)
		require.Contains(t, b, "not part of this binary")
		require.Contains(t, b, "npm ci &amp;&amp; npm run build")
		require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"))
	}
	require.Equal(t, http.StatusMethodNotAllowed, get(t, h, http.MethodDelete, "/").StatusCode)
}

func TestEmbeddedHandlerMatchesBuilt(t *testing.T) {
	t.Parallel()
	// Whether or not this checkout built the UI, the embedded handler
	// answers the root with HTML.
	res := get(t, web.Handler(), http.MethodGet, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	b := body(t, res)
	if web.Built() {
		require.Contains(t, b, `<div id="root">`)
	} else {
		require.Contains(t, b, "not part of this binary")
	}
}
