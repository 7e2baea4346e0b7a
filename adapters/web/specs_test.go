package web

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/configspec"
)

func TestSpecs(t *testing.T) {
	t.Parallel()
	specs := Specs()
	types := make([]string, 0, len(specs))
	reg := adapters.NewRegistry()
	for _, s := range specs {
		types = append(types, s.Type)
		require.NoError(t, reg.Register(s))
		require.Equal(t, Category, s.Category)
		require.NotEmpty(t, s.Summary, s.Type)
		require.NotEmpty(t, s.Description, s.Type)
		require.NotEmpty(t, s.Reads, s.Type)
		require.NotEmpty(t, s.Writes, s.Type)
		require.NotNil(t, s.Config, s.Type)
		require.NoError(t, configspec.Check(s.Config), s.Type)
		for _, f := range configspec.Fields(s.Config) {
			require.NotEmpty(t, f.Doc, "%s.%s has no doc", s.Type, f.Name)
		}
	}
	require.Equal(t, []string{TypeSitemapParser, TypeURLExpander, TypeWebScraper, TypeWebContentStorage}, types)
	emits := map[string]bool{}
	for _, s := range specs {
		emits[s.Type] = s.Emits
	}
	require.Equal(t, map[string]bool{TypeSitemapParser: false, TypeURLExpander: true, TypeWebScraper: false, TypeWebContentStorage: false}, emits)
}

// TestSpecDefaults checks that the tag defaults are what the code documents
// and that every adapter builds from them.
func TestSpecDefaults(t *testing.T) {
	t.Parallel()
	scr := configspec.Defaults(reflect.TypeFor[WebScraperConfig]()).(WebScraperConfig)
	require.Equal(t, WebScraperConfig{
		Timeout: 30 * time.Second, FollowRedirects: true, MaxRedirects: 10, MaxBytes: 10 << 20,
		Accept: defaultAccept, RobotsTTL: time.Hour,
		RequestsPerSecond: 2, MaxRequestsPerSecond: 10, MinRequestsPerSecond: 0.1, Burst: 1,
	}, scr)
	require.Equal(t, scr, scr.withDefaults(), "build-time defaults agree with the tags")

	sm := configspec.Defaults(reflect.TypeFor[SitemapParserConfig]()).(SitemapParserConfig)
	require.Equal(t, SitemapParserConfig{
		MaxURLs: 50000, MaxDepth: 3, MaxSitemaps: 1000, Timeout: 30 * time.Second, MaxBytes: 50 << 20,
	}, sm)
	require.Equal(t, sm, sitemapConfig())

	x := configspec.Defaults(reflect.TypeFor[URLExpanderConfig]()).(URLExpanderConfig)
	require.Equal(t, URLExpanderConfig{Field: "urls"}, x)

	st, _ := newFSStore(t)
	deps := adapters.Deps{Storage: st}
	for _, s := range Specs() {
		a, err := s.New(configspec.Defaults(s.Config), deps)
		require.NoError(t, err, s.Type)
		if c, ok := a.(adapters.Closer); ok {
			require.NoError(t, c.Close(t.Context()))
		}
	}
}

func TestSpecConfigDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		typ   reflect.Type
		yaml  string
		codes []string
	}{
		{"reference scraper config", reflect.TypeFor[WebScraperConfig](), "follow_redirects: true\ntimeout: 30\n", []string{"W001"}},
		{"unknown field", reflect.TypeFor[WebScraperConfig](), "respect_robots: false\n", []string{"E301"}},
		{"bad accept", reflect.TypeFor[WebScraperConfig](), "accept: [html]\n", []string{"E305"}},
		{"empty rate range", reflect.TypeFor[WebScraperConfig](), "min_requests_per_second: 5\nmax_requests_per_second: 1\n", []string{"E305"}},
		{"bad regex", reflect.TypeFor[SitemapParserConfig](), "include: ['(']\n", []string{"E305"}},
		{"max urls out of range", reflect.TypeFor[SitemapParserConfig](), "max_urls: 0\n", []string{"E304"}},
		{"sitemap ok", reflect.TypeFor[SitemapParserConfig](), "max_urls: 2000\nexclude: ['\\.pdf$']\n", nil},
		{"expander ok", reflect.TypeFor[URLExpanderConfig](), "field: links\ncarry: [tenant]\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n yaml.Node
			require.NoError(t, yaml.Unmarshal([]byte(tt.yaml), &n))
			_, findings := configspec.Decode(&n, tt.typ, "config")
			var got []string
			for _, f := range findings {
				got = append(got, f.Code)
			}
			require.Equal(t, tt.codes, got, "findings: %v", findings)
		})
	}
}
