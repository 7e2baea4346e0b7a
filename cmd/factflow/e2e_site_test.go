package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// docsSiteOptions shape a generated documentation website.
type docsSiteOptions struct {
	guides     int // short pages under /guides/N, one segment or two
	references int // long pages under /reference/N, several segments each
	// troublemakers lists three more pages in the sitemaps: one that does
	// not exist (404), one robots.txt disallows and one that fails with
	// HTTP 500 on its first request only.
	troublemakers bool
	// delay holds every page response back (not robots.txt or sitemaps).
	delay time.Duration
	// gate, when set, holds every page response until it is closed,
	// except the first ungated page requests.
	gate    <-chan struct{}
	ungated int
}

// docsSite is a documentation website served by a real loopback HTTP
// server: robots.txt, a sitemap index naming two sitemaps, and HTML pages
// with navigation, a sidebar, a footer, headings, code blocks and tables.
type docsSite struct {
	*httptest.Server
	opts docsSiteOptions

	mu    sync.Mutex
	hits  map[string]int
	pages int // page requests so far
}

const (
	missingPath    = "/guides/missing"
	disallowedPath = "/internal/secret"
	flakyPath      = "/reference/flaky"
)

func newDocsSite(t *testing.T, opts docsSiteOptions) *docsSite {
	t.Helper()
	s := &docsSite{opts: opts, hits: map[string]int{}}
	// Assigned before the server starts: handlers read s.URL, and requests
	// from another process give the race detector no ordering to see.
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *docsSite) hit(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// pagePaths lists the pages that exist and may be fetched, in sitemap order.
func (s *docsSite) pagePaths() []string {
	var out []string
	for i := 1; i <= s.opts.guides; i++ {
		out = append(out, fmt.Sprintf("/guides/%d", i))
	}
	for i := 1; i <= s.opts.references; i++ {
		out = append(out, fmt.Sprintf("/reference/%d", i))
	}
	if s.opts.troublemakers {
		out = append(out, flakyPath)
	}
	return out
}

// listed is every page URL the sitemaps name.
func (s *docsSite) listed() int {
	n := s.opts.guides + s.opts.references
	if s.opts.troublemakers {
		n += 3
	}
	return n
}

func (s *docsSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	n := s.hits[r.URL.Path]
	s.mu.Unlock()

	switch p := r.URL.Path; {
	case p == "/robots.txt":
		fmt.Fprintf(w, "User-agent: *\nDisallow: /internal/\n\nSitemap: %s/sitemap.xml\n", s.URL)
	case p == "/sitemap.xml":
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>%[1]s/sitemaps/guides.xml</loc><lastmod>2024-05-01</lastmod></sitemap>
  <sitemap><loc>%[1]s/sitemaps/reference.xml</loc></sitemap>
</sitemapindex>`, s.URL)
	case p == "/sitemaps/guides.xml":
		var paths []string
		for i := 1; i <= s.opts.guides; i++ {
			paths = append(paths, fmt.Sprintf("/guides/%d", i))
		}
		if s.opts.troublemakers {
			paths = append(paths, missingPath)
		}
		s.writeURLSet(w, paths)
	case p == "/sitemaps/reference.xml":
		var paths []string
		for i := 1; i <= s.opts.references; i++ {
			paths = append(paths, fmt.Sprintf("/reference/%d", i))
		}
		if s.opts.troublemakers {
			paths = append(paths, disallowedPath, flakyPath)
		}
		s.writeURLSet(w, paths)
	case p == missingPath:
		http.NotFound(w, r)
	case p == flakyPath && n == 1:
		http.Error(w, "temporary failure", http.StatusInternalServerError)
	default:
		body, ok := s.page(p)
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.pages++
		gated := s.pages > s.opts.ungated
		s.mu.Unlock()
		if s.opts.gate != nil && gated {
			select {
			case <-s.opts.gate:
			case <-r.Context().Done():
				return
			}
		}
		if s.opts.delay > 0 {
			select {
			case <-time.After(s.opts.delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}

func (s *docsSite) writeURLSet(w http.ResponseWriter, paths []string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "  <url><loc>%s%s</loc><lastmod>2024-06-0%d</lastmod></url>\n", s.URL, p, 1+len(p)%9)
	}
	b.WriteString("</urlset>\n")
	_, _ = w.Write([]byte(b.String()))
}

var codenames = strings.Fields(`amber basil cobalt dahlia ember fjord garnet harbor indigo juniper
kestrel lagoon marble nectar orchid pepper quartz russet saffron tundra`)

// pageFact is a sentence only path has: a codename a question can ask
// for (the rest of the prose repeats across pages).
func pageFact(path string) string {
	var n int
	kind, side := "guide", "north"
	if _, err := fmt.Sscanf(path, "/guides/%d", &n); err != nil {
		_, _ = fmt.Sscanf(path, "/reference/%d", &n)
		kind, side = "reference", "south"
	}
	return fmt.Sprintf("The %s widget %d ships under the codename %s %s.", kind, n, codenames[(n+len(codenames)-1)%len(codenames)], side)
}

// pageHeading is the <h1> of a page.
func pageHeading(path string) string {
	var kind string
	var n int
	switch {
	case path == flakyPath:
		return "Reference: flaky endpoint"
	case strings.HasPrefix(path, "/guides/"):
		kind = "Guide"
		_, _ = fmt.Sscanf(path, "/guides/%d", &n)
	case strings.HasPrefix(path, "/reference/"):
		kind = "Reference"
		_, _ = fmt.Sscanf(path, "/reference/%d", &n)
	case path == disallowedPath:
		return "Internal secrets"
	}
	return fmt.Sprintf("%s %d: configuring widget %d", kind, n, n)
}

// page renders the HTML of a path (false when the site has no such page).
func (s *docsSite) page(path string) (string, bool) {
	var sections int
	var n int
	switch {
	case path == flakyPath && s.opts.troublemakers, path == disallowedPath && s.opts.troublemakers:
		sections = 2
	case strings.HasPrefix(path, "/guides/"):
		if _, err := fmt.Sscanf(path, "/guides/%d", &n); err != nil || n < 1 || n > s.opts.guides {
			return "", false
		}
		sections = 2
	case strings.HasPrefix(path, "/reference/"):
		if _, err := fmt.Sscanf(path, "/reference/%d", &n); err != nil || n < 1 || n > s.opts.references {
			return "", false
		}
		sections = 7
	default:
		return "", false
	}
	heading := pageHeading(path)
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s — Acme Docs</title>
<style>body { font-family: sans-serif }</style><script>var analytics = "tracking";</script></head>
<body>
<header><a href="/">Acme Docs</a>
<nav aria-label="Site"><ul><li><a href="/guides/1">Guides</a></li><li><a href="/reference/1">Reference</a></li><li>Top navigation link</li></ul></nav>
</header>
<div class="layout">
<aside><nav><p>Sidebar navigation</p><ul><li><a href="/guides/2">Next guide</a></li></ul></nav></aside>
<main>
<h1>%s</h1>
<p>%s</p>
`, heading, heading, prose(path, 0, 3)+" "+pageFact(path))
	for sec := 1; sec <= sections; sec++ {
		fmt.Fprintf(&b, "<h2>Section %d of %s</h2>\n", sec, heading)
		for para := 1; para <= 3; para++ {
			fmt.Fprintf(&b, "<p>%s</p>\n", prose(path, sec*10+para, 5))
		}
		switch sec % 3 {
		case 1:
			fmt.Fprintf(&b, "<pre><code class=\"language-go\">package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"%s section %d\")\n}\n</code></pre>\n", path, sec)
		case 2:
			b.WriteString("<table><thead><tr><th>Option</th><th>Default</th><th>Meaning</th></tr></thead><tbody>\n")
			for row := 1; row <= 3; row++ {
				fmt.Fprintf(&b, "<tr><td>opt%d</td><td>%d</td><td>%s</td></tr>\n", row, row*sec, prose(path, sec*100+row, 1))
			}
			b.WriteString("</tbody></table>\n")
		default:
			fmt.Fprintf(&b, "<ul><li>%s</li><li>%s</li></ul>\n", prose(path, sec*7, 1), prose(path, sec*9, 1))
		}
	}
	b.WriteString(`</main>
</div>
<footer><p>Copyright 2024 Acme. All rights reserved.</p><nav><a href="/privacy">Privacy</a></nav></footer>
</body></html>
`)
	return b.String(), true
}

var words = strings.Fields(`widget pipeline message broker segment storage lineage adapter route
queue retry backoff crawler sitemap robots markdown heading token budget cluster server client
request response timeout latency throughput execution artefact metadata checksum record payload
schema version release upgrade migration index search vector embedding chunk document page`)

// prose makes sentences deterministic for (path, seed).
func prose(path string, seedArg, sentences int) string {
	seed := uint(seedArg)
	var h uint
	for _, c := range path {
		h = h*31 + uint(c)
	}
	h %= 1 << 16
	var b strings.Builder
	for s := range uint(sentences) {
		n := 9 + (h+seed+s)%6
		for w := range n {
			word := words[(h+seed*7+s*13+w*5)%uint(len(words))]
			if w == 0 {
				word = strings.ToUpper(word[:1]) + word[1:]
			}
			b.WriteString(word)
			if w < n-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(". ")
	}
	return strings.TrimSpace(b.String())
}
