package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var dist embed.FS

// appDir is where Vite writes the build inside dist.
const appDir = "dist/app"

// Handler serves the UI embedded at build time.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, appDir)
	if err != nil {
		// fs.Sub fails only on an invalid path, which appDir is not.
		return notBuilt()
	}
	return FromFS(sub)
}

// FromFS serves the UI from files laid out as Vite builds them: index.html
// at the root and fingerprinted files under assets/. Without index.html it
// serves the page that says how to build the UI.
func FromFS(files fs.FS) http.Handler {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return notBuilt()
	}
	return &server{files: files, index: index, modTime: time.Now()}
}

type server struct {
	files   fs.FS
	index   []byte
	modTime time.Time
	// gzipped holds compressed copies of text files, made on first
	// request: the files never change while the binary runs.
	gzipped sync.Map // name -> []byte
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	securityHeaders(w.Header())
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && name != "index.html" {
		if st, err := fs.Stat(s.files, name); err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				// Vite fingerprints everything under assets/.
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache")
			}
			s.serveFile(w, r, name)
			return
		}
		// A missing file with an extension is a broken link, not a page
		// of the app: answering index.html would hand a script tag HTML.
		if path.Ext(name) != "" {
			http.NotFound(w, r)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "index.html", s.modTime, bytes.NewReader(s.index))
}

// compressible names the files worth gzipping: the app's scripts and
// styles shrink to a third or less.
func compressible(name string) bool {
	switch path.Ext(name) {
	case ".js", ".mjs", ".css", ".svg", ".json", ".map", ".txt", ".html":
		return true
	}
	return false
}

func (s *server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	if !compressible(name) {
		http.ServeFileFS(w, r, s.files, name)
		return
	}
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) {
		http.ServeFileFS(w, r, s.files, name)
		return
	}
	gz, ok := s.gzipped.Load(name)
	if !ok {
		raw, err := fs.ReadFile(s.files, name)
		if err != nil {
			http.ServeFileFS(w, r, s.files, name)
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		gz, _ = s.gzipped.LoadOrStore(name, buf.Bytes())
	}
	// The type comes from the name, as ServeContent would have guessed it
	// from the uncompressed bytes.
	if ct := mimeType(name); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Content-Encoding", "gzip")
	http.ServeContent(w, r, name, s.modTime, bytes.NewReader(gz.([]byte)))
}

// acceptsGzip reads Accept-Encoding, honouring an explicit q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func mimeType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".map":
		return "application/json"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	}
	return ""
}

// securityHeaders keeps the UI out of frames and other origins' scripts.
// Styles may be inline: the component library and the editor set style
// attributes at run time.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Factflow — UI not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem}code,pre{background:#f3f3f3;padding:.1rem .3rem;border-radius:4px}pre{padding:.75rem}</style>
</head><body>
<h1>The web UI is not part of this binary</h1>
<p>This <code>factflow</code> was built without the UI's assets. The API, its
<a href="/docs">reference</a> and <a href="/openapi.json">OpenAPI document</a> work as usual.</p>
<p>To build the binary with the UI, from the repository root:</p>
<pre>make build        # builds web/ (npm ci &amp;&amp; npm run build), then the binary</pre>
<p>or by hand:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd .. &amp;&amp; go build ./cmd/factflow</pre>
</body></html>
`

func notBuilt() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(notBuiltPage))
	})
}

// Built reports whether the binary carries the UI.
func Built() bool {
	_, err := fs.Stat(dist, appDir+"/index.html")
	return err == nil
}
