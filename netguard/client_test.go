package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// countingServer is a real loopback HTTP server that counts requests, so a
// test can prove a refused request never reached it.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{}
	if h == nil {
		h = func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *countingServer) port(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	return u.Port()
}

func get(ctx context.Context, c *http.Client, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func requireBlocked(t *testing.T, err error, want Reason) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, ErrBlocked)
	var be *BlockedError
	require.ErrorAs(t, err, &be)
	require.Equal(t, want, be.Reason)
	require.Contains(t, err.Error(), "SSRF_BLOCKED")
}

func TestClientLoopbackPolicy(t *testing.T) {
	t.Parallel()
	srv := newCountingServer(t, nil)
	port := srv.port(t)
	tests := []struct {
		name    string
		guard   Guard
		url     string
		allowed bool
	}{
		{"default refuses loopback", Guard{}, srv.URL, false},
		{"default refuses localhost name", Guard{}, "http://localhost:" + port + "/", false},
		{"allow private", Guard{AllowPrivate: true}, srv.URL, true},
		{"allow-listed ip:port", Guard{AllowedHosts: []string{"127.0.0.1:" + port}}, srv.URL, true},
		{"allow-listed ip", Guard{AllowedHosts: []string{"127.0.0.1"}}, srv.URL, true},
		{"allow-listed cidr", Guard{AllowedHosts: []string{"127.0.0.0/8"}}, srv.URL, true},
		{"allow-listed other port", Guard{AllowedHosts: []string{"127.0.0.1:1"}}, srv.URL, false},
		{"allow-listed other name", Guard{AllowedHosts: []string{"intranet.example"}}, srv.URL, false},
		// The listener is IPv4-only; the ip entry allows whatever
		// localhost resolves to that is 127.0.0.1.
		{"localhost via ip entry", Guard{AllowedHosts: []string{"127.0.0.1"}}, "http://localhost:" + port + "/", true},
		{"hex form refused", Guard{}, "http://0x7f000001:" + port + "/", false},
		{"decimal form refused", Guard{}, "http://2130706433:" + port + "/", false},
		{"octal form refused", Guard{}, "http://0177.0.0.1:" + port + "/", false},
		{"short form refused", Guard{}, "http://127.1:" + port + "/", false},
		{"ipv4-mapped ipv6 refused", Guard{}, "http://[::ffff:127.0.0.1]:" + port + "/", false},
		// Allowed legacy spellings reach the real server: the dialer
		// rewrites them to the address they stand for.
		{"hex form allowed", Guard{AllowPrivate: true}, "http://0x7f000001:" + port + "/", true},
		{"decimal form allow-listed", Guard{AllowedHosts: []string{"127.0.0.1:" + port}}, "http://2130706433:" + port + "/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewHTTPClient(tt.guard, ClientOptions{})
			t.Cleanup(c.CloseIdleConnections)
			before := srv.hits.Load()
			status, body, err := get(t.Context(), c, tt.url)
			if tt.allowed {
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, status)
				require.Equal(t, "ok", body)
				return
			}
			requireBlocked(t, err, ReasonLoopback)
			require.Equal(t, before, srv.hits.Load(), "a refused request reached the server")
		})
	}
}

func TestClientRefusesRedirectToLoopback(t *testing.T) {
	t.Parallel()
	target := newCountingServer(t, nil)
	// The entry server is allow-listed; the redirect goes to a loopback
	// address that is not.
	entry := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+target.port(t)+"/secret", http.StatusFound)
	})
	c := NewHTTPClient(Guard{AllowedHosts: []string{"127.0.0.1:" + entry.port(t)}}, ClientOptions{})
	t.Cleanup(c.CloseIdleConnections)

	_, _, err := get(t.Context(), c, entry.URL+"/start")
	requireBlocked(t, err, ReasonLoopback)
	require.Equal(t, int64(1), entry.hits.Load())
	require.Zero(t, target.hits.Load(), "the redirect target was reached")

	// A literal address in Location is refused before dialling.
	literal := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://0x7f000001:"+target.port(t)+"/", http.StatusMovedPermanently)
	})
	c2 := NewHTTPClient(Guard{AllowedHosts: []string{"127.0.0.1:" + literal.port(t)}}, ClientOptions{})
	t.Cleanup(c2.CloseIdleConnections)
	_, _, err = get(t.Context(), c2, literal.URL)
	requireBlocked(t, err, ReasonLoopback)
	require.Zero(t, target.hits.Load())

	// Redirects to other schemes are refused too.
	scheme := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	c3 := NewHTTPClient(Guard{AllowPrivate: true}, ClientOptions{})
	t.Cleanup(c3.CloseIdleConnections)
	_, _, err = get(t.Context(), c3, scheme.URL)
	requireBlocked(t, err, ReasonScheme)
}

func TestClientRedirectLimit(t *testing.T) {
	t.Parallel()
	var srv *countingServer
	srv = newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if n >= 5 {
			_, _ = io.WriteString(w, "done")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("%s/?n=%d", srv.URL, n+1), http.StatusFound)
	})
	tests := []struct {
		name   string
		max    int
		status int
		errIs  error
	}{
		{"enough hops", 5, http.StatusOK, nil},
		{"default is enough", 0, http.StatusOK, nil},
		{"too few hops", 4, 0, ErrTooManyRedirects},
		{"not followed", -1, http.StatusFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewHTTPClient(Guard{AllowPrivate: true}, ClientOptions{MaxRedirects: tt.max})
			t.Cleanup(c.CloseIdleConnections)
			status, _, err := get(t.Context(), c, srv.URL+"/?n=0")
			if tt.errIs != nil {
				require.ErrorIs(t, err, tt.errIs)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.status, status)
		})
	}
}

func TestClientRedirectHook(t *testing.T) {
	t.Parallel()
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/from" {
			http.Redirect(w, r, "/to", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	errHook := errors.New("hook refused")
	var seen []string
	c := NewHTTPClient(Guard{AllowPrivate: true}, ClientOptions{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		seen = append(seen, req.URL.Path)
		return errHook
	}})
	t.Cleanup(c.CloseIdleConnections)
	_, _, err := get(t.Context(), c, srv.URL+"/from")
	require.ErrorIs(t, err, errHook)
	require.Equal(t, []string{"/to"}, seen)
}

func TestDialContextRefusesRawDial(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	dial := Guard{}.DialContext(nil)
	_, err = dial(t.Context(), "tcp", ln.Addr().String())
	requireBlocked(t, err, ReasonLoopback)

	conn, err := Guard{AllowedHosts: []string{ln.Addr().String()}}.DialContext(nil)(t.Context(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	require.NoError(t, conn.Close())
}

// TestClientConcurrent shares one client between goroutines under -race.
func TestClientConcurrent(t *testing.T) {
	t.Parallel()
	srv := newCountingServer(t, nil)
	allowed := NewHTTPClient(Guard{AllowedHosts: []string{"127.0.0.1:" + srv.port(t)}}, ClientOptions{})
	refused := NewHTTPClient(Guard{}, ClientOptions{})
	t.Cleanup(allowed.CloseIdleConnections)
	t.Cleanup(refused.CloseIdleConnections)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Go(func() {
			c, wantOK := allowed, true
			if i%2 == 1 {
				c, wantOK = refused, false
			}
			_, _, err := get(t.Context(), c, srv.URL)
			switch {
			case wantOK && err != nil:
				errs <- fmt.Errorf("allowed request failed: %w", err)
			case !wantOK && !errors.Is(err, ErrBlocked):
				errs <- fmt.Errorf("refused request: got %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(16), srv.hits.Load())
}
