package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/html/charset"

	"github.com/factflow/factflow/adapters"
)

// SitemapParserConfig configures sitemap_parser.
type SitemapParserConfig struct {
	MaxURLs      int           `json:"max_urls" default:"50000" minimum:"1" maximum:"10000000" doc:"Stop after this many page URLs (the output then has truncated: true)."`
	MaxDepth     int           `json:"max_depth" default:"3" minimum:"0" maximum:"10" doc:"How many levels of sitemap indexes are followed below the given sitemap (0: only the given one)."`
	MaxSitemaps  int           `json:"max_sitemaps" default:"1000" minimum:"1" maximum:"100000" doc:"Most sitemap files fetched for one message."`
	Include      []string      `json:"include" doc:"Regular expressions (Go syntax); when set, a page URL is kept only if one matches."`
	Exclude      []string      `json:"exclude" doc:"Regular expressions (Go syntax); a page URL matching any is dropped."`
	SameHostOnly bool          `json:"same_host_only" default:"false" doc:"Keep only page URLs, and follow only sitemaps, on the host of the given sitemap."`
	Timeout      time.Duration `json:"timeout" default:"30s" minimum:"100ms" maximum:"10m" doc:"Limit for fetching one sitemap file."`
	MaxBytes     int64         `json:"max_bytes" default:"52428800" minimum:"1024" maximum:"1073741824" doc:"Largest sitemap accepted, in bytes, both as sent and once decompressed (the sitemap protocol allows 50 MB)."`
	UserAgent    string        `json:"user_agent" doc:"User-Agent header. Defaults to the server's user agent."`
}

const (
	defaultMaxURLs        = 50000
	defaultMaxDepth       = 3
	defaultMaxSitemaps    = 1000
	defaultSitemapTimeout = 30 * time.Second
	defaultSitemapBytes   = 50 << 20
	sitemapAccept         = "application/xml, text/xml;q=0.9, application/gzip;q=0.8, text/plain;q=0.5, */*;q=0.1"
	// robotsSitemapTTL keeps a site's robots.txt between messages that
	// start from the same site root.
	robotsSitemapTTL = 10 * time.Minute
)

func (c SitemapParserConfig) withDefaults() SitemapParserConfig {
	if c.MaxURLs <= 0 {
		c.MaxURLs = defaultMaxURLs
	}
	if c.MaxDepth < 0 {
		c.MaxDepth = defaultMaxDepth
	}
	if c.MaxSitemaps <= 0 {
		c.MaxSitemaps = defaultMaxSitemaps
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultSitemapTimeout
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = defaultSitemapBytes
	}
	return c
}

type sitemapParser struct {
	ownedClient
	cfg              SitemapParserConfig
	include, exclude []*regexp.Regexp
	fetch            *fetcher
	robots           *robotsCache
}

// Validate reports config errors the tags cannot express (invalid regular
// expressions); pipeline validation calls it.
func (c SitemapParserConfig) Validate() error {
	_, err := compileAll("include", c.Include)
	if err == nil {
		_, err = compileAll("exclude", c.Exclude)
	}
	return err
}

func newSitemapParser(cfg SitemapParserConfig, deps adapters.Deps) (adapters.Adapter, error) {
	cfg = cfg.withDefaults()
	inc, err := compileAll("include", cfg.Include)
	if err != nil {
		return nil, err
	}
	exc, err := compileAll("exclude", cfg.Exclude)
	if err != nil {
		return nil, err
	}
	ua := userAgent(cfg.UserAgent, deps)
	base, owned := baseClient(deps)
	f := &fetcher{
		client:    deriveClient(base, true, defaultMaxRedirects, nil),
		userAgent: ua,
		timeout:   cfg.Timeout,
	}
	return &sitemapParser{
		ownedClient: owning(base, owned),
		cfg:         cfg, include: inc, exclude: exc, fetch: f,
		robots: newRobotsCache(f, robotsSitemapTTL, robotsToken(ua)),
	}, nil
}

func compileAll(field string, exprs []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(exprs))
	for i, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func (p *sitemapParser) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	raw, _ := in.Payload["sitemap_url"].(string)
	if raw == "" {
		raw, _ = in.Payload["url"].(string)
	}
	if raw == "" {
		return nil, adapters.PermanentCoded(CodeFieldMissing, "give the sitemap (or the site root) in sitemap_url or url",
			errors.New("payload has no sitemap_url or url string"))
	}
	start, err := parseTarget(raw)
	if err != nil {
		return nil, err
	}
	w := &sitemapWalk{p: p, start: start, attempt: in.Meta.Attempt,
		seenSitemaps: map[string]bool{}, seenURLs: map[string]bool{}}

	roots, discovered, err := p.roots(ctx, start)
	if err != nil {
		return nil, transportError(ctx, err, start.String(), in.Meta.Attempt)
	}
	for _, r := range roots {
		if err := w.visit(ctx, r, 0); err != nil {
			// A broken sitemap named by the message fails the message; of
			// several found in robots.txt, one broken one does not.
			if !discovered || adapters.Classify(err) != adapters.ClassPermanent {
				return nil, err
			}
			w.record(r, err)
		}
	}
	if len(w.sitemaps) == 0 && len(w.errors) > 0 {
		return nil, adapters.PermanentCoded(CodeSitemapNotFound, "no sitemap of the site could be read; give the sitemap URL itself",
			fmt.Errorf("no readable sitemap for %s: %s", start, w.errors[0]["error"]))
	}

	out := in.Payload
	out["urls"] = w.urls
	out["url_count"] = len(w.urls)
	out["sitemaps"] = w.sitemaps
	out["truncated"] = w.truncated
	if len(w.errors) > 0 {
		errs := make([]any, len(w.errors))
		for i, e := range w.errors {
			errs[i] = e
		}
		out["sitemap_errors"] = errs
	}
	return adapters.Pass(out), nil
}

// roots returns the sitemaps to start from. A site root or a robots.txt URL
// is looked up in robots.txt (Sitemap: lines), falling back to
// /sitemap.xml; discovered tells that the list was found rather than given.
func (p *sitemapParser) roots(ctx context.Context, start *url.URL) (roots []*url.URL, discovered bool, err error) {
	if start.Path != "" && start.Path != "/" && !strings.EqualFold(start.Path, "/robots.txt") {
		return []*url.URL{start}, false, nil
	}
	listed, err := p.robots.sitemaps(ctx, start)
	if err != nil {
		var rs *robotsStatusError
		if !errors.As(err, &rs) {
			return nil, false, err
		}
		listed = nil // an erroring robots.txt still leaves /sitemap.xml
	}
	for _, s := range listed {
		u, err := parseTarget(s)
		if err == nil {
			roots = append(roots, u)
		}
	}
	if len(roots) == 0 {
		roots = []*url.URL{{Scheme: start.Scheme, Host: start.Host, Path: "/sitemap.xml"}}
	}
	return roots, true, nil
}

// sitemapWalk is the state of one message's traversal.
type sitemapWalk struct {
	p       *sitemapParser
	start   *url.URL
	attempt int

	seenSitemaps map[string]bool
	seenURLs     map[string]bool
	urls         []any // {url, lastmod?}
	sitemaps     []any // URLs of the sitemaps read
	errors       []map[string]any
	truncated    bool
}

func (w *sitemapWalk) full() bool { return len(w.urls) >= w.p.cfg.MaxURLs }

func (w *sitemapWalk) record(u *url.URL, err error) {
	e := map[string]any{"url": u.String(), "error": err.Error()}
	var coded *adapters.CodedError
	if errors.As(err, &coded) {
		e["code"] = coded.Code
	}
	w.errors = append(w.errors, e)
}

func (w *sitemapWalk) sameHost(u *url.URL) bool { return strings.EqualFold(u.Host, w.start.Host) }

// visit reads one sitemap and, for an index, its children. A retryable
// failure anywhere aborts the walk (the message is retried whole); a
// permanent failure of a child is recorded and skipped.
func (w *sitemapWalk) visit(ctx context.Context, u *url.URL, depth int) error {
	key := u.String()
	if w.seenSitemaps[key] || w.full() {
		return nil
	}
	w.seenSitemaps[key] = true
	if len(w.sitemaps) >= w.p.cfg.MaxSitemaps {
		w.truncated = true
		return nil
	}
	var children []*url.URL
	err := w.p.read(ctx, u, w.attempt, func(kind string, e sitemapEntry) bool {
		if kind == kindIndex {
			child, err := resolveLoc(u, e.Loc)
			if err == nil && (!w.p.cfg.SameHostOnly || w.sameHost(child)) {
				children = append(children, child)
			}
			return true
		}
		w.add(u, e)
		return !w.full()
	})
	if err != nil {
		return err
	}
	w.sitemaps = append(w.sitemaps, key)
	if w.full() {
		w.truncated = true
	}
	for _, child := range children {
		if w.full() {
			w.truncated = true
			break
		}
		if depth >= w.p.cfg.MaxDepth {
			w.record(child, fmt.Errorf("sitemap index nesting deeper than max_depth %d", w.p.cfg.MaxDepth))
			continue
		}
		if err := w.visit(ctx, child, depth+1); err != nil {
			if adapters.Classify(err) != adapters.ClassPermanent {
				return err
			}
			w.record(child, err)
		}
	}
	return nil
}

func (w *sitemapWalk) add(sitemap *url.URL, e sitemapEntry) {
	u, err := resolveLoc(sitemap, e.Loc)
	if err != nil {
		return
	}
	if w.p.cfg.SameHostOnly && !w.sameHost(u) {
		return
	}
	s := u.String()
	if w.seenURLs[s] || !w.p.wanted(s) {
		return
	}
	w.seenURLs[s] = true
	entry := map[string]any{"url": s}
	if lm := strings.TrimSpace(e.Lastmod); lm != "" {
		entry["lastmod"] = lm
	}
	w.urls = append(w.urls, entry)
}

func (p *sitemapParser) wanted(u string) bool {
	for _, re := range p.exclude {
		if re.MatchString(u) {
			return false
		}
	}
	if len(p.include) == 0 {
		return true
	}
	for _, re := range p.include {
		if re.MatchString(u) {
			return true
		}
	}
	return false
}

// resolveLoc turns a <loc> into an absolute http(s) URL without fragment.
// The protocol requires absolute locations; relative ones are resolved
// against the sitemap, as lenient crawlers do.
func resolveLoc(base *url.URL, loc string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(loc))
	if err != nil {
		return nil, err
	}
	return parseTarget(base.ResolveReference(ref).String())
}

// read fetches and parses one sitemap, calling each for every entry until
// it returns false.
func (p *sitemapParser) read(ctx context.Context, u *url.URL, attempt int, each func(kind string, e sitemapEntry) bool) error {
	target := u.String()
	resp, done, err := p.fetch.get(ctx, u, sitemapAccept)
	if err != nil {
		return transportError(ctx, err, target, attempt)
	}
	defer done()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp, target)
	}
	err = parseSitemap(&capReader{r: resp.Body, left: p.cfg.MaxBytes}, p.cfg.MaxBytes, each)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errTooLarge):
		return adapters.PermanentCoded(CodeTooLarge, "raise max_bytes to read larger sitemaps", fmt.Errorf("sitemap %s: %w", target, err))
	case errors.Is(err, errSitemapSyntax):
		return adapters.PermanentCoded(CodeSitemapInvalid, "the file is not a sitemap (urlset, sitemapindex or a URL list)",
			fmt.Errorf("sitemap %s: %w", target, err))
	}
	return transportError(ctx, fmt.Errorf("reading sitemap %s: %w", target, err), target, attempt)
}

const (
	kindURLSet = "urlset"
	kindIndex  = "sitemapindex"
)

type sitemapEntry struct {
	Loc     string `xml:"loc"`
	Lastmod string `xml:"lastmod"`
}

var errSitemapSyntax = errors.New("not a valid sitemap")

// parseSitemap reads an XML urlset or sitemapindex, or a plain-text list of
// URLs, gzip-compressed or not, calling each per entry (kind is kindURLSet
// for pages, kindIndex for child sitemaps) until it returns false.
// Decompressed input is capped at limit bytes.
func parseSitemap(r io.Reader, limit int64, each func(kind string, e sitemapEntry) bool) error {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w: bad gzip stream: %w", errSitemapSyntax, err)
		}
		defer gz.Close()
		br = bufio.NewReader(&capReader{r: gz, left: limit})
	}
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] != '<' {
		return parseTextSitemap(br, each)
	}
	return parseXMLSitemap(br, each)
}

func parseXMLSitemap(r io.Reader, each func(kind string, e sitemapEntry) bool) error {
	dec := xml.NewDecoder(r)
	dec.Strict = false
	dec.CharsetReader = charset.NewReaderLabel
	kind := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if kind == "" {
				return fmt.Errorf("%w: empty document", errSitemapSyntax)
			}
			return nil
		}
		if err != nil {
			return syntaxOr(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if kind == "" {
			kind = se.Name.Local
			if kind != kindURLSet && kind != kindIndex {
				return fmt.Errorf("%w: root element <%s>, want <urlset> or <sitemapindex>", errSitemapSyntax, kind)
			}
			continue
		}
		if (kind == kindURLSet && se.Name.Local == "url") || (kind == kindIndex && se.Name.Local == "sitemap") {
			var e sitemapEntry
			if err := dec.DecodeElement(&e, &se); err != nil {
				return syntaxOr(err)
			}
			if strings.TrimSpace(e.Loc) == "" {
				continue
			}
			if !each(kind, e) {
				return nil
			}
		}
	}
}

// syntaxOr marks XML syntax errors as such and passes read errors through.
func syntaxOr(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %w", errSitemapSyntax, err)
	}
	return err
}

func parseTextSitemap(r io.Reader, each func(kind string, e sitemapEntry) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		// Text sitemaps hold absolute URLs only; anything else (say, an
		// error page served as text) is not an entry.
		if l := strings.ToLower(line); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			continue
		}
		if !each(kindURLSet, sitemapEntry{Loc: line}) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: line longer than 64 KiB", errSitemapSyntax)
		}
		return err
	}
	return nil
}

// capReader fails with errTooLarge once more than left bytes would be read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
