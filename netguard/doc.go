// Package netguard is the one server-side request forgery (SSRF) guard shared
// by everything in Factflow that connects to user-supplied addresses: the web
// adapters, the http_request adapter and webhook delivery.
//
// The check runs at dial time, against the IP address a connection is about
// to be made to, not against the host name in a URL. A name that resolves to
// a public address while the URL is validated and to 127.0.0.1 when the
// connection is made (DNS rebinding) is therefore refused, and so is every
// redirect hop, because each hop dials again.
//
// By default loopback, private (RFC 1918 and IPv6 unique-local), link-local,
// cloud metadata, unspecified, multicast, broadcast, shared (CGNAT) and other
// reserved addresses are refused, including when they are written in IPv6
// forms that embed an IPv4 address (::ffff:127.0.0.1, NAT64, 6to4) or in the
// legacy numeric IPv4 spellings that resolvers still accept (0x7f000001,
// 2130706433, 0177.0.0.1, 127.1).
//
// Guard.AllowPrivate lifts the refusal for everything but cloud metadata
// endpoints; Guard.AllowedHosts exempts named hosts, host:port pairs, IP
// addresses and CIDR ranges (metadata endpoints included, when listed
// explicitly). Refusals are *BlockedError values that match ErrBlocked and
// carry the stable code SSRF_BLOCKED and a hint naming the settings that
// allow the target.
//
// The guard does not work through an HTTP proxy (the dialer would only see
// the proxy's address), so clients built here never use one.
package netguard
