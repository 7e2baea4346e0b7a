package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Code is the stable error code of every refusal.
const Code = "SSRF_BLOCKED"

// ErrBlocked matches every refusal of the guard: errors.Is(err, ErrBlocked).
var ErrBlocked = errors.New("target address is not allowed")

// ErrTooManyRedirects is returned (wrapped) when a client built by
// NewHTTPClient stops following redirects.
var ErrTooManyRedirects = errors.New("too many redirects")

// Reason says why an address is refused.
type Reason string

// Reasons for a refusal. ReasonNone means the address is public.
const (
	ReasonNone        Reason = ""
	ReasonLoopback    Reason = "loopback address"
	ReasonPrivate     Reason = "private address"
	ReasonLinkLocal   Reason = "link-local address"
	ReasonMetadata    Reason = "cloud metadata endpoint"
	ReasonUnspecified Reason = "unspecified address"
	ReasonMulticast   Reason = "multicast address"
	ReasonBroadcast   Reason = "broadcast address"
	ReasonShared      Reason = "shared address space (CGNAT)"
	ReasonReserved    Reason = "reserved address"
	// ReasonScheme is a URL whose scheme is neither http nor https.
	ReasonScheme Reason = "unsupported URL scheme"
	// ReasonUnparsable is a dial address that is not an IP:port pair; the
	// guard fails closed on it.
	ReasonUnparsable Reason = "unparsable address"
)

// BlockedError is a refused connection or URL. It matches ErrBlocked.
type BlockedError struct {
	// Host is the host as requested (a name or a literal); it may be empty.
	Host string
	// Addr and Port are the address that was refused (Addr is invalid when
	// the refusal happened before resolution, e.g. for a scheme).
	Addr netip.Addr
	Port uint16
	// Scheme is set for ReasonScheme refusals.
	Scheme string
	Reason Reason
}

func (e *BlockedError) Error() string {
	var target string
	switch {
	case e.Reason == ReasonScheme:
		return fmt.Sprintf("%s: refusing URL scheme %q: only http and https are fetched", Code, e.Scheme)
	case e.Addr.IsValid() && e.Host != "" && e.Host != e.Addr.String():
		target = fmt.Sprintf("%s (%s)", e.Host, e.endpoint())
	case e.Addr.IsValid():
		target = e.endpoint()
	default:
		target = e.Host
	}
	return fmt.Sprintf("%s: refusing to connect to %s: %s (hint: %s)", Code, target, e.Reason, e.Hint())
}

func (e *BlockedError) endpoint() string {
	if e.Port == 0 {
		return e.Addr.String()
	}
	return netip.AddrPortFrom(e.Addr, e.Port).String()
}

// Is makes errors.Is(err, ErrBlocked) true.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Code returns the stable error code (SSRF_BLOCKED).
func (e *BlockedError) Code() string { return Code }

// Hint tells how to allow the target, if it can be allowed.
func (e *BlockedError) Hint() string {
	entry := e.Host
	if e.Addr.IsValid() {
		entry = e.Addr.String()
		if e.Port != 0 {
			entry = netip.AddrPortFrom(e.Addr, e.Port).String()
		}
	}
	switch e.Reason {
	case ReasonScheme:
		return "use an http:// or https:// URL"
	case ReasonMetadata:
		return "cloud metadata endpoints stay refused even with security.allow_private_targets; " +
			"add " + strconv.Quote(entry) + " to security.allowed_hosts only if fetching it is intended"
	case ReasonUnparsable:
		return "report this address; the guard refuses what it cannot check"
	}
	return "set security.allow_private_targets: true, or add " + strconv.Quote(entry) +
		" (a host, host:port, IP or CIDR) to security.allowed_hosts"
}
