package auth_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/factflow/factflow/server/auth"
)

func TestParseScope(t *testing.T) {
	good := map[string]auth.Scope{
		"read": auth.Read, "READ": auth.Read, " Read ": auth.Read,
		"write": auth.Write, "Write": auth.Write,
		"admin": auth.Admin, "ADMIN": auth.Admin,
	}
	for in, want := range good {
		got, err := auth.ParseScope(in)
		if err != nil || got != want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "public", "root", "reader", "read,write", "admin!"} {
		got, err := auth.ParseScope(in)
		if got != auth.Public {
			t.Errorf("ParseScope(%q) = %v with an error", in, got)
		}
		asAuthError(t, err, http.StatusBadRequest, auth.CodeScopeInvalid)
	}
}

func TestParseScopes(t *testing.T) {
	got, err := auth.ParseScopes([]string{"admin", "read", "ADMIN", "write", "read"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []auth.Scope{auth.Read, auth.Write, auth.Admin}; !slices.Equal(got, want) {
		t.Errorf("ParseScopes = %v, want %v (sorted, no duplicates)", got, want)
	}
	if got, err := auth.ParseScopes(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseScopes(nil) = %v, %v", got, err)
	}
	if got, err := auth.ParseScopes([]string{"read", "bogus"}); err == nil || got != nil {
		t.Errorf("ParseScopes with an unknown name = %v, %v", got, err)
	} else {
		asAuthError(t, err, http.StatusBadRequest, auth.CodeScopeInvalid)
	}
}

func TestScopeOrderAndNames(t *testing.T) {
	if !(auth.Public < auth.Read && auth.Read < auth.Write && auth.Write < auth.Admin) {
		t.Error("scopes are not ordered public < read < write < admin")
	}
	if !slices.Equal(auth.AllScopes, []auth.Scope{auth.Read, auth.Write, auth.Admin}) {
		t.Errorf("AllScopes = %v", auth.AllScopes)
	}
	for s, want := range map[auth.Scope]string{auth.Public: "public", auth.Read: "read",
		auth.Write: "write", auth.Admin: "admin", auth.Scope(9): "scope(9)"} {
		if s.String() != want {
			t.Errorf("Scope(%d).String() = %q, want %q", int(s), s.String(), want)
		}
	}
	if got := auth.ScopeNames([]auth.Scope{auth.Read, auth.Admin}); !slices.Equal(got, []string{"read", "admin"}) {
		t.Errorf("ScopeNames = %v", got)
	}
	// Names round-trip through ParseScope.
	for _, s := range auth.AllScopes {
		if got, err := auth.ParseScope(s.String()); err != nil || got != s {
			t.Errorf("ParseScope(%q) = %v, %v", s, got, err)
		}
	}
}

func TestPrincipalCan(t *testing.T) {
	tests := []struct {
		scopes []auth.Scope
		can    []auth.Scope
		cannot []auth.Scope
	}{
		{nil, []auth.Scope{auth.Public}, []auth.Scope{auth.Read, auth.Write, auth.Admin}},
		{[]auth.Scope{auth.Read}, []auth.Scope{auth.Public, auth.Read}, []auth.Scope{auth.Write, auth.Admin}},
		{[]auth.Scope{auth.Write}, []auth.Scope{auth.Public, auth.Read, auth.Write}, []auth.Scope{auth.Admin}},
		{[]auth.Scope{auth.Admin}, []auth.Scope{auth.Public, auth.Read, auth.Write, auth.Admin}, nil},
		{[]auth.Scope{auth.Read, auth.Admin}, []auth.Scope{auth.Write, auth.Admin}, nil},
	}
	for _, tt := range tests {
		p := &auth.Principal{Subject: "x", Kind: auth.KindToken, Scopes: tt.scopes}
		for _, s := range tt.can {
			if !p.Can(s) {
				t.Errorf("principal with %v cannot %v", tt.scopes, s)
			}
		}
		for _, s := range tt.cannot {
			if p.Can(s) {
				t.Errorf("principal with %v can %v", tt.scopes, s)
			}
		}
	}
	if auth.Anonymous.Can(auth.Read) || !auth.Anonymous.Can(auth.Public) {
		t.Error("Anonymous may do more than public operations")
	}
	if !auth.Local.Can(auth.Admin) {
		t.Error("Local is not admin")
	}
}

func TestPrincipalScopeNames(t *testing.T) {
	tests := []struct {
		scopes []auth.Scope
		want   []string
	}{
		{nil, nil},
		{[]auth.Scope{auth.Read}, []string{"read"}},
		{[]auth.Scope{auth.Write}, []string{"read", "write"}},
		{[]auth.Scope{auth.Admin}, []string{"read", "write", "admin"}},
		{[]auth.Scope{auth.Admin, auth.Read}, []string{"read", "write", "admin"}},
	}
	for _, tt := range tests {
		p := &auth.Principal{Scopes: tt.scopes}
		if got := p.ScopeNames(); !slices.Equal(got, tt.want) {
			t.Errorf("ScopeNames of %v = %v, want %v", tt.scopes, got, tt.want)
		}
	}
}

func TestPrincipalAuthenticated(t *testing.T) {
	if auth.Anonymous.Authenticated() {
		t.Error("Anonymous is authenticated")
	}
	for _, k := range []string{auth.KindLocal, auth.KindToken, auth.KindProxy, auth.KindOIDC} {
		if !(&auth.Principal{Kind: k}).Authenticated() {
			t.Errorf("kind %s is not authenticated", k)
		}
	}
}
