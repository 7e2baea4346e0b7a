package appconfig

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// AuthModes are the values of auth.mode.
var AuthModes = []string{"none", "token", "trusted_headers", "oidc"}

func (c *Config) checkAuth(bad func(key, format string, args ...any)) {
	a := &c.Auth
	if !slices.Contains(AuthModes, a.Mode) {
		bad("auth.mode", "%q is not a mode; use one of %s", a.Mode, strings.Join(AuthModes, ", "))
		return
	}
	if t := a.BootstrapToken; t != "" && (len(t) < 32 || !tokenChars(t)) {
		bad("auth.bootstrap_token", "must be at least 32 printable ASCII characters without spaces or dots (a dot would read as a JWT); generate one with `openssl rand -hex 32`")
	}
	checkScopes := func(key string, names []string) {
		for _, n := range names {
			if n != "read" && n != "write" && n != "admin" {
				bad(key, "%q is not a scope; use read, write or admin", n)
			}
		}
	}
	th := &a.TrustedHeaders
	checkScopes("auth.trusted_headers.default_scopes", th.DefaultScopes)
	if _, err := ProxyPrefixes(th.ProxyCIDRs); err != nil {
		bad("auth.trusted_headers.proxy_cidrs", "%v", err)
	}
	if a.Mode == "trusted_headers" {
		if len(th.ProxyCIDRs) == 0 {
			bad("auth.trusted_headers.proxy_cidrs", "is empty; name the networks the SSO proxy connects from, e.g. [10.0.0.5/32]")
		}
		if strings.TrimSpace(th.UserHeader) == "" {
			bad("auth.trusted_headers.user_header", "is empty; name the header the proxy puts the user in, e.g. X-Forwarded-User")
		}
	}
	o := &a.OIDC
	if a.Mode == "oidc" {
		if u, err := url.Parse(o.Issuer); o.Issuer == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("auth.oidc.issuer", "%q is not an issuer URL; write the identity provider's issuer, e.g. https://id.example.com/realms/ops", o.Issuer)
		}
		if len(o.Audience) == 0 {
			bad("auth.oidc.audience", "is empty; name the audience the provider puts in tokens for Factflow")
		}
	}
	if o.JWKSURL != "" {
		if u, err := url.Parse(o.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("auth.oidc.jwks_url", "%q is not an http(s) URL", o.JWKSURL)
		}
	}
}

// ProxyPrefixes parses proxy networks; a bare address is a single host.
func ProxyPrefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, s := range cidrs {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR nor an address, e.g. 10.0.0.0/24 or 10.0.0.5", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// tokenChars reports whether s can travel as a bearer token that is not
// mistaken for a JWT: printable ASCII, no spaces, no dots.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == '.' {
			return false
		}
	}
	return true
}
