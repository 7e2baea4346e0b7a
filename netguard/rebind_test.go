package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"
)

// fakeDNS answers every A query with the next address of answers (the last
// one repeats) and every other query with no records.
type fakeDNS struct {
	conn    net.PacketConn
	answers []netip.Addr
	queries atomic.Int64
}

func newFakeDNS(t *testing.T, answers ...string) *fakeDNS {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	d := &fakeDNS{conn: conn}
	for _, a := range answers {
		d.answers = append(d.answers, netip.MustParseAddr(a))
	}
	go d.serve()
	return d
}

func (d *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp, ok := d.answer(buf[:n]); ok {
			_, _ = d.conn.WriteTo(resp, from)
		}
	}
}

func (d *fakeDNS) answer(req []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true})
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	if q.Type == dnsmessage.TypeA {
		i := int(d.queries.Add(1)) - 1
		addr := d.answers[min(i, len(d.answers)-1)]
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
		if b.AResource(rh, dnsmessage.AResource{A: addr.As4()}) != nil {
			return nil, false
		}
	}
	resp, err := b.Finish()
	return resp, err == nil
}

// resolver sends every lookup to d.
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp", d.conn.LocalAddr().String())
	}}
}

// rebindClient is a guarded client whose lookups go to d.
func rebindClient(t *testing.T, g Guard, d *fakeDNS) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: g.DialContext(&net.Dialer{Resolver: d.resolver()})}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: RedirectPolicy(g, 0, nil)}
}

// TestDNSRebindingRefused: a name that resolves to a public address when
// someone checks it and to loopback when the connection is made is refused,
// because the guard judges the address actually dialled.
func TestDNSRebindingRefused(t *testing.T) {
	t.Parallel()
	srv := newCountingServer(t, nil)
	dns := newFakeDNS(t, "93.184.215.14", "127.0.0.1")

	// The first lookup (a validator's) sees a public address.
	addrs, err := dns.resolver().LookupNetIP(t.Context(), "ip4", "rebind.example.com")
	require.NoError(t, err)
	require.Equal(t, []netip.Addr{netip.MustParseAddr("93.184.215.14")}, addrs)
	require.NoError(t, Guard{}.CheckURL(mustURL(t, "http://rebind.example.com:"+srv.port(t)+"/")))

	// The connection resolves again and gets loopback.
	_, _, err = get(t.Context(), rebindClient(t, Guard{}, dns), "http://rebind.example.com:"+srv.port(t)+"/")
	requireBlocked(t, err, ReasonLoopback)
	require.Zero(t, srv.hits.Load(), "the rebound request reached the server")

	// Allow-listing the name is what lets it through.
	status, _, err := get(t.Context(), rebindClient(t, Guard{AllowedHosts: []string{"rebind.example.com"}}, dns),
		"http://rebind.example.com:"+srv.port(t)+"/")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
}

// TestNameResolvingToInternalRefused covers public-looking names that
// resolve to each internal range.
func TestNameResolvingToInternalRefused(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]Reason{
		"127.0.0.1":       ReasonLoopback,
		"10.1.2.3":        ReasonPrivate,
		"169.254.169.254": ReasonMetadata,
		"0.0.0.0":         ReasonUnspecified,
	} {
		dns := newFakeDNS(t, addr)
		_, _, err := get(t.Context(), rebindClient(t, Guard{}, dns), "http://internal.example.com:1/")
		requireBlocked(t, err, want)
		if want == ReasonMetadata {
			_, _, err = get(t.Context(), rebindClient(t, Guard{AllowPrivate: true}, dns), "http://internal.example.com:1/")
			requireBlocked(t, err, ReasonMetadata)
		}
	}
}

// TestClientRefusesUnspecifiedAndIPv6Loopback: 0.0.0.0 reaches local
// listeners on Linux, and [::1] is loopback; both are refused before any
// connection.
func TestClientRefusesUnspecifiedAndIPv6Loopback(t *testing.T) {
	t.Parallel()
	srv := newCountingServer(t, nil)
	c := NewHTTPClient(Guard{}, ClientOptions{})
	t.Cleanup(c.CloseIdleConnections)
	for u, want := range map[string]Reason{
		"http://0.0.0.0:" + srv.port(t) + "/":                 ReasonUnspecified,
		"http://0:" + srv.port(t) + "/":                       ReasonUnspecified,
		"http://[::]:" + srv.port(t) + "/":                    ReasonUnspecified,
		"http://[::1]:" + srv.port(t) + "/":                   ReasonLoopback,
		"http://[::ffff:127.0.0.1]:" + srv.port(t) + "/":      ReasonLoopback,
		"http://169.254.169.254/latest/meta-data/":            ReasonMetadata,
		"http://[::ffff:169.254.169.254]/latest/meta-data/":   ReasonMetadata,
		"http://10.0.0.1:" + srv.port(t) + "/":                ReasonPrivate,
		"http://[fd00:ec2::254]/latest/meta-data/":            ReasonMetadata,
		"http://[64:ff9b::7f00:1]:" + srv.port(t) + "/":       ReasonLoopback,
		"http://0x7f.0.0.1:" + srv.port(t) + "/":              ReasonLoopback,
		"http://127.000.000.001:" + srv.port(t) + "/":         ReasonLoopback,
		"http://[0:0:0:0:0:ffff:7f00:1]:" + srv.port(t) + "/": ReasonLoopback,
	} {
		_, _, err := get(t.Context(), c, u)
		requireBlocked(t, err, want)
		var be *BlockedError
		require.True(t, errors.As(err, &be), u)
	}
	require.Zero(t, srv.hits.Load())
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
