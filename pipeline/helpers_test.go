package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/pipeline/condition"
)

// Small stand-ins for built-in adapter specs: the loader only needs their
// names and config types.
type sitemapConfig struct {
	SitemapURL string `json:"sitemap_url" doc:"Sitemap to read."`
	MaxURLs    int    `json:"max_urls" default:"1000" minimum:"1" maximum:"100000"`
}

type scraperConfig struct {
	Timeout         time.Duration `json:"timeout" default:"30s" minimum:"1s" maximum:"10m"`
	FollowRedirects bool          `json:"follow_redirects" default:"true"`
	UserAgent       string        `json:"user_agent"`
}

type httpRequestConfig struct {
	URL    string `json:"url" required:"true" example:"https://api.example.org/items"`
	Method string `json:"method" default:"GET" enum:"GET,POST"`
}

type segmenterConfig struct {
	MinTokens int `json:"min_tokens" default:"50" minimum:"1"`
	MaxTokens int `json:"max_tokens" default:"800" minimum:"1"`
}

func (c segmenterConfig) Validate() error {
	if c.MinTokens > c.MaxTokens {
		return errors.New("min_tokens must not exceed max_tokens")
	}
	return nil
}

type filterConfig struct {
	Condition condition.Condition `json:"condition" required:"true"`
}

func build[C any](typ string) adapters.Spec {
	return adapters.Define(typ, "test", "test adapter", func(C, adapters.Deps) (adapters.Adapter, error) {
		return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
			return adapters.Pass(in.Payload), nil
		}), nil
	})
}

func noConfig(typ string) adapters.Spec {
	s := build[struct{}](typ)
	s.Config = nil
	return s
}

// testCatalog returns the stand-in registry (t may be nil outside tests).
func testCatalog(t testing.TB) *adapters.Registry {
	r := adapters.NewRegistry()
	for _, s := range []adapters.Spec{
		build[sitemapConfig]("sitemap_parser"),
		noConfig("url_expander"),
		build[scraperConfig]("web_scraper"),
		noConfig("web_content_storage"),
		build[httpRequestConfig]("http_request"),
		build[segmenterConfig]("smart_segmenter"),
		build[filterConfig]("filter"),
		noConfig("noop"),
	} {
		r.MustRegister(s)
	}
	return r
}

func load(t *testing.T, src string) (*pipeline.Pipeline, *pipeline.Report) {
	t.Helper()
	return pipeline.Load([]byte(src), testCatalog(t))
}

// mustLoad loads src and fails on any error finding.
func mustLoad(t *testing.T, src string) *pipeline.Pipeline {
	t.Helper()
	p, r := load(t, src)
	require.True(t, r.Valid(), "unexpected errors: %v", r.Errors())
	require.NotNil(t, p)
	return p
}

func codesOf(r *pipeline.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if !slices.Contains(out, f.Code) {
			out = append(out, f.Code)
		}
	}
	slices.Sort(out)
	return out
}

func findingOf(r *pipeline.Report, code string) *pipeline.Finding {
	for i := range r.Findings {
		if r.Findings[i].Code == code {
			return &r.Findings[i]
		}
	}
	return nil
}

func bytesReader(b []byte) *strings.Reader { return strings.NewReader(string(b)) }
