package netguard

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip   string
		want Reason
	}{
		{"8.8.8.8", ReasonNone},
		{"1.1.1.1", ReasonNone},
		{"2606:4700:4700::1111", ReasonNone},
		{"64:ff9b::808:808", ReasonNone}, // NAT64 of 8.8.8.8
		{"127.0.0.1", ReasonLoopback},
		{"127.255.255.254", ReasonLoopback},
		{"::1", ReasonLoopback},
		{"10.1.2.3", ReasonPrivate},
		{"172.16.0.1", ReasonPrivate},
		{"172.31.255.255", ReasonPrivate},
		{"192.168.1.1", ReasonPrivate},
		{"fc00::1", ReasonPrivate},
		{"fd12:3456::1", ReasonPrivate},
		{"169.254.1.1", ReasonLinkLocal},
		{"fe80::1", ReasonLinkLocal},
		{"fe80::1%eth0", ReasonLinkLocal},
		{"169.254.169.254", ReasonMetadata},
		{"fd00:ec2::254", ReasonMetadata},
		{"100.100.100.200", ReasonMetadata},
		{"0.0.0.0", ReasonUnspecified},
		{"0.1.2.3", ReasonUnspecified},
		{"::", ReasonUnspecified},
		{"224.0.0.1", ReasonMulticast},
		{"239.255.255.250", ReasonMulticast},
		{"ff02::1", ReasonMulticast},
		{"255.255.255.255", ReasonBroadcast},
		{"100.64.0.1", ReasonShared},
		{"100.127.255.254", ReasonShared},
		{"240.0.0.1", ReasonReserved},
		{"198.18.0.1", ReasonReserved},
		{"2001:db8::1", ReasonReserved},
		{"::127.0.0.1", ReasonReserved}, // deprecated IPv4-compatible
		// IPv6 forms that embed an IPv4 address are judged by it.
		{"::ffff:127.0.0.1", ReasonLoopback},
		{"::ffff:7f00:1", ReasonLoopback},
		{"::ffff:10.0.0.1", ReasonPrivate},
		{"::ffff:169.254.169.254", ReasonMetadata},
		{"64:ff9b::7f00:1", ReasonLoopback},
		{"64:ff9b::a9fe:a9fe", ReasonMetadata},
		{"2002:7f00:1::", ReasonLoopback},
		{"2002:c0a8:101::1", ReasonPrivate},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Classify(netip.MustParseAddr(tt.ip)))
		})
	}
	require.Equal(t, ReasonUnparsable, Classify(netip.Addr{}))
}

func TestParseHostIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want string // "" = not an IP
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0xa9.0xfe.0xa9.0xfe", "169.254.169.254"},
		{"0251.0376.0251.0376", "169.254.169.254"},
		{"2852039166", "169.254.169.254"},
		{"0", "0.0.0.0"},
		{"[::1]", "::1"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1"},
		{"[::ffff:7f00:1]", "::ffff:127.0.0.1"},
		{"[fe80::1%eth0]", "fe80::1%eth0"},
		{"example.com", ""},
		{"1.2.3.4.example", ""},
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"4294967296", ""},
		{"127.16777216", ""},
		{"0x", ""},
		{"08.0.0.1", ""}, // 8 is not an octal digit
		{"1..1", ""},
		{"-1", ""},
		{"+1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			ip, ok := ParseHostIP(tt.host)
			if tt.want == "" {
				require.False(t, ok, "parsed %q as %s", tt.host, ip)
				return
			}
			require.True(t, ok, "did not parse %q", tt.host)
			require.Equal(t, tt.want, ip.String())
		})
	}
}
