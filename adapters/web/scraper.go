package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"

	"github.com/factflow/factflow/adapters"
)

// WebScraperConfig configures web_scraper.
type WebScraperConfig struct {
	Timeout         time.Duration `json:"timeout" default:"30s" minimum:"100ms" maximum:"10m" doc:"Limit for one fetch: connecting, waiting for the answer and reading the body (time spent waiting for the rate limit is not counted)."`
	FollowRedirects bool          `json:"follow_redirects" default:"true" doc:"Follow HTTP redirects; every hop is checked by the SSRF guard. When false a 3xx answer fails permanently."`
	MaxRedirects    int           `json:"max_redirects" default:"10" minimum:"1" maximum:"30" doc:"Redirects followed before the fetch fails with WEB_TOO_MANY_REDIRECTS."`
	MaxBytes        int64         `json:"max_bytes" default:"10485760" minimum:"1024" maximum:"1073741824" doc:"Largest body accepted, in bytes; larger pages fail permanently with WEB_TOO_LARGE."`
	UserAgent       string        `json:"user_agent" doc:"User-Agent header and robots.txt identity (its product token). Defaults to the server's user agent."`
	Accept          []string      `json:"accept" default:"[text/html, application/xhtml+xml, text/plain, text/markdown, application/xml, text/xml, application/json]" doc:"Accepted media types (\"text/html\", \"text/*\", \"*/*\"); other content types fail permanently with WEB_CONTENT_TYPE. Non-text types travel base64-encoded."`
	IgnoreRobots    bool          `json:"ignore_robots" default:"false" doc:"Fetch pages robots.txt disallows. Off by default: disallowed pages fail permanently with WEB_ROBOTS_DISALLOWED."`
	RobotsTTL       time.Duration `json:"robots_ttl" default:"1h" minimum:"1s" maximum:"168h" doc:"How long a host's robots.txt is cached."`

	RequestsPerSecond    float64 `json:"requests_per_second" default:"2" minimum:"0.01" maximum:"1000" doc:"Starting request rate per host. It grows by a tenth of this on each success and halves on 429/503."`
	MaxRequestsPerSecond float64 `json:"max_requests_per_second" default:"10" minimum:"0.01" maximum:"1000" doc:"Ceiling of the adaptive per-host rate (raised to requests_per_second if below it)."`
	MinRequestsPerSecond float64 `json:"min_requests_per_second" default:"0.1" minimum:"0.001" maximum:"1000" doc:"Floor of the adaptive per-host rate (lowered to requests_per_second if above it)."`
	Burst                int     `json:"burst" default:"1" minimum:"1" maximum:"100" doc:"Requests a host may receive at once before the rate applies."`
}

// Defaults of WebScraperConfig, also applied to zero fields at build time.
const (
	defaultScraperTimeout = 30 * time.Second
	defaultMaxRedirects   = 10
	defaultMaxBytes       = 10 << 20
	defaultRobotsTTL      = time.Hour
	defaultRPS            = 2
	defaultMaxRPS         = 10
	defaultMinRPS         = 0.1
)

// defaultAccept is used when the config lists no media types.
var defaultAccept = []string{
	"text/html", "application/xhtml+xml", "text/plain", "text/markdown",
	"application/xml", "text/xml", "application/json",
}

func (c WebScraperConfig) withDefaults() WebScraperConfig {
	if c.Timeout <= 0 {
		c.Timeout = defaultScraperTimeout
	}
	if c.MaxRedirects <= 0 {
		c.MaxRedirects = defaultMaxRedirects
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = defaultMaxBytes
	}
	if c.RobotsTTL <= 0 {
		c.RobotsTTL = defaultRobotsTTL
	}
	if c.RequestsPerSecond <= 0 {
		c.RequestsPerSecond = defaultRPS
	}
	if c.MaxRequestsPerSecond <= 0 {
		c.MaxRequestsPerSecond = max(defaultMaxRPS, c.RequestsPerSecond)
	}
	if c.MinRequestsPerSecond <= 0 {
		c.MinRequestsPerSecond = min(defaultMinRPS, c.RequestsPerSecond)
	}
	if c.Burst <= 0 {
		c.Burst = 1
	}
	if len(c.Accept) == 0 {
		c.Accept = defaultAccept
	}
	return c
}

// Validate reports config errors the tags cannot express; pipeline
// validation calls it.
func (c WebScraperConfig) Validate() error {
	for i, a := range c.Accept {
		if _, _, err := mime.ParseMediaType(a); err != nil || !strings.Contains(a, "/") {
			return fmt.Errorf("accept[%d] %q is not a media type (type/subtype)", i, a)
		}
	}
	// requests_per_second outside [min, max] widens the range (newLimits),
	// so raising only the starting rate just works; an empty range cannot.
	if c.MinRequestsPerSecond > 0 && c.MaxRequestsPerSecond > 0 && c.MinRequestsPerSecond > c.MaxRequestsPerSecond {
		return fmt.Errorf("min_requests_per_second (%g) is above max_requests_per_second (%g)",
			c.MinRequestsPerSecond, c.MaxRequestsPerSecond)
	}
	return nil
}

type scraper struct {
	ownedClient
	cfg    WebScraperConfig
	fetch  *fetcher
	robots *robotsCache
	limits *limits
	accept string // Accept header
}

func newScraper(cfg WebScraperConfig, deps adapters.Deps) (adapters.Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	base, owned := baseClient(deps)
	lim := newLimits(cfg.RequestsPerSecond, cfg.MinRequestsPerSecond, cfg.MaxRequestsPerSecond, cfg.Burst)
	ua := userAgent(cfg.UserAgent, deps)
	s := &scraper{
		ownedClient: owning(base, owned),
		cfg:         cfg,
		limits:      lim,
		fetch: &fetcher{
			client:    deriveClient(base, cfg.FollowRedirects, cfg.MaxRedirects, lim),
			limits:    lim,
			userAgent: ua,
			timeout:   cfg.Timeout,
		},
		accept: acceptHeader(cfg.Accept),
	}
	// robots.txt follows up to five redirects (RFC 9309) whatever the
	// page policy is, and shares the host's rate limit.
	robotsFetch := &fetcher{
		client:    deriveClient(base, true, 5, lim),
		limits:    lim,
		userAgent: ua,
		timeout:   cfg.Timeout,
	}
	s.robots = newRobotsCache(robotsFetch, cfg.RobotsTTL, robotsToken(ua))
	return s, nil
}

func acceptHeader(types []string) string {
	parts := make([]string, 0, len(types)+1)
	wild := false
	for _, t := range types {
		parts = append(parts, t)
		wild = wild || t == "*/*"
	}
	if !wild {
		// Servers that cannot offer any listed type may still send
		// something; we judge the answer's Content-Type ourselves.
		parts = append(parts, "*/*;q=0.1")
	}
	return strings.Join(parts, ", ")
}

func (s *scraper) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	raw, ok := in.Payload["url"].(string)
	if !ok {
		return nil, adapters.PermanentCoded(CodeFieldMissing, "the message needs a url field (string)",
			fmt.Errorf("payload field url is %T, want a string", in.Payload["url"]))
	}
	u, err := parseTarget(raw)
	if err != nil {
		return nil, err
	}
	target := u.String()

	if !s.cfg.IgnoreRobots {
		ok, err := s.robots.allowed(ctx, u)
		if err != nil {
			return nil, robotsError(ctx, err, target, in.Meta.Attempt)
		}
		if !ok {
			return nil, adapters.PermanentCoded(CodeRobotsDisallowed,
				"the site's robots.txt disallows this page for our user agent",
				fmt.Errorf("robots.txt of %s disallows %s", u.Host, u.RequestURI()))
		}
	}

	resp, done, err := s.fetch.get(ctx, u, s.accept)
	if err != nil {
		return nil, transportError(ctx, err, target, in.Meta.Attempt)
	}
	defer done()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, statusError(resp, target)
	}
	if resp.ContentLength > s.cfg.MaxBytes {
		return nil, adapters.PermanentCoded(CodeTooLarge, "raise max_bytes to accept larger bodies",
			fmt.Errorf("GET %s: body of %d bytes exceeds max_bytes %d", target, resp.ContentLength, s.cfg.MaxBytes))
	}
	body, err := readLimited(resp.Body, s.cfg.MaxBytes)
	if err != nil {
		return nil, transportError(ctx, fmt.Errorf("reading %s: %w", target, err), target, in.Meta.Attempt)
	}

	header := resp.Header.Get("Content-Type")
	mediaType := mediaTypeOf(header, body)
	if !accepted(mediaType, s.cfg.Accept) {
		return nil, adapters.PermanentCoded(CodeContentType, "add the type to accept (or \"*/*\") to fetch it",
			fmt.Errorf("GET %s: content type %q is not accepted", target, mediaType))
	}

	out := in.Payload
	if isText(mediaType) {
		text, cs := decodeText(body, header)
		out["content"] = text
		out["charset"] = cs
		if isHTML(mediaType) {
			if title := htmlTitle(text); title != "" {
				out["title"] = title
			}
		}
	} else {
		out["content"] = base64.StdEncoding.EncodeToString(body)
		out["content_encoding"] = "base64"
	}
	out["content_type"] = mediaType
	out["status_code"] = resp.StatusCode
	out["final_url"] = resp.Request.URL.String()
	out["fetched_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	return adapters.Pass(out), nil
}

// robotsError classifies a failure to read robots.txt.
func robotsError(ctx context.Context, err error, target string, attempt int) error {
	var rs *robotsStatusError
	if !errors.As(err, &rs) {
		return transportError(ctx, err, target, attempt)
	}
	coded := adapters.Coded(CodeRobotsUnavailable,
		"the site's robots.txt answered with an error; the fetch is retried (or set ignore_robots: true)", err)
	if d, ok := retryAfter(rs.resp.Header, time.Now()); ok {
		return adapters.RetryAfter(coded, d)
	}
	return coded
}

// mediaTypeOf returns the lower-case media type of a response, sniffing the
// body when the header is missing or unparsable.
func mediaTypeOf(header string, body []byte) string {
	if mt, _, err := mime.ParseMediaType(header); err == nil && mt != "" {
		return mt
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(body))
	return mt
}

func accepted(mediaType string, accept []string) bool {
	major, _, _ := strings.Cut(mediaType, "/")
	for _, a := range accept {
		a, _, _ = mime.ParseMediaType(a)
		switch {
		case a == "*/*", a == mediaType:
			return true
		case strings.HasSuffix(a, "/*") && strings.TrimSuffix(a, "/*") == major:
			return true
		}
	}
	return false
}

func isHTML(mt string) bool { return mt == "text/html" || mt == "application/xhtml+xml" }

// isText tells whether a media type is text that travels as a UTF-8 string
// (everything else travels base64-encoded).
func isText(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+json"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-ndjson", mt == "application/yaml", mt == "application/x-yaml":
		return true
	}
	return false
}

// decodeText converts body to UTF-8 using, in order, a byte-order mark, the
// charset parameter of the Content-Type header and an HTML meta
// declaration. Undeclared bodies that are valid UTF-8 are taken as UTF-8
// (the sniffing in charset only looks at the first kilobyte); the rest fall
// back to windows-1252, as browsers do. It returns the text and the name of
// the encoding used.
func decodeText(body []byte, contentType string) (string, string) {
	enc, name, certain := charset.DetermineEncoding(body, contentType)
	if !certain && utf8.Valid(body) {
		name = "utf-8"
	}
	var text string
	if name == "utf-8" {
		text = string(body)
	} else if b, err := enc.NewDecoder().Bytes(body); err == nil {
		text = string(b)
	} else {
		text = string(body)
	}
	text = strings.TrimPrefix(strings.ToValidUTF8(text, "\uFFFD"), "\uFEFF")
	return text, name
}

// htmlTitle returns the document's <title>, whitespace collapsed; titles of
// inline SVG images are not the page's.
func htmlTitle(doc string) string {
	z := html.NewTokenizer(strings.NewReader(doc))
	svgDepth := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "svg":
				svgDepth++
			case "title":
				if svgDepth > 0 {
					continue
				}
				var b strings.Builder
				for {
					tt := z.Next()
					if tt == html.TextToken {
						b.Write(z.Text())
						continue
					}
					break
				}
				return strings.Join(strings.Fields(b.String()), " ")
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "svg" && svgDepth > 0 {
				svgDepth--
			}
		}
	}
}

// statusCodeOf reads a status code more leniently than adapters.IntOf: a
// payload written by hand may carry it as a string, and a fractional
// number is truncated rather than refused.
func statusCodeOf(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return adapters.IntOf(v)
}
