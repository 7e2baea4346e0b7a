package pipeline_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline"
)

const specExample = `
version: "1.0"
description: Crawl a docs site into searchable segments
defaults:
  error_handling: { max_retries: 3, retry_delay: 10s, backoff: exponential, dead_letter: true }
  backpressure:   { target_latency: 500ms, max_concurrency: 16 }
  circuit_breaker: { failure_ratio: 0.5, min_requests: 10, open_for: 30s, half_open_probes: 2 }
routes:
  discover:
    name: Discover pages
    inbound:  { queue: docs.discover, concurrency: 1, prefetch: 1 }
    adapters:
      - type: sitemap_parser
        config: { max_urls: 2000 }
      - type: url_expander
    outbound:
      - queue: docs.fetch
        condition: { field: url, operator: matches, value: "^https://" }
  fetch:
    inbound:  { queue: docs.fetch, concurrency: 8, prefetch: 16 }
    adapters:
      - type: web_scraper
        config: { timeout: 30s, follow_redirects: true }
      - type: web_content_storage
    outbound: [ { queue: docs.convert } ]
  convert:
    inbound: docs.convert
    adapters: [noop]
init_message:
  route: discover
  payload: { sitemap_url: "https://docs.example.org/sitemap.xml" }
`

func TestLoadSpecExample(t *testing.T) {
	t.Parallel()
	p, r := load(t, specExample)
	require.Empty(t, r.Findings)
	require.True(t, r.Valid())
	require.NoError(t, r.Err())

	require.Equal(t, "1.0", p.Version)
	require.Equal(t, "Crawl a docs site into searchable segments", p.Description)
	require.Equal(t, []string{"discover", "fetch", "convert"}, p.RouteOrder)
	require.Equal(t, pipeline.Execution{MaxHandlers: 30, MaxFanoutPending: 500, MaxPayloadBytes: 1 << 20}, p.Execution)
	require.Equal(t, &pipeline.InitMessage{Route: "discover", Payload: map[string]any{"sitemap_url": "https://docs.example.org/sitemap.xml"}}, p.InitMessage)

	d := p.Routes["discover"]
	require.Equal(t, "discover", d.ID)
	require.Equal(t, "Discover pages", d.Name)
	require.Equal(t, 9, d.Line)
	require.Equal(t, pipeline.Inbound{Queue: "docs.discover", Concurrency: 1, Prefetch: 1}, d.Inbound)
	require.Len(t, d.Adapters, 2)
	require.Equal(t, "sitemap_parser", d.Adapters[0].Name, "step name defaults to the type")
	require.Equal(t, sitemapConfig{MaxURLs: 2000}, d.Adapters[0].Config)
	require.Nil(t, d.Adapters[1].Config, "adapters without a config type get nil")
	require.Len(t, d.Outbound, 1)
	require.True(t, d.Outbound[0].Condition.Match(map[string]any{"url": "https://x"}))
	require.False(t, d.Outbound[0].Condition.Match(map[string]any{"url": "ftp://x"}))

	f := p.Routes["fetch"]
	require.Equal(t, pipeline.Inbound{Queue: "docs.fetch", Concurrency: 8, Prefetch: 16}, f.Inbound)
	require.Equal(t, scraperConfig{Timeout: 30 * time.Second, FollowRedirects: true}, f.Adapters[0].Config)
	require.Equal(t, []pipeline.Outbound{{Queue: "docs.convert"}}, f.Outbound)

	want := pipeline.ErrorHandling{MaxRetries: 3, RetryDelay: 10 * time.Second, MaxDelay: 5 * time.Minute,
		Backoff: "exponential", Jitter: 0.2, DeadLetter: true}
	cb := pipeline.CircuitBreaker{Enabled: true, FailureRatio: 0.5, MinRequests: 10, OpenFor: 30 * time.Second, HalfOpenProbes: 2, Window: time.Minute}
	for _, id := range p.RouteOrder {
		r := p.Routes[id]
		require.Equal(t, want, r.ErrorHandling, id)
		require.Equal(t, pipeline.Backpressure{TargetLatency: 500 * time.Millisecond, MaxConcurrency: 16}, r.Backpressure, id)
		require.Equal(t, cb, r.CircuitBreaker, id)
	}
	require.Equal(t, pipeline.Inbound{Queue: "docs.convert", Concurrency: 1, Prefetch: 1}, p.Routes["convert"].Inbound, "string shorthand for inbound")
	require.Equal(t, "noop", p.Routes["convert"].Adapters[0].Type, "string shorthand for an adapter")

	require.Equal(t, []pipeline.Edge{
		{From: "discover", To: "fetch", Queue: "docs.fetch"},
		{From: "fetch", To: "convert", Queue: "docs.convert"},
	}, pipeline.Edges(p))

	// The loaded pipeline serializes (config snapshots are JSON).
	_, err := json.Marshal(p)
	require.NoError(t, err)
}

func TestBuiltInDefaults(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch, concurrency: 4 }
    adapters: [web_scraper]
init_message: { route: fetch }
`)
	r := p.Routes["fetch"]
	require.Equal(t, pipeline.DefaultErrorHandling(), r.ErrorHandling)
	require.Equal(t, pipeline.ErrorHandling{MaxRetries: 3, RetryDelay: time.Second, MaxDelay: 5 * time.Minute,
		Backoff: pipeline.BackoffExponential, Jitter: 0.2, DeadLetter: true}, r.ErrorHandling)
	require.Equal(t, pipeline.Backpressure{MaxConcurrency: 4}, r.Backpressure, "max_concurrency follows concurrency")
	require.False(t, r.CircuitBreaker.Enabled, "no circuit_breaker block, no breaker")
	require.Equal(t, pipeline.CircuitBreaker{FailureRatio: 0.5, MinRequests: 10, OpenFor: 30 * time.Second, HalfOpenProbes: 2, Window: time.Minute}, r.CircuitBreaker)
	require.Equal(t, 4, r.Inbound.Prefetch, "prefetch follows concurrency")
	require.Zero(t, r.Timeout)
	require.Equal(t, scraperConfig{Timeout: 30 * time.Second, FollowRedirects: true}, r.Adapters[0].Config, "adapter defaults apply without a config block")
	require.Equal(t, map[string]any{}, p.InitMessage.Payload)
	require.Equal(t, pipeline.Execution{MaxHandlers: pipeline.DefaultMaxHandlers, MaxFanoutPending: pipeline.DefaultMaxFanoutPending,
		MaxPayloadBytes: pipeline.DefaultMaxPayloadBytes}, pipeline.DefaultExecution())
}

func TestDefaultsInheritanceAndOverride(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, `
version: "1.0"
defaults:
  error_handling: { max_retries: 5, retry_delay: 2s, jitter: 0 }
  backpressure: { target_latency: 1s, max_concurrency: 32 }
  circuit_breaker: { min_requests: 20 }
  timeout: 1m
routes:
  a:
    inbound: { queue: q.a }
    adapters: [noop]
    outbound: [q.b]
  b:
    inbound: { queue: q.b, concurrency: 2 }
    adapters: [noop]
    timeout: 10s
    error_handling: { max_retries: 0 }
    backpressure: { target_latency: 0s }
    circuit_breaker: { enabled: false }
execution: { max_handlers: 64 }
init_message: { route: a }
`)
	a, b := p.Routes["a"], p.Routes["b"]
	require.Equal(t, 5, a.ErrorHandling.MaxRetries)
	require.Equal(t, 2*time.Second, a.ErrorHandling.RetryDelay)
	require.Equal(t, 0.0, a.ErrorHandling.Jitter)
	require.Equal(t, time.Minute, a.Timeout)
	require.Equal(t, pipeline.Backpressure{TargetLatency: time.Second, MaxConcurrency: 32}, a.Backpressure)
	require.True(t, a.CircuitBreaker.Enabled, "a defaults block turns the breaker on")
	require.Equal(t, 20, a.CircuitBreaker.MinRequests)

	require.Equal(t, 0, b.ErrorHandling.MaxRetries, "route overrides one key")
	require.Equal(t, 2*time.Second, b.ErrorHandling.RetryDelay, "and inherits the others")
	require.Equal(t, 0.0, b.ErrorHandling.Jitter)
	require.Equal(t, 10*time.Second, b.Timeout)
	require.Equal(t, pipeline.Backpressure{TargetLatency: 0, MaxConcurrency: 32}, b.Backpressure)
	require.False(t, b.CircuitBreaker.Enabled, "enabled: false wins over the block's presence")
	require.Equal(t, 20, b.CircuitBreaker.MinRequests)
	require.Equal(t, 64, p.Execution.MaxHandlers)
	require.Equal(t, 500, p.Execution.MaxFanoutPending)
}

func TestReferenceCompatibility(t *testing.T) {
	t.Parallel()
	p, r := load(t, `
version: "1.0"
error_handling:
  max_retries: 2
  retry_delay_seconds: 5
  dead_letter_queue: "/queue/docs.dlq"
backpressure:
  target_latency_ms: 800
  max_concurrency: 16
routes:
  discover:
    inbound:
      queue: "/queue/docs.discover"
      subscription: "docs-discover"
      concurrency: 1
      prefetch: 1
    adapters:
      - type: sitemap_parser
        config:
          max_urls: 2000
      - type: url_expander
    outbound: { queue: "/queue/docs.fetch" }
  fetch:
    inbound:
      queue: "/queue/docs.fetch"
      subscription: "docs-fetch"
      concurrency: 8
      prefetch: 16
    adapters:
      - type: web_scraper
        condition:
          field: "url"
          operator: "matches"
          value: "^https://docs\\."
        config:
          follow_redirects: true
          timeout: 30
    error_handling:
      max_retries: 4
      retry_delay_seconds: 20
      dead_letter_queue: "/queue/docs.fetch.dlq"
    timeout_seconds: 90
init_message:
  route: discover
  payload:
    sitemap_url: "https://docs.example.org/sitemap.xml"
`)
	require.True(t, r.Valid(), "%v", r.Errors())
	for _, f := range r.Findings {
		require.Equal(t, "W001", f.Code, "only reference-spelling warnings: %v", f)
		require.NotEmpty(t, f.Remediation)
	}
	require.GreaterOrEqual(t, r.WarningCount(), 8)

	d, f := p.Routes["discover"], p.Routes["fetch"]
	require.Equal(t, pipeline.Inbound{Queue: "docs.discover", Concurrency: 1, Prefetch: 1, Subscription: "docs-discover"}, d.Inbound)
	require.Equal(t, "docs.fetch", d.Outbound[0].Queue)
	require.Equal(t, 2, d.ErrorHandling.MaxRetries)
	require.Equal(t, 5*time.Second, d.ErrorHandling.RetryDelay)
	require.Equal(t, "docs.dlq", d.ErrorHandling.DeadLetterQueue)
	require.Equal(t, pipeline.Backpressure{TargetLatency: 800 * time.Millisecond, MaxConcurrency: 16}, d.Backpressure)

	require.Equal(t, 4, f.ErrorHandling.MaxRetries)
	require.Equal(t, 20*time.Second, f.ErrorHandling.RetryDelay)
	require.Equal(t, "docs.fetch.dlq", f.ErrorHandling.DeadLetterQueue)
	require.Equal(t, 90*time.Second, f.Timeout)
	require.Equal(t, 30*time.Second, f.Adapters[0].Config.(scraperConfig).Timeout, "a bare number of seconds")
	require.Equal(t, []pipeline.Edge{{From: "discover", To: "fetch", Queue: "docs.fetch"}}, pipeline.Edges(p))

	w := findingOf(r, "W001")
	require.Equal(t, "error_handling", w.Path)
	require.Equal(t, 3, w.Line)
}

func TestDurationsEverywhere(t *testing.T) {
	t.Parallel()
	cases := []struct {
		yaml string
		want time.Duration
		warn bool
	}{
		{"timeout: 1500ms", 1500 * time.Millisecond, false},
		{"timeout: 1h30m", 90 * time.Minute, false},
		{"timeout_seconds: 2", 2 * time.Second, true},
		{"timeout_ms: 250", 250 * time.Millisecond, true},
		{"timeout: 45", 45 * time.Second, true},
	}
	for _, tc := range cases {
		t.Run(tc.yaml, func(t *testing.T) {
			t.Parallel()
			p, r := load(t, `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters: [noop]
    `+tc.yaml+`
init_message: { route: a }
`)
			require.True(t, r.Valid(), "%v", r.Findings)
			require.Equal(t, tc.want, p.Routes["a"].Timeout)
			require.Equal(t, tc.warn, r.Has("W001"))
		})
	}
}

func TestFindingPositions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, code, path string
		line, col             int
		contains              string
	}{
		{"unknown route key", `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapterz: [noop]
init_message: { route: a }
`, "E004", "routes.a.adapterz", 6, 5, `did you mean "adapters"?`},
		{"unknown step key", `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters:
      - type: noop
        confg: {}
init_message: { route: a }
`, "E004", "routes.a.adapters[0].confg", 8, 9, `did you mean "config"?`},
		{"unknown defaults key in error_handling", `
version: "1.0"
defaults:
  error_handling: { max_retrys: 2 }
routes:
  a: { inbound: q.a, adapters: [noop] }
init_message: { route: a }
`, "E004", "defaults.error_handling.max_retrys", 4, 21, `did you mean "max_retries"?`},
		{"adapter config path", `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters:
      - noop
      - type: web_scraper
        config:
          timeout: 1h
init_message: { route: a }
`, "E304", "routes.a.adapters[1].config.timeout", 10, 20, "above the maximum 10m"},
		{"missing required config without a config block", `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters:
      - type: http_request
init_message: { route: a }
`, "E302", "routes.a.adapters[0].config.url", 7, 9, `missing required field "url"`},
		{"filter condition inside config", `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters:
      - type: filter
        config:
          condition: { field: n, operator: gt, value: ten }
init_message: { route: a }
`, "E403", "routes.a.adapters[0].config.condition.value", 9, 55, "needs a number"},
		{"outbound condition", `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters: [noop]
    outbound:
      - queue: q.b
        condition: { field: x, operator: matches, value: "[" }
  b: { inbound: q.b, adapters: [noop] }
init_message: { route: a }
`, "E404", "routes.a.outbound[0].condition.value", 9, 58, "missing closing ]"},
		{"dead letter queue name", `
version: "1.0"
defaults:
  error_handling: { dead_letter_queue: "bad queue" }
routes:
  a: { inbound: q.a, adapters: [noop] }
init_message: { route: a }
`, "E204", "defaults.error_handling.dead_letter_queue", 4, 40, "has ' '"},
		{"max_delay below retry_delay", `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters: [noop]
    error_handling: { retry_delay: 10m }
init_message: { route: a }
`, "E501", "routes.a.error_handling", 7, 21, "max_delay (5m0s) is shorter than retry_delay (10m0s)"},
		{"execution limit", `
version: "1.0"
execution: { max_handlers: 0 }
routes:
  a: { inbound: q.a, adapters: [noop] }
init_message: { route: a }
`, "E504", "execution.max_handlers", 3, 28, "below the minimum 1"},
		{"routes as a list", `
version: "1.0"
routes:
  - a
`, "E005", "routes", 4, 3, "must be a mapping"},
		{"empty adapters", `
version: "1.0"
routes:
  a: { inbound: q.a, adapters: [] }
init_message: { route: a }
`, "E103", "routes.a.adapters", 4, 32, "has no adapters"},
		{"init route suggestion", `
version: "1.0"
routes:
  discover: { inbound: q.a, adapters: [noop] }
init_message: { route: discovr }
`, "E201", "init_message.route", 5, 24, `did you mean "discover"?`},
		{"outbound suggestion", `
version: "1.0"
routes:
  a: { inbound: docs.fetch, adapters: [noop], outbound: [docs.store] }
  b: { inbound: docs.stored, adapters: [noop] }
init_message: { route: a }
`, "E205", "routes.a.outbound[0]", 4, 58, `did you mean "docs.stored"?`},
		{"multiple documents", `
version: "1.0"
routes:
  a: { inbound: q.a, adapters: [noop] }
---
version: "1.0"
`, "E002", "", 6, 1, "more than one YAML document"},
		{"tab indentation", "version: \"1.0\"\nroutes:\n\ta: {}\n", "E001", "", 3, 0, "cannot start any token"},
		{"unclosed quote", "version: \"1.0\"\ndescription: \"open\nroutes: {}\n", "E001", "", 2, 0, "unexpected end of stream"},
		{"bad indentation", "version: \"1.0\"\nroutes:\n  a:\n    inbound: q\n   adapters: []\n", "E001", "", 3, 0, "did not find expected key"},
		{"unknown anchor", "version: \"1.0\"\nroutes:\n  a: *nope\n", "E001", "", 3, 6, "unknown anchor"},
		{"mapping value on line 1", "version: a: b\n", "E001", "", 1, 0, "mapping values are not allowed"},
		{"empty document", "# nothing here\n", "E002", "", 1, 1, "empty"},
		{"version missing", "routes:\n  a: { inbound: q.a, adapters: [noop] }\ninit_message: { route: a }\n", "E003", "version", 1, 1, "missing"},
		{"version number", "version: 1\nroutes:\n  a: { inbound: q.a, adapters: [noop] }\ninit_message: { route: a }\n", "E003", "version", 1, 10, `unsupported version "1"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, r := load(t, tc.src)
			f := findingOf(r, tc.code)
			require.NotNil(t, f, "want %s, got %v", tc.code, r.Findings)
			require.Equal(t, tc.path, f.Path, "%v", f)
			require.Equal(t, tc.line, f.Line, "%v", f)
			require.Equal(t, tc.col, f.Column, "%v", f)
			require.Contains(t, f.Message, tc.contains)
			require.NotEmpty(t, f.Remediation)
		})
	}
}

func TestVersionAsFloatIsAccepted(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, "version: 1.0\nroutes:\n  a: { inbound: q.a, adapters: [noop] }\ninit_message: { route: a }\n")
	require.Equal(t, "1.0", p.Version)
}

func TestOutboundShapes(t *testing.T) {
	t.Parallel()
	for _, out := range []string{
		"outbound: q.b",
		"outbound: { queue: q.b }",
		"outbound: [q.b]",
		"outbound: [{ queue: /queue/q.b }]",
	} {
		t.Run(out, func(t *testing.T) {
			t.Parallel()
			p := mustLoad(t, `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters: [noop]
    `+out+`
  b: { inbound: q.b, adapters: [noop] }
init_message: { route: a }
`)
			require.Equal(t, []pipeline.Outbound{{Queue: "q.b"}}, p.Routes["a"].Outbound)
		})
	}
}

func TestWiring(t *testing.T) {
	t.Parallel()
	src := `
version: "1.0"
routes:
  discover:
    inbound: q.discover
    adapters: [noop]
    outbound:
      - queue: q.fetch
        condition: { field: kind, operator: equals, value: page }
      - q.index
  fetch:
    inbound: q.fetch
    adapters: [noop]
    outbound: [q.index, q.discover]
  index:
    inbound: q.index
    adapters: [noop]
init_message: { route: discover }
`
	p, r := load(t, src)
	require.Equal(t, []pipeline.Edge{
		{From: "discover", To: "fetch", Queue: "q.fetch"},
		{From: "discover", To: "index", Queue: "q.index"},
		{From: "fetch", To: "index", Queue: "q.index"},
		{From: "fetch", To: "discover", Queue: "q.discover"},
	}, pipeline.Edges(p))
	require.Equal(t, []string{"W201"}, codesOf(r))
	w := findingOf(r, "W201")
	require.Equal(t, "routes.discover", w.Path)
	require.Contains(t, w.Message, "discover → fetch → discover")

	p, r = load(t, "allow_cycles: true\n"+src)
	require.Empty(t, r.Findings, "declared cycles are fine")
	require.True(t, p.AllowCycles)

	require.Nil(t, pipeline.Edges(nil))
}

func TestSelfLoopAllowedWithAllowCycles(t *testing.T) {
	t.Parallel()
	src := `
version: "1.0"
routes:
  crawl: { inbound: q.crawl, adapters: [noop], outbound: [q.crawl] }
init_message: { route: crawl }
`
	_, r := load(t, src)
	require.Equal(t, []string{"E206"}, codesOf(r))
	p, r := load(t, "allow_cycles: true\n"+src)
	require.Empty(t, r.Findings)
	require.Equal(t, []pipeline.Edge{{From: "crawl", To: "crawl", Queue: "q.crawl"}}, pipeline.Edges(p))
}

func TestNoInitMessageTakesFirstRouteAsEntry(t *testing.T) {
	t.Parallel()
	_, r := load(t, `
version: "1.0"
routes:
  a: { inbound: q.a, adapters: [noop], outbound: [q.b] }
  b: { inbound: q.b, adapters: [noop] }
  c: { inbound: q.c, adapters: [noop] }
`)
	require.True(t, r.Valid())
	require.Equal(t, []string{"W101", "W202"}, codesOf(r))
	require.Equal(t, "routes.c", findingOf(r, "W202").Path)
}

func TestStepsAndConditions(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, `
version: "1.0"
routes:
  a:
    inbound: q.a
    ordering: key
    ordering_key: document.url
    adapters:
      - type: web_scraper
        name: fetch_html
        condition:
          all:
            - { field: url, operator: exists }
            - any:
                - { field: lang, operator: in, value: [en, de] }
                - { field: score, operator: gte, value: 0.5 }
      - type: filter
        config:
          condition: { field: status_code, operator: lt, value: 400 }
init_message: { route: a }
`)
	steps := p.Routes["a"].Adapters
	require.Equal(t, "fetch_html", steps[0].Name)
	require.Equal(t, "web_scraper", steps[0].Type)
	c := steps[0].Condition
	require.True(t, c.Match(map[string]any{"url": "u", "lang": "de"}))
	require.True(t, c.Match(map[string]any{"url": "u", "score": 0.7}))
	require.False(t, c.Match(map[string]any{"url": "u", "lang": "fr"}))
	require.False(t, c.Match(map[string]any{"lang": "en"}))
	fc := steps[1].Config.(filterConfig)
	require.True(t, fc.Condition.Match(map[string]any{"status_code": 200}))
	require.False(t, fc.Condition.Match(map[string]any{"status_code": 404}))
	require.Equal(t, "key", p.Routes["a"].Ordering)
	require.Equal(t, "document.url", p.Routes["a"].OrderingKey)
}

func TestNilCatalogSkipsAdapterChecks(t *testing.T) {
	t.Parallel()
	p, r := pipeline.Load([]byte(`
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters:
      - type: anything_goes
        config: { x: [1, 2] }
init_message: { route: a }
`), nil)
	require.Empty(t, r.Findings)
	require.Equal(t, map[string]any{"x": []any{1, 2}}, p.Routes["a"].Adapters[0].Config)
}

func TestTestsSectionIsKept(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, `
version: "1.0"
routes:
  a: { inbound: q.a, adapters: [noop] }
init_message: { route: a }
tests:
  - name: passes through
    route: a
    input: { x: 1 }
    expect: [{ x: 1 }]
`)
	require.NotNil(t, p.Tests)
	require.Len(t, configspec.Resolve(p.Tests).Content, 1)
}

func TestMergeKeysShareSettings(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, `
version: "1.0"
x-scraper: &scraper
  type: web_scraper
  config: { timeout: 5s }
routes:
  a:
    inbound: q.a
    adapters:
      - <<: *scraper
        name: first
      - *scraper
init_message: { route: a }
`)
	steps := p.Routes["a"].Adapters
	require.Len(t, steps, 2)
	require.Equal(t, "first", steps[0].Name)
	require.Equal(t, "web_scraper", steps[1].Name)
	for _, st := range steps {
		require.Equal(t, 5*time.Second, st.Config.(scraperConfig).Timeout)
	}
}

func TestInvalidPipelineStillLoadsPartially(t *testing.T) {
	t.Parallel()
	p, r := load(t, `
version: "1.0"
routes:
  a:
    inbound: q.a
    adapters:
      - type: nope
      - type: web_scraper
        config: { timeout: forever }
init_message: { route: a }
`)
	require.False(t, r.Valid())
	require.Equal(t, []string{"E101", "E303"}, codesOf(r))
	require.Error(t, r.Err())
	require.NotNil(t, p)
	require.Len(t, p.Routes["a"].Adapters, 2)
	require.Equal(t, 30*time.Second, p.Routes["a"].Adapters[1].Config.(scraperConfig).Timeout, "invalid values keep defaults")
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	_, r := load(t, "version: \"1.0\"\nroutes: {}\n")
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Equal(t, false, got["valid"])
	require.Equal(t, 1.0, got["error_count"])
	require.Equal(t, 1.0, got["warning_count"])
	fs := got["findings"].([]any)
	require.Len(t, fs, 2)
	first := fs[0].(map[string]any)
	for _, k := range []string{"severity", "code", "path", "line", "column", "message", "remediation"} {
		require.Contains(t, first, k)
	}
	var back pipeline.Report
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, r.Findings, back.Findings)
	require.Len(t, r.Errors(), 1)
	require.Len(t, r.Warnings(), 1)
}

func TestValidatePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	valid := "version: \"1.0\"\nroutes:\n  a: { inbound: q.a, adapters: [noop] }\ninit_message: { route: a }\n"
	write := func(name, content string) {
		full := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	write("b.yaml", valid)
	write("a.yml", "version: \"2\"\n")
	write("nested/c.yaml", valid)
	write("b_test.yaml", "not: a pipeline\n")
	write("notes.txt", "ignored")

	reports, err := pipeline.ValidatePath(dir, testCatalog(t))
	require.NoError(t, err)
	var files []string
	for _, fr := range reports {
		files = append(files, filepath.ToSlash(fr.File[len(dir)+1:]))
	}
	require.Equal(t, []string{"a.yml", "b.yaml", "nested/c.yaml"}, files)
	require.False(t, reports[0].Valid())
	require.True(t, reports[1].Valid())
	require.NotNil(t, reports[1].Pipeline)

	raw, err := json.Marshal(reports[0])
	require.NoError(t, err)
	require.Contains(t, string(raw), `"valid":false`)
	require.Contains(t, string(raw), `"file":`)

	one, err := pipeline.ValidatePath(filepath.Join(dir, "b_test.yaml"), testCatalog(t))
	require.NoError(t, err, "a file named explicitly is validated")
	require.Len(t, one, 1)
	require.False(t, one[0].Valid())

	_, err = pipeline.ValidatePath(filepath.Join(dir, "missing.yaml"), testCatalog(t))
	require.Error(t, err)
	empty := t.TempDir()
	_, err = pipeline.ValidatePath(empty, testCatalog(t))
	require.ErrorContains(t, err, "no pipeline files")

	_, _, err = pipeline.LoadFile(filepath.Join(dir, "missing.yaml"), nil)
	require.ErrorContains(t, err, "reading pipeline")
}

func TestIsPipelineFile(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"a.yaml": true, "a.yml": true, "a_test.yaml": false, "a_test.yml": false,
		"a.json": false, "test.yaml": true, "a_tests.yaml": true,
	} {
		require.Equal(t, want, pipeline.IsPipelineFile(name), name)
	}
}
