package netguard

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGuardCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		guard Guard
		host  string
		addr  string
		want  Reason // ReasonNone = allowed
	}{
		{"public", Guard{}, "example.org", "93.184.215.14:443", ReasonNone},
		{"loopback refused", Guard{}, "localhost", "127.0.0.1:8080", ReasonLoopback},
		{"mapped loopback refused", Guard{}, "", "[::ffff:127.0.0.1]:80", ReasonLoopback},
		{"private refused", Guard{}, "db", "10.0.0.5:5432", ReasonPrivate},
		{"metadata refused", Guard{}, "metadata.google.internal", "169.254.169.254:80", ReasonMetadata},
		{"allow private", Guard{AllowPrivate: true}, "localhost", "127.0.0.1:8080", ReasonNone},
		{"allow private keeps metadata out", Guard{AllowPrivate: true}, "", "169.254.169.254:80", ReasonMetadata},
		{"allow private keeps mapped metadata out", Guard{AllowPrivate: true}, "", "[::ffff:169.254.169.254]:80", ReasonMetadata},
		{"metadata explicitly listed", Guard{AllowedHosts: []string{"169.254.169.254"}}, "", "169.254.169.254:80", ReasonNone},
		{"ip entry", Guard{AllowedHosts: []string{"127.0.0.1"}}, "localhost", "127.0.0.1:9999", ReasonNone},
		{"ip entry matches mapped form", Guard{AllowedHosts: []string{"127.0.0.1"}}, "", "[::ffff:127.0.0.1]:9999", ReasonNone},
		{"ip:port entry", Guard{AllowedHosts: []string{"127.0.0.1:8080"}}, "", "127.0.0.1:8080", ReasonNone},
		{"ip:port entry other port", Guard{AllowedHosts: []string{"127.0.0.1:8080"}}, "", "127.0.0.1:8081", ReasonLoopback},
		{"cidr entry", Guard{AllowedHosts: []string{"10.0.0.0/8"}}, "db", "10.20.30.40:5432", ReasonNone},
		{"cidr entry outside", Guard{AllowedHosts: []string{"10.0.0.0/8"}}, "db", "192.168.0.1:5432", ReasonPrivate},
		{"ipv6 cidr entry", Guard{AllowedHosts: []string{"fd00::/8"}}, "", "[fd00::1]:80", ReasonNone},
		{"ipv6 ip:port entry", Guard{AllowedHosts: []string{"[::1]:8080"}}, "", "[::1]:8080", ReasonNone},
		{"name entry", Guard{AllowedHosts: []string{"Intranet.Example."}}, "intranet.example", "10.0.0.7:443", ReasonNone},
		{"name entry other name", Guard{AllowedHosts: []string{"intranet.example"}}, "evil.example", "10.0.0.7:443", ReasonPrivate},
		{"name:port entry", Guard{AllowedHosts: []string{"intranet.example:8443"}}, "intranet.example", "10.0.0.7:8443", ReasonNone},
		{"name:port entry other port", Guard{AllowedHosts: []string{"intranet.example:8443"}}, "intranet.example", "10.0.0.7:443", ReasonPrivate},
		{"wildcard entry", Guard{AllowedHosts: []string{"*.corp.example"}}, "wiki.corp.example", "10.0.0.7:443", ReasonNone},
		{"wildcard is not the apex", Guard{AllowedHosts: []string{"*.corp.example"}}, "corp.example", "10.0.0.7:443", ReasonPrivate},
		{"wildcard needs a dot", Guard{AllowedHosts: []string{"*.corp.example"}}, "evilcorp.example", "10.0.0.7:443", ReasonPrivate},
		{"invalid entry allows nothing", Guard{AllowedHosts: []string{"http://127.0.0.1/"}}, "", "127.0.0.1:80", ReasonLoopback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.guard.Check(tt.host, netip.MustParseAddrPort(tt.addr))
			if tt.want == ReasonNone {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBlocked)
			var be *BlockedError
			require.ErrorAs(t, err, &be)
			require.Equal(t, tt.want, be.Reason)
			require.Contains(t, err.Error(), Code)
			require.Contains(t, be.Hint(), "security.allowed_hosts")
		})
	}
}

func TestGuardValidate(t *testing.T) {
	t.Parallel()
	good := Guard{AllowedHosts: []string{"example.org", "*.example.org", "example.org:8080", "10.0.0.1",
		"10.0.0.1:80", "[::1]:80", "::1", "10.0.0.0/8", "fd00::/8", "0x7f000001"}}
	require.NoError(t, good.Validate())
	for _, bad := range []string{"", "http://example.org", "10.0.0.0/33", "example.org:http", "example.org:0",
		"exa mple.org", "example.org/path"} {
		err := Guard{AllowedHosts: []string{bad}}.Validate()
		require.Error(t, err, "entry %q", bad)
	}
}

func TestGuardCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want Reason
	}{
		{"https://example.org/x", ReasonNone},
		{"http://localhost/", ReasonNone}, // names are checked when dialling
		{"ftp://example.org/", ReasonScheme},
		{"file:///etc/passwd", ReasonScheme},
		{"gopher://127.0.0.1:70/", ReasonScheme},
		{"http://127.0.0.1/", ReasonLoopback},
		{"http://0x7f000001/", ReasonLoopback},
		{"http://2130706433:8080/", ReasonLoopback},
		{"http://0177.0.0.1/", ReasonLoopback},
		{"http://127.1/", ReasonLoopback},
		{"http://[::ffff:127.0.0.1]/", ReasonLoopback},
		{"http://[::1]:8080/", ReasonLoopback},
		{"http://0xa9fea9fe/latest/meta-data/", ReasonMetadata},
		{"http://[fe80::1%25eth0]/", ReasonLinkLocal},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.url)
			require.NoError(t, err)
			err = Guard{}.CheckURL(u)
			if tt.want == ReasonNone {
				require.NoError(t, err)
				return
			}
			var be *BlockedError
			require.True(t, errors.As(err, &be), "got %v", err)
			require.Equal(t, tt.want, be.Reason)
		})
	}
}
