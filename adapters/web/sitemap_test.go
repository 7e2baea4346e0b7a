package web

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

// sitemapConfig is the config as decoded with the tag defaults.
func sitemapConfig() SitemapParserConfig {
	return SitemapParserConfig{MaxDepth: defaultMaxDepth}.withDefaults()
}

// urlsOf returns the url fields of a sitemap_parser result.
func urlsOf(t *testing.T, res *adapters.Result) []string {
	t.Helper()
	require.NotNil(t, res)
	list, ok := res.Message["urls"].([]any)
	require.True(t, ok, "urls is %T", res.Message["urls"])
	out := make([]string, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		require.True(t, ok, "entry is %T", e)
		out[i] = m["url"].(string)
	}
	return out
}

// wantSiteURLs lists the site's pages in sitemap order: pages.xml (with the
// relative location resolved and the foreign host kept), then the gzip
// blog sitemap, then the nested one.
func wantSiteURLs(base string, foreign bool) []string {
	var want []string
	for i := range sitePages {
		want = append(want, fmt.Sprintf("%s/page/%d", base, i))
	}
	if foreign {
		want = append(want, "https://elsewhere.example/page")
	}
	want = append(want, base+"/relative/page")
	for i := range siteBlog {
		want = append(want, fmt.Sprintf("%s/blog/%d", base, i))
	}
	return append(want, base+"/deep/0")
}

func TestSitemapParserReadsSiteIndex(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	tests := []struct {
		name    string
		payload adapters.Payload
	}{
		{"sitemap index", adapters.Payload{"sitemap_url": s.URL + "/sitemap_index.xml"}},
		{"url field", adapters.Payload{"url": s.URL + "/sitemap_index.xml"}},
		{"site root via robots.txt", adapters.Payload{"sitemap_url": s.URL + "/"}},
		{"robots.txt url", adapters.Payload{"sitemap_url": s.URL + "/robots.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, TypeSitemapParser, sitemapConfig(), s.deps(t))
			res, err := process(t, p, tt.payload)
			require.NoError(t, err)
			require.Equal(t, wantSiteURLs(s.URL, true), urlsOf(t, res))
			require.Equal(t, len(wantSiteURLs(s.URL, true)), res.Message["url_count"])
			require.Equal(t, false, res.Message["truncated"])

			first := res.Message["urls"].([]any)[0].(map[string]any)
			require.Equal(t, "2024-05-01", first["lastmod"])
			blog := res.Message["urls"].([]any)[sitePages+2].(map[string]any)
			require.NotContains(t, blog, "lastmod")

			require.Equal(t, []any{
				s.URL + "/sitemap_index.xml",
				s.URL + "/sitemaps/pages.xml",
				s.URL + "/sitemaps/blog.xml.gz",
				s.URL + "/sitemaps/nested_index.xml",
				s.URL + "/sitemaps/deep.xml",
			}, res.Message["sitemaps"])
			errs, ok := res.Message["sitemap_errors"].([]any)
			require.True(t, ok)
			require.Len(t, errs, 1)
			e := errs[0].(map[string]any)
			require.Equal(t, s.URL+"/sitemaps/missing.xml", e["url"])
			require.Equal(t, "WEB_HTTP_404", e["code"])
		})
	}
}

func TestSitemapParserFilters(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	index := adapters.Payload{"sitemap_url": s.URL + "/sitemap_index.xml"}
	tests := []struct {
		name      string
		cfg       func(*SitemapParserConfig)
		payload   adapters.Payload
		want      []string
		truncated bool
	}{
		{
			name:    "same host only",
			cfg:     func(c *SitemapParserConfig) { c.SameHostOnly = true },
			payload: index,
			want:    wantSiteURLs(s.URL, false),
		},
		{
			name: "include and exclude",
			cfg: func(c *SitemapParserConfig) {
				c.Include = []string{`/page/\d+$`, `/blog/`}
				c.Exclude = []string{`/page/1\d$`, `/blog/[1-4]$`}
			},
			payload: index,
			want: []string{s.URL + "/page/0", s.URL + "/page/1", s.URL + "/page/2", s.URL + "/page/3",
				s.URL + "/page/4", s.URL + "/page/5", s.URL + "/page/6", s.URL + "/page/7",
				s.URL + "/page/8", s.URL + "/page/9", s.URL + "/blog/0"},
		},
		{
			name:      "max urls",
			cfg:       func(c *SitemapParserConfig) { c.MaxURLs = 3 },
			payload:   index,
			want:      []string{s.URL + "/page/0", s.URL + "/page/1", s.URL + "/page/2"},
			truncated: true,
		},
		{
			name:    "max depth 1 stops below the nested index",
			cfg:     func(c *SitemapParserConfig) { c.MaxDepth = 1 },
			payload: index,
			want:    wantSiteURLs(s.URL, true)[:sitePages+2+siteBlog],
		},
		{
			name:    "plain text sitemap",
			payload: adapters.Payload{"sitemap_url": s.URL + "/sitemaps/text.txt"},
			want:    []string{s.URL + "/page/1", s.URL + "/page/2"},
		},
		{
			name:    "gzip sitemap given directly",
			payload: adapters.Payload{"sitemap_url": s.URL + "/sitemaps/blog.xml.gz"},
			want:    wantSiteURLs(s.URL, false)[sitePages+1 : sitePages+1+siteBlog],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sitemapConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p := build(t, TypeSitemapParser, cfg, s.deps(t))
			res, err := process(t, p, tt.payload)
			require.NoError(t, err)
			require.Equal(t, tt.want, urlsOf(t, res))
			require.Equal(t, tt.truncated, res.Message["truncated"])
		})
	}
}

func TestSitemapParserDepthLimitIsReported(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	cfg := sitemapConfig()
	cfg.MaxDepth = 0
	p := build(t, TypeSitemapParser, cfg, s.deps(t))
	res, err := process(t, p, adapters.Payload{"sitemap_url": s.URL + "/sitemap_index.xml"})
	require.NoError(t, err)
	require.Empty(t, res.Message["urls"])
	errs := res.Message["sitemap_errors"].([]any)
	require.Len(t, errs, 4)
	require.Contains(t, errs[0].(map[string]any)["error"], "max_depth")
	require.Zero(t, s.hitCount("/sitemaps/pages.xml"))
}

func TestSitemapParserFailures(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	tests := []struct {
		name    string
		deps    func(t *testing.T) adapters.Deps
		cfg     func(*SitemapParserConfig)
		payload adapters.Payload
		class   adapters.Class
		code    string
	}{
		{"missing sitemap", nil, nil, adapters.Payload{"sitemap_url": s.URL + "/sitemaps/missing.xml"}, adapters.ClassPermanent, "WEB_HTTP_404"},
		{"html instead of xml", nil, nil, adapters.Payload{"sitemap_url": s.URL + "/sitemaps/not-a-sitemap.xml"}, adapters.ClassPermanent, CodeSitemapInvalid},
		{"truncated xml", nil, nil, adapters.Payload{"sitemap_url": s.URL + "/sitemaps/broken.xml"}, adapters.ClassPermanent, CodeSitemapInvalid},
		{"server error is retried", nil, nil, adapters.Payload{"sitemap_url": s.URL + "/sitemaps/error.xml"}, adapters.ClassRetryable, "WEB_HTTP_500"},
		{"oversize", nil, func(c *SitemapParserConfig) { c.MaxBytes = 1024 }, adapters.Payload{"sitemap_url": s.URL + "/sitemaps/pages.xml"}, adapters.ClassPermanent, CodeTooLarge},
		{"gzip bomb", nil, func(c *SitemapParserConfig) { c.MaxBytes = 1 << 20 }, adapters.Payload{"sitemap_url": s.URL + "/sitemaps/bomb.xml.gz"}, adapters.ClassPermanent, CodeTooLarge},
		{"no field", nil, nil, adapters.Payload{"other": "x"}, adapters.ClassPermanent, CodeFieldMissing},
		{"not http", nil, nil, adapters.Payload{"sitemap_url": "ftp://example.org/sitemap.xml"}, adapters.ClassPermanent, CodeInvalidURL},
		{"relative", nil, nil, adapters.Payload{"sitemap_url": "/sitemap.xml"}, adapters.ClassPermanent, CodeInvalidURL},
		{"ssrf guard on by default", func(*testing.T) adapters.Deps { return adapters.Deps{} }, nil,
			adapters.Payload{"sitemap_url": s.URL + "/sitemap_index.xml"}, adapters.ClassPermanent, CodeBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sitemapConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			deps := s.deps(t)
			if tt.deps != nil {
				deps = tt.deps(t)
			}
			p := build(t, TypeSitemapParser, cfg, deps)
			res, err := process(t, p, tt.payload)
			require.Nil(t, res)
			requireCode(t, err, tt.class, tt.code)
		})
	}
}

func TestSitemapParserRejectsBadRegex(t *testing.T) {
	t.Parallel()
	cfg := sitemapConfig()
	cfg.Exclude = []string{"("}
	_, err := buildErr(TypeSitemapParser, cfg, adapters.Deps{})
	require.ErrorContains(t, err, "exclude[0]")
}

func TestParseSitemap(t *testing.T) {
	t.Parallel()
	type entry struct{ kind, loc, lastmod string }
	tests := []struct {
		name    string
		doc     string
		want    []entry
		wantErr bool
	}{
		{
			name: "urlset with prefixes and extensions",
			doc: `<?xml version="1.0"?><sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:video="v">
				<sm:url><sm:loc>https://a.example/1</sm:loc><sm:lastmod>2024-01-02T03:04:05Z</sm:lastmod>
				<video:video><video:loc>https://a.example/v.mp4</video:loc></video:video></sm:url>
				<sm:url><sm:loc></sm:loc></sm:url></sm:urlset>`,
			want: []entry{{kindURLSet, "https://a.example/1", "2024-01-02T03:04:05Z"}},
		},
		{
			name: "index",
			doc:  "\ufeff  <sitemapindex><sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>",
			want: []entry{{kindIndex, "https://a.example/s1.xml", ""}},
		},
		{
			name: "latin-1 declared",
			doc:  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><urlset><url><loc>https://a.example/caf\xe9</loc></url></urlset>",
			want: []entry{{kindURLSet, "https://a.example/café", ""}},
		},
		{
			name: "entities",
			doc:  `<urlset><url><loc>https://a.example/?a=1&amp;b=2</loc></url></urlset>`,
			want: []entry{{kindURLSet, "https://a.example/?a=1&b=2", ""}},
		},
		{name: "text list", doc: "https://a.example/1\r\nhttps://a.example/2\n", want: []entry{
			{kindURLSet, "https://a.example/1", ""}, {kindURLSet, "https://a.example/2", ""}}},
		{name: "gzip", doc: string(gzipBytes(`<urlset><url><loc>https://a.example/z</loc></url></urlset>`)),
			want: []entry{{kindURLSet, "https://a.example/z", ""}}},
		{name: "rss is not a sitemap", doc: `<rss><channel></channel></rss>`, wantErr: true},
		{name: "empty", doc: ``, wantErr: true},
		{name: "bad gzip", doc: "\x1f\x8bnot gzip", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []entry
			err := parseSitemap(strings.NewReader(tt.doc), 1<<20, func(kind string, e sitemapEntry) bool {
				got = append(got, entry{kind, strings.TrimSpace(e.Loc), e.Lastmod})
				return true
			})
			if tt.wantErr {
				require.ErrorIs(t, err, errSitemapSyntax)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseSitemap(f *testing.F) {
	f.Add([]byte(`<urlset><url><loc>https://a.example/</loc></url></urlset>`))
	f.Add([]byte(`<sitemapindex><sitemap><loc>x</loc></sitemap></sitemapindex>`))
	f.Add([]byte("https://a.example/\n"))
	f.Add(gzipBytes(`<urlset></urlset>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		n := 0
		// Never panics, never loops past the cap.
		_ = parseSitemap(strings.NewReader(string(doc)), 1<<16, func(string, sitemapEntry) bool {
			n++
			return n < 1000
		})
	})
}

func TestSitemapParserFallsBackToSitemapXML(t *testing.T) {
	t.Parallel()
	var base string
	withSitemap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sitemap.xml" {
			_, _ = io.WriteString(w, urlset(base, "/p/", 2))
			return
		}
		http.NotFound(w, r) // no robots.txt
	}))
	t.Cleanup(withSitemap.Close)
	base = withSitemap.URL
	empty := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(empty.Close)

	deps := adapters.Deps{AllowPrivateTargets: true}
	p := build(t, TypeSitemapParser, sitemapConfig(), deps)
	res, err := process(t, p, adapters.Payload{"sitemap_url": base})
	require.NoError(t, err)
	require.Equal(t, []string{base + "/p/0", base + "/p/1"}, urlsOf(t, res))

	_, err = process(t, p, adapters.Payload{"sitemap_url": empty.URL + "/"})
	requireCode(t, err, adapters.ClassPermanent, CodeSitemapNotFound)
}
