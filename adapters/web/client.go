package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/netguard"
)

// DefaultUserAgent is sent when neither the adapter config nor the server
// names one.
const DefaultUserAgent = "Factflow/1.0"

// baseClient returns the engine's guarded client, or builds one from the
// guard settings in deps (owned true): the SSRF guard is never skipped.
func baseClient(deps adapters.Deps) (c *http.Client, owned bool) {
	if deps.HTTP != nil {
		return deps.HTTP, false
	}
	return netguard.NewHTTPClient(netguard.Guard{
		AllowPrivate: deps.AllowPrivateTargets,
		AllowedHosts: deps.AllowedHosts,
	}, netguard.ClientOptions{Timeout: -1}), true
}

// ownedClient gives adapters that built their own client an
// adapters.Closer that releases its idle connections; the engine's shared
// client is left alone.
type ownedClient struct{ client *http.Client }

func owning(c *http.Client, owned bool) ownedClient {
	if owned {
		return ownedClient{client: c}
	}
	return ownedClient{}
}

func (o ownedClient) Close(context.Context) error {
	if o.client != nil {
		o.client.CloseIdleConnections()
	}
	return nil
}

// deriveClient copies base with its own redirect rules and, when lim is not
// nil, a rate-limited transport. The copy keeps base's transport (and so
// its guarded dialer) and runs base's redirect policy after its own.
func deriveClient(base *http.Client, follow bool, maxRedirects int, lim *limits) *http.Client {
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if lim != nil {
		rt = &limitedTransport{base: rt, limits: lim}
	}
	next := base.CheckRedirect
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !follow {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("%w: stopped after %d", errTooManyRedirects, maxRedirects)
			}
			if next != nil {
				return next(req, via)
			}
			return nil
		},
	}
}

func userAgent(configured string, deps adapters.Deps) string {
	switch {
	case configured != "":
		return configured
	case deps.UserAgent != "":
		return deps.UserAgent
	}
	return DefaultUserAgent
}

// robotsToken is the product token robots.txt groups are matched against:
// "Factflow/1.0 (+https://…)" → "factflow".
func robotsToken(ua string) string {
	tok, _, _ := strings.Cut(strings.TrimSpace(ua), "/")
	tok, _, _ = strings.Cut(tok, " ")
	return strings.ToLower(tok)
}

// fetcher performs bounded GETs.
type fetcher struct {
	client    *http.Client
	limits    *limits // nil: no rate limit
	userAgent string
	timeout   time.Duration
}

// get waits for the host's rate limit under ctx, then issues the request
// under a timeout that also covers reading the body. The caller reads the
// body and then calls done.
func (f *fetcher) get(ctx context.Context, u *url.URL, accept string) (resp *http.Response, done context.CancelFunc, err error) {
	if f.limits != nil {
		// The first hop waits under the message's context so that queueing
		// behind the rate limit does not eat into the request timeout.
		if err := f.limits.wait(ctx, u.Host); err != nil {
			return nil, nil, err
		}
		ctx = withPrepaid(ctx, u.Host)
	}
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	req.Header.Set("User-Agent", f.userAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err = f.client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return resp, func() { _ = resp.Body.Close(); cancel() }, nil
}

// readLimited reads r fully, failing with errTooLarge past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w (%d bytes)", errTooLarge, limit)
	}
	return b, nil
}

// parseTarget accepts absolute http(s) URLs only.
func parseTarget(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, adapters.PermanentCoded(CodeInvalidURL, "give the page address in the url field", fmt.Errorf("empty URL"))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, adapters.PermanentCoded(CodeInvalidURL, "give an absolute http(s) URL", fmt.Errorf("parsing URL %q: %w", raw, err))
	}
	if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Host == "" {
		return nil, adapters.PermanentCoded(CodeInvalidURL, "give an absolute http(s) URL",
			fmt.Errorf("URL %q is not an absolute http(s) URL", raw))
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}
