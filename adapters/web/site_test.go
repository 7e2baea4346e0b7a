package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

// Sizes of the generated website.
const (
	sitePages = 12
	siteBlog  = 5
)

// site is a generated website served by a real loopback HTTP server: a
// robots.txt, a sitemap index with plain, gzip and nested sitemaps, HTML
// pages and pages that misbehave in the ways the adapters must handle.
type site struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{hits: map[string]int{}}
	mux := http.NewServeMux()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	base := s.URL

	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "User-agent: *\nDisallow: /private/\n\nUser-agent: blockedbot\nDisallow: /\n\nSitemap: %s/sitemap_index.xml\n", base)
	})
	mux.HandleFunc("GET /sitemap_index.xml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>%[1]s/sitemaps/pages.xml</loc><lastmod>2024-05-01</lastmod></sitemap>
  <sitemap><loc>%[1]s/sitemaps/blog.xml.gz</loc></sitemap>
  <sitemap><loc>%[1]s/sitemaps/missing.xml</loc></sitemap>
  <sitemap><loc>%[1]s/sitemaps/nested_index.xml</loc></sitemap>
</sitemapindex>`, base)
	})
	mux.HandleFunc("GET /sitemaps/pages.xml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		_, _ = io.WriteString(w, pagesSitemap(base))
	})
	mux.HandleFunc("GET /sitemaps/blog.xml.gz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(gzipBytes(urlset(base, "/blog/", siteBlog)))
	})
	mux.HandleFunc("GET /sitemaps/nested_index.xml", func(w http.ResponseWriter, _ *http.Request) {
		// Names itself (a cycle) and a deeper sitemap.
		fmt.Fprintf(w, `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>%[1]s/sitemaps/nested_index.xml</loc></sitemap>
  <sitemap><loc>%[1]s/sitemaps/deep.xml</loc></sitemap>
</sitemapindex>`, base)
	})
	mux.HandleFunc("GET /sitemaps/deep.xml", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, urlset(base, "/deep/", 1))
	})
	mux.HandleFunc("GET /sitemaps/text.txt", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%[1]s/page/1\n\n  %[1]s/page/2  \nnot a url\n%[1]s/page/1\n", base)
	})
	mux.HandleFunc("GET /sitemaps/not-a-sitemap.xml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><body>Oops</body></html>")
	})
	mux.HandleFunc("GET /sitemaps/broken.xml", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `<urlset><url><loc>`+base+`/page/1</loc></url><url><loc>`)
	})
	mux.HandleFunc("GET /sitemaps/bomb.xml.gz", func(w http.ResponseWriter, _ *http.Request) {
		// 4 MiB of XML that compresses to a few KiB.
		var b strings.Builder
		b.WriteString(`<urlset>`)
		b.WriteString(strings.Repeat("<!-- padding padding padding -->", 4<<20/32))
		b.WriteString(`</urlset>`)
		_, _ = w.Write(gzipBytes(b.String()))
	})
	mux.HandleFunc("GET /sitemaps/error.xml", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})

	mux.HandleFunc("GET /page/{n}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>\n  Page %s \u2014 Docs\n</title></head>"+
			"<body><svg><title>icon</title></svg><h1>Page %s</h1><p>Grüße</p></body></html>", r.PathValue("n"), r.PathValue("n"))
	})
	for _, section := range []string{"blog", "deep"} {
		mux.HandleFunc("GET /"+section+"/{n}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "<html><head><title>%s %s</title></head></html>", section, r.PathValue("n"))
		})
	}
	mux.HandleFunc("GET /private/secret", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<html><title>secret</title></html>")
	})
	mux.HandleFunc("GET /latin1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=ISO-8859-1")
		_, _ = w.Write([]byte("<html><head><title>Caf\xe9</title></head><body>Cr\xe8me br\xfbl\xe9e</body></html>"))
	})
	mux.HandleFunc("GET /meta-charset", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<html><head><meta charset="windows-1252"><title>Price: 5 ` + "\x80" + `</title></head></html>`))
	})
	mux.HandleFunc("GET /late-utf8", func(w http.ResponseWriter, _ *http.Request) {
		// No declaration, and the first non-ASCII byte is past the first
		// kilobyte that charset sniffing looks at.
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>"+strings.Repeat("a", 2000)+" naïve</body></html>")
	})
	mux.HandleFunc("GET /data.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	mux.HandleFunc("GET /image.png", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00"))
	})
	mux.HandleFunc("GET /untyped", func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = nil // no header: the client sniffs
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><title>sniffed</title></html>")
	})

	var throttled sync.Mutex
	throttledCalls := 0
	mux.HandleFunc("GET /throttled", func(w http.ResponseWriter, _ *http.Request) {
		throttled.Lock()
		throttledCalls++
		n := throttledCalls
		throttled.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, "<html><title>finally</title></html>")
	})
	mux.HandleFunc("GET /paused", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /unavailable", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		// Answers only when the client gives up.
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	})
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/page/1", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("x", 64<<10))
	})
	mux.HandleFunc("GET /big-chunked", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for range 64 {
			_, _ = io.WriteString(w, strings.Repeat("y", 1<<10))
			w.(http.Flusher).Flush() // no Content-Length
		}
	})
	mux.HandleFunc("GET /gone", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	})
	mux.HandleFunc("GET /forbidden", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	return s
}

func (s *site) hitCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *site) port(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	return u.Port()
}

// deps allow exactly this site through the SSRF guard.
func (s *site) deps(t *testing.T) adapters.Deps {
	return adapters.Deps{AllowedHosts: []string{"127.0.0.1:" + s.port(t)}, UserAgent: "FactflowTest/1.0"}
}

func pagesSitemap(base string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">`)
	for i := range sitePages {
		fmt.Fprintf(&b, "\n  <url><loc> %s/page/%d </loc><lastmod>2024-05-%02d</lastmod>"+
			"<image:image><image:loc>%s/img/%d.png</image:loc></image:image></url>", base, i, i+1, base, i)
	}
	// A duplicate, a fragment-only variant of a page, a foreign host and
	// a relative location.
	fmt.Fprintf(&b, "\n  <url><loc>%s/page/0</loc></url>", base)
	fmt.Fprintf(&b, "\n  <url><loc>%s/page/1#top</loc></url>", base)
	b.WriteString("\n  <url><loc>https://elsewhere.example/page</loc></url>")
	b.WriteString("\n  <url><loc>/relative/page</loc></url>")
	b.WriteString("\n</urlset>")
	return b.String()
}

func urlset(base, prefix string, n int) string {
	var b strings.Builder
	b.WriteString(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for i := range n {
		fmt.Fprintf(&b, "<url><loc>%s%s%d</loc></url>", base, prefix, i)
	}
	b.WriteString("</urlset>")
	return b.String()
}

func gzipBytes(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = io.WriteString(zw, s)
	_ = zw.Close()
	return buf.Bytes()
}

// build constructs an adapter through its spec, as the engine does.
func build[C any](t *testing.T, typ string, cfg C, deps adapters.Deps) adapters.Adapter {
	t.Helper()
	a, err := buildErr(typ, cfg, deps)
	require.NoError(t, err)
	if c, ok := a.(adapters.Closer); ok {
		t.Cleanup(func() { require.NoError(t, c.Close(context.Background())) })
	}
	return a
}

func buildErr[C any](typ string, cfg C, deps adapters.Deps) (adapters.Adapter, error) {
	for _, s := range Specs() {
		if s.Type == typ {
			return s.New(cfg, deps)
		}
	}
	return nil, fmt.Errorf("no spec %q", typ)
}

func process(t *testing.T, a adapters.Adapter, payload adapters.Payload) (*adapters.Result, error) {
	t.Helper()
	return processCtx(t.Context(), a, payload, 1)
}

func processCtx(ctx context.Context, a adapters.Adapter, payload adapters.Payload, attempt int) (*adapters.Result, error) {
	return a.Process(ctx, &adapters.Input{Payload: payload, Meta: adapters.Meta{
		ExecutionID: "0190f0c2-0000-7000-8000-000000000001", Route: "fetch", Stage: "web_scraper",
		CorrelationID: "0190f0c2-0000-7000-8000-0000000000aa", Attempt: attempt,
	}})
}

// requireCode asserts err's class and code.
func requireCode(t *testing.T, err error, class adapters.Class, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, class, adapters.Classify(err), "class of %v", err)
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce, "no code on %v", err)
	require.Equal(t, code, ce.Code, "code of %v", err)
}
