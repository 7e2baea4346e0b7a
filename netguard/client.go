package netguard

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Defaults used by NewHTTPClient for zero ClientOptions fields.
const (
	DefaultTimeout               = 60 * time.Second
	DefaultDialTimeout           = 10 * time.Second
	DefaultTLSHandshakeTimeout   = 10 * time.Second
	DefaultResponseHeaderTimeout = 30 * time.Second
	DefaultIdleConnTimeout       = 90 * time.Second
	DefaultMaxRedirects          = 10
	DefaultMaxIdleConnsPerHost   = 8
)

// ClientOptions tune a guarded client. Zero fields take the defaults above.
type ClientOptions struct {
	// Timeout bounds a whole request, body included (http.Client.Timeout).
	// Negative means none: callers then bound requests with contexts.
	Timeout               time.Duration
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	IdleConnTimeout       time.Duration
	MaxIdleConnsPerHost   int
	// MaxRedirects is the number of redirects followed before the request
	// fails with ErrTooManyRedirects. Negative means redirects are not
	// followed: the 3xx response itself is returned.
	MaxRedirects int
	// CheckRedirect runs for each redirect after the guard's own checks
	// (scheme, literal address, hop count); it may refuse the hop.
	CheckRedirect func(req *http.Request, via []*http.Request) error
	// TLSConfig is used for https (nil = system roots).
	TLSConfig *tls.Config
}

// NewTransport returns an http.Transport that dials through the guard and
// never uses a proxy.
func NewTransport(g Guard, opts ClientOptions) *http.Transport {
	dialer := &net.Dialer{
		Timeout:   orDefault(opts.DialTimeout, DefaultDialTimeout),
		KeepAlive: 30 * time.Second,
	}
	idle := opts.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = DefaultMaxIdleConnsPerHost
	}
	return &http.Transport{
		// No proxy: through one, the dialer would check the proxy's
		// address instead of the target's.
		Proxy:                 nil,
		DialContext:           g.DialContext(dialer),
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       opts.TLSConfig,
		TLSHandshakeTimeout:   orDefault(opts.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout),
		ResponseHeaderTimeout: orDefault(opts.ResponseHeaderTimeout, DefaultResponseHeaderTimeout),
		IdleConnTimeout:       orDefault(opts.IdleConnTimeout, DefaultIdleConnTimeout),
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   idle,
	}
}

// NewHTTPClient returns a client whose every connection, redirects
// included, is checked by g. Safe for concurrent use.
func NewHTTPClient(g Guard, opts ClientOptions) *http.Client {
	timeout := opts.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0:
		timeout = 0
	}
	return &http.Client{
		Transport:     NewTransport(g, opts),
		Timeout:       timeout,
		CheckRedirect: RedirectPolicy(g, opts.MaxRedirects, opts.CheckRedirect),
	}
}

// RedirectPolicy returns an http.Client.CheckRedirect function that stops
// after maxRedirects hops (0 = DefaultMaxRedirects, negative = return the
// 3xx response), refuses non-http(s) targets and literal addresses the
// guard refuses, then defers to next (may be nil). Host names are checked
// when the hop dials.
func RedirectPolicy(g Guard, maxRedirects int, next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	p, _ := compile(g)
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	return func(req *http.Request, via []*http.Request) error {
		if maxRedirects < 0 {
			return http.ErrUseLastResponse
		}
		// via holds every request made so far, the original included.
		if len(via) > maxRedirects {
			return fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, maxRedirects)
		}
		if err := p.checkURL(req.URL); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
