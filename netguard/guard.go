package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// Guard is an outbound connection policy. The zero value refuses every
// non-public address. A Guard is a plain value: copy it freely.
type Guard struct {
	// AllowPrivate permits loopback, private, link-local, shared and other
	// non-public addresses (security.allow_private_targets). Cloud metadata
	// endpoints stay refused unless AllowedHosts names them.
	AllowPrivate bool
	// AllowedHosts are exempt from the guard. Each entry is one of:
	//   - a host name ("intranet.example"), any port;
	//   - "*.example.org": every subdomain of example.org, any port;
	//   - a host name with a port ("intranet.example:8443");
	//   - an IP address ("10.0.0.5", "::1"), any port;
	//   - an IP address with a port ("127.0.0.1:8080", "[::1]:8080");
	//   - a CIDR range ("10.0.0.0/8", "fd00::/8").
	// Names match the host as requested; addresses and ranges match the
	// address actually dialled.
	AllowedHosts []string
}

// Validate reports AllowedHosts entries that cannot be parsed. Such entries
// never allow anything, so a typo fails closed; call Validate when loading
// configuration to tell the user.
func (g Guard) Validate() error {
	_, errs := compile(g)
	return errors.Join(errs...)
}

// Check decides whether a connection to addr, made for the requested host
// (a name or literal, may be empty), is allowed. It returns a *BlockedError
// or nil.
func (g Guard) Check(host string, addr netip.AddrPort) error {
	p, _ := compile(g)
	return p.check(normalizeHost(host), addr)
}

// CheckURL refuses what can be refused before any connection: schemes other
// than http and https, and hosts written as IP addresses (in any spelling)
// that the policy refuses. Host names pass; their addresses are checked when
// dialling.
func (g Guard) CheckURL(u *url.URL) error {
	p, _ := compile(g)
	return p.checkURL(u)
}

// DialContext returns a dial function for http.Transport (or anything else
// that dials) that checks every address it connects to. base supplies
// timeouts and keep-alive settings; nil means a zero net.Dialer. An existing
// base.ControlContext or base.Control still runs after the check.
func (g Guard) DialContext(base *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	p, _ := compile(g)
	if base == nil {
		base = &net.Dialer{}
	}
	return p.dialer(base)
}

// policy is a compiled Guard.
type policy struct {
	allowPrivate bool
	names        []nameEntry
	addrs        []addrEntry
}

type nameEntry struct {
	name     string // lower case, no trailing dot
	wildcard bool   // name is a suffix: ".example.org"
	port     uint16 // 0 = any
}

type addrEntry struct {
	prefix netip.Prefix
	port   uint16 // 0 = any
}

func compile(g Guard) (*policy, []error) {
	p := &policy{allowPrivate: g.AllowPrivate}
	var errs []error
	for _, raw := range g.AllowedHosts {
		if err := p.add(strings.TrimSpace(raw)); err != nil {
			errs = append(errs, fmt.Errorf("allowed host %q: %w", raw, err))
		}
	}
	return p, errs
}

func (p *policy) add(entry string) error {
	if entry == "" {
		return errors.New("empty entry")
	}
	if strings.Contains(entry, "://") {
		return errors.New("give a host, host:port, IP or CIDR, not a URL")
	}
	if strings.Contains(entry, "/") {
		pfx, err := netip.ParsePrefix(entry)
		if err != nil {
			return fmt.Errorf("not a CIDR range: %w", err)
		}
		p.addPrefix(pfx.Masked(), 0)
		return nil
	}
	if ip, ok := ParseHostIP(entry); ok {
		p.addPrefix(netip.PrefixFrom(ip, ip.BitLen()), 0)
		return nil
	}
	host, port := entry, uint16(0)
	if h, ps, err := net.SplitHostPort(entry); err == nil {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("bad port %q", ps)
		}
		host, port = h, uint16(n)
		if ip, ok := ParseHostIP(host); ok {
			p.addPrefix(netip.PrefixFrom(ip, ip.BitLen()), port)
			return nil
		}
	}
	host = normalizeHost(host)
	wildcard := strings.HasPrefix(host, "*.")
	if wildcard {
		host = host[1:] // keep the dot: ".example.org"
	}
	if !validHostName(strings.TrimPrefix(host, ".")) {
		return errors.New("not a host name, IP address or CIDR range")
	}
	p.names = append(p.names, nameEntry{name: host, wildcard: wildcard, port: port})
	return nil
}

func (p *policy) addPrefix(pfx netip.Prefix, port uint16) {
	// An entry written as an IPv4 address also matches its IPv4-mapped
	// IPv6 form, which is how a dual-stack socket may report it.
	if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
	}
	p.addrs = append(p.addrs, addrEntry{prefix: pfx, port: port})
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}

func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return h
}

func (p *policy) nameAllowed(host string, port uint16) bool {
	for _, e := range p.names {
		if e.port != 0 && e.port != port {
			continue
		}
		if host == e.name || (e.wildcard && strings.HasSuffix(host, e.name)) {
			return true
		}
	}
	return false
}

func (p *policy) addrAllowed(ip netip.Addr, port uint16) bool {
	for _, e := range p.addrs {
		if e.port != 0 && e.port != port {
			continue
		}
		if e.prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// check decides on a dial to addr made for host (normalized, may be empty).
func (p *policy) check(host string, addr netip.AddrPort) error {
	ip := addr.Addr().WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	port := addr.Port()
	if p.nameAllowed(host, port) || p.addrAllowed(ip, port) {
		return nil
	}
	reason := Classify(ip)
	if reason == ReasonNone || (p.allowPrivate && reason != ReasonMetadata && reason != ReasonUnparsable) {
		return nil
	}
	return &BlockedError{Host: host, Addr: ip, Port: port, Reason: reason}
}

func (p *policy) checkURL(u *url.URL) error {
	if u == nil {
		return &BlockedError{Reason: ReasonUnparsable}
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return &BlockedError{Host: u.Hostname(), Scheme: u.Scheme, Reason: ReasonScheme}
	}
	host := normalizeHost(u.Hostname())
	ip, ok := ParseHostIP(host)
	if !ok {
		return nil
	}
	port := uint16(80)
	if scheme == "https" {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil {
			return &BlockedError{Host: u.Host, Reason: ReasonUnparsable}
		}
		port = uint16(n)
	}
	return p.check(host, netip.AddrPortFrom(ip, port))
}

func (p *policy) dialer(base *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, portStr, err := net.SplitHostPort(address)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &BlockedError{Host: address, Reason: ReasonUnparsable}}
		}
		n, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &BlockedError{Host: address, Reason: ReasonUnparsable}}
		}
		port := uint16(n)
		name := normalizeHost(host)
		if p.nameAllowed(name, port) {
			return base.DialContext(ctx, network, address)
		}
		// A legacy numeric spelling would reach the C resolver, which
		// reads it as an address; dial the address it stands for so the
		// pure-Go and cgo resolvers agree and the check below sees it.
		if ip, ok := ParseHostIP(name); ok {
			address = netip.AddrPortFrom(ip, port).String()
		}
		d := *base
		prevCtx, prev := base.ControlContext, base.Control
		d.Control = nil
		d.ControlContext = func(ctx context.Context, network, addr string, c syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return &BlockedError{Host: name, Reason: ReasonUnparsable}
			}
			if err := p.check(name, ap); err != nil {
				return err
			}
			switch {
			case prevCtx != nil:
				return prevCtx(ctx, network, addr, c)
			case prev != nil:
				return prev(network, addr, c)
			}
			return nil
		}
		return d.DialContext(ctx, network, address)
	}
}
