package auth_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/store"
)

// fakeEnsurer keeps tokens by hash like store.Tokens.EnsureHash.
type fakeEnsurer struct {
	byHash map[string]*store.APIToken
	calls  int
	err    error
}

func (f *fakeEnsurer) EnsureHash(_ context.Context, t *store.APIToken) (*store.APIToken, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if old, ok := f.byHash[string(t.Hash)]; ok {
		return old, nil
	}
	c := *t
	c.ID = "id-" + t.Name
	f.byHash[string(t.Hash)] = &c
	return &c, nil
}

func TestEnsureBootstrap(t *testing.T) {
	const plain = "0123456789abcdef0123456789abcdef"
	f := &fakeEnsurer{byHash: map[string]*store.APIToken{}}
	got, err := auth.EnsureBootstrap(context.Background(), f, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != auth.BootstrapTokenName || auth.BootstrapTokenName != "bootstrap" {
		t.Errorf("name = %q", got.Name)
	}
	if !slices.Equal(got.Scopes, []string{"admin"}) {
		t.Errorf("scopes = %v, want [admin]", got.Scopes)
	}
	if string(got.Hash) != string(auth.HashToken(plain)) {
		t.Error("the stored hash is not the hash of the plain token")
	}
	if got.Prefix != "0123" {
		t.Errorf("prefix = %q, want %q", got.Prefix, "0123")
	}
	if got.CreatedBy == "" {
		t.Error("created_by is empty")
	}
	if got.ExpiresAt != nil || got.RevokedAt != nil {
		t.Errorf("new bootstrap token expires or is revoked: %+v", got)
	}

	// The same setting again is a no-op returning the stored token.
	again, err := auth.EnsureBootstrap(context.Background(), f, plain)
	if err != nil || again != got || len(f.byHash) != 1 {
		t.Errorf("second EnsureBootstrap = %+v, %v; %d tokens stored", again, err, len(f.byHash))
	}

	// The stored token authenticates the plain one as an admin.
	tokens := newFakeTokens()
	tokens.add(plain, got)
	a := newAuth(t, auth.Config{Mode: auth.ModeToken, Tokens: tokens})
	p := mustAuth(t, a, request(bearer(plain), ""))
	if !p.Can(auth.Admin) || p.Subject != "token:bootstrap" {
		t.Errorf("bootstrap principal = %+v", p)
	}
}

func TestEnsureBootstrapFTTPrefix(t *testing.T) {
	plain, _, prefix, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEnsurer{byHash: map[string]*store.APIToken{}}
	got, err := auth.EnsureBootstrap(context.Background(), f, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got.Prefix != prefix {
		t.Errorf("prefix = %q, want %q", got.Prefix, prefix)
	}
}

func TestEnsureBootstrapStoreError(t *testing.T) {
	down := errors.New("connection refused")
	f := &fakeEnsurer{err: down}
	got, err := auth.EnsureBootstrap(context.Background(), f, "0123456789abcdef0123456789abcdef")
	if err == nil || got != nil {
		t.Fatalf("EnsureBootstrap = %+v, %v; want an error", got, err)
	}
	if !errors.Is(err, down) {
		t.Errorf("error %v does not wrap the store's", err)
	}
}
