package netguard

import (
	"net/netip"
	"strconv"
	"strings"
)

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")
	broadcast   = netip.MustParseAddr("255.255.255.255")

	// Metadata endpoints of the major clouds. They are link-local, shared
	// or reserved addresses already; they get their own reason because
	// AllowPrivate does not open them.
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, DigitalOcean
		netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
		netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
		netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud
		netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	}

	reservedV4 = []netip.Prefix{
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // documentation
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation
		netip.MustParsePrefix("240.0.0.0/4"),     // future use
	}
	reservedV6 = []netip.Prefix{
		netip.MustParsePrefix("::/96"),         // deprecated IPv4-compatible
		netip.MustParsePrefix("100::/64"),      // discard
		netip.MustParsePrefix("2001::/32"),     // Teredo (embeds an obfuscated IPv4)
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("3fff::/20"),     // documentation
		netip.MustParsePrefix("fec0::/10"),     // deprecated site-local
	}

	// Prefixes whose addresses carry an IPv4 address that is what the
	// packets finally reach.
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64Loc  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Classify returns why ip must not be dialled by default, or ReasonNone for
// a public address. IPv4-mapped, NAT64 and 6to4 IPv6 addresses are judged by
// the IPv4 address they embed.
func Classify(ip netip.Addr) Reason {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return ReasonUnparsable
	}
	ip = embeddedIPv4(ip)
	for _, m := range metadataAddrs {
		if ip == m {
			return ReasonMetadata
		}
	}
	switch {
	case ip.IsUnspecified(), ip.Is4() && thisNetwork.Contains(ip):
		return ReasonUnspecified
	case ip.IsLoopback():
		return ReasonLoopback
	case ip.IsPrivate():
		return ReasonPrivate
	case ip.IsLinkLocalUnicast():
		return ReasonLinkLocal
	case ip.IsMulticast():
		return ReasonMulticast
	case ip == broadcast:
		return ReasonBroadcast
	case sharedSpace.Contains(ip):
		return ReasonShared
	}
	reserved := reservedV6
	if ip.Is4() {
		reserved = reservedV4
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return ReasonReserved
		}
	}
	return ReasonNone
}

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for, or ip
// itself.
func embeddedIPv4(ip netip.Addr) netip.Addr {
	if ip.Is4In6() {
		return ip.Unmap()
	}
	if !ip.Is6() {
		return ip
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16]))
	case nat64Loc.Contains(ip):
		// RFC 6052 with a /48 prefix: the IPv4 address is split around
		// the reserved octet 8.
		return netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]})
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6]))
	}
	return ip
}

// ParseHostIP parses a URL host as an IP address, accepting the forms a
// browser or the C resolver would also accept: bracketed IPv6 with or
// without a zone, canonical dotted IPv4, and the legacy inet_aton spellings
// (hexadecimal 0x7f000001, decimal 2130706433, octal 0177.0.0.1, short
// 127.1). It reports false for host names.
func ParseHostIP(host string) (netip.Addr, bool) {
	h := strings.TrimSuffix(host, ".")
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip, true
	}
	return parseLegacyIPv4(h)
}

// parseLegacyIPv4 implements inet_aton: one to four dot-separated numbers,
// each decimal, octal (leading 0) or hexadecimal (leading 0x); the last
// number fills the remaining bytes.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseInetNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	last := len(nums) - 1
	var v uint64
	for i, n := range nums[:last] {
		if n > 0xff {
			return netip.Addr{}, false
		}
		v |= n << (8 * (3 - i))
	}
	// The last number fills every byte the others did not.
	if nums[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	v |= nums[last]
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseInetNumber(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	for _, r := range p {
		if r == '+' || r == '-' || r == '_' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(p, base, 32)
	if err != nil {
		return 0, false
	}
	return n, true
}
