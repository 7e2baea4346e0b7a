package auth_test

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/store"
)

var headerSeeds = []string{
	"", "Bearer x", "bearer x", "BEARER x", "Bearer  \t x \t ", "Basic abc", "Bearer", "Bearer ",
	"Bearer a b", "Bearer a\x00b", "Bearer a\nb", "Bearer a\x7f", "Bearer é", "Bearer \xff",
	"Bearer " + strings.Repeat("x", 8193), "Bearer " + strings.Repeat("x", 8185), "Bearer\tx", " Bearer x",
	"Bearer fft_knowntokensecret", "Bearer h.p.s", "Bearer x y z", "Bearer \t", "Digest x",
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		cred, err := auth.ParseAuthorization(header)
		if err != nil {
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Code != auth.CodeAuthHeaderInvalid {
				t.Fatalf("error %v (%T), want 401 %s", err, err, auth.CodeAuthHeaderInvalid)
			}
			if cred != "" {
				t.Fatalf("credential %q returned with an error", cred)
			}
			return
		}
		if header == "" {
			if cred != "" {
				t.Fatalf("credential %q from an absent header", cred)
			}
			return
		}
		if cred == "" {
			t.Fatalf("header %q: no credential and no error", header)
		}
		for i := 0; i < len(cred); i++ {
			if c := cred[i]; c <= ' ' || c > '~' {
				t.Fatalf("credential %q holds byte %#x", cred, c)
			}
		}
		if !strings.Contains(header, cred) {
			t.Fatalf("credential %q is not in header %q", cred, header)
		}
		if len(header) > 8192 {
			t.Fatalf("a %d-byte header was accepted", len(header))
		}
		if !strings.EqualFold(header[:len("Bearer ")], "Bearer ") {
			t.Fatalf("header %q accepted without the Bearer scheme", header)
		}
	})
}

// fuzzProxyCIDRs are the trusted networks of the fuzzed trusted_headers
// authenticator.
var fuzzProxyCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}

// fromProxyNetwork reports whether remote (host:port or a bare host) lies
// in fuzzProxyCIDRs.
func fromProxyNetwork(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range fuzzProxyCIDRs {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

func FuzzAuthenticate(f *testing.F) {
	tokens := newFakeTokens()
	tokens.add("fft_knowntokensecret", &store.APIToken{ID: "k", Name: "known", Scopes: []string{"write"}})
	tokens.add("fft_admintokensecret", &store.APIToken{ID: "a", Name: "admin", Scopes: []string{"admin"}})
	tokens.add("fft_noscopetoken", &store.APIToken{ID: "n", Name: "none", Scopes: nil})
	revoked := time.Unix(0, 0)
	tokens.add("fft_revokedtokensecret", &store.APIToken{ID: "r", Name: "revoked", Scopes: []string{"admin"},
		RevokedAt: &revoked})
	tokens.add("fft_expiredtokensecret", &store.APIToken{ID: "e", Name: "expired", Scopes: []string{"admin"},
		ExpiresAt: &revoked})
	tokens.failFor("fft_unavailabletoken", errors.New("database down"))

	th := auth.TrustedHeaders{ProxyCIDRs: fuzzProxyCIDRs, UserHeader: userHeader, GroupsHeader: groupsHeader,
		Scopes: auth.ScopeMap{auth.Write: {"editors"}, auth.Admin: {"ops"}}, DefaultScopes: []auth.Scope{auth.Read}}
	authenticators := map[auth.Mode]*auth.Authenticator{
		auth.ModeToken:          newAuth(f, auth.Config{Mode: auth.ModeToken, Tokens: tokens}),
		auth.ModeTrustedHeaders: newAuth(f, auth.Config{Mode: auth.ModeTrustedHeaders, Tokens: tokens, TrustedHeaders: th}),
	}

	remotes := []string{"10.1.2.3:4000", "192.0.2.1:1234", "[::ffff:10.0.0.1]:1", "[2001:db8::1]:443", "10.0.0.1", "", "garbage:x", "[fe80::1%eth0]:1"}
	users := []string{"", "alice", " ops ", "ops", "editors,ops", "\x00", "  "}
	for i, h := range append(headerSeeds, "Bearer fft_admintokensecret", "Bearer fft_revokedtokensecret",
		"Bearer fft_expiredtokensecret", "Bearer fft_unavailabletoken", "Bearer fft_noscopetoken", "Bearer fft_wrong") {
		f.Add(h, remotes[i%len(remotes)], users[i%len(users)])
	}
	for _, r := range remotes {
		for _, u := range users {
			f.Add("", r, u)
		}
	}

	f.Fuzz(func(t *testing.T, header, remote, user string) {
		cred, credErr := auth.ParseAuthorization(header)
		for mode, a := range authenticators {
			r := request("", "")
			r.RemoteAddr = remote
			r.Header.Set("Authorization", header)
			r.Header.Set(userHeader, user)
			r.Header.Set(groupsHeader, user)
			p, err := a.Authenticate(r)
			if (p == nil) == (err == nil) {
				t.Fatalf("%s: principal %+v and error %v", mode, p, err)
			}
			if err != nil {
				if err.Status != http.StatusUnauthorized && err.Status != http.StatusServiceUnavailable {
					t.Fatalf("%s: error status %d (%v)", mode, err.Status, err)
				}
				if err.Code == "" {
					t.Fatalf("%s: error without a code: %v", mode, err)
				}
				continue
			}
			if credErr != nil {
				t.Fatalf("%s: header %q is invalid (%v) yet accepted as %+v", mode, header, credErr, p)
			}
			switch p.Kind {
			case auth.KindAnonymous:
				if len(p.Scopes) != 0 {
					t.Fatalf("%s: anonymous with scopes %v", mode, p.Scopes)
				}
			case auth.KindToken:
				if cred == "" || !tokens.knows(cred) || p.TokenID == "" {
					t.Fatalf("%s: token principal %+v from credential %q the store does not know", mode, p, cred)
				}
			case auth.KindProxy:
				if mode != auth.ModeTrustedHeaders || cred != "" || !fromProxyNetwork(remote) ||
					strings.TrimSpace(user) == "" {
					t.Fatalf("%s: proxy principal %+v from %q (credential %q)", mode, p, remote, cred)
				}
			default:
				t.Fatalf("%s: principal of kind %q", mode, p.Kind)
			}
		}
	})
}
