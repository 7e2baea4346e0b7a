package auth

import (
	"context"
	"fmt"

	"github.com/factflow/factflow/store"
)

// TokenEnsurer stores a token unless one with the same hash exists.
type TokenEnsurer interface {
	EnsureHash(ctx context.Context, t *store.APIToken) (*store.APIToken, error)
}

// BootstrapTokenName names the token FACTFLOW_BOOTSTRAP_TOKEN creates.
const BootstrapTokenName = "bootstrap"

// EnsureBootstrap stores plain as an admin token named "bootstrap" unless
// it is stored already, so the first admin can get in and every restart
// or replica with the same setting is a no-op. A revoked bootstrap token
// stays revoked: revoking it is how an operator retires the setting.
func EnsureBootstrap(ctx context.Context, tokens TokenEnsurer, plain string) (*store.APIToken, error) {
	t, err := tokens.EnsureHash(ctx, &store.APIToken{Name: BootstrapTokenName, Prefix: DisplayPrefix(plain),
		Hash: HashToken(plain), Scopes: []string{Admin.String()}, CreatedBy: "FACTFLOW_BOOTSTRAP_TOKEN"})
	if err != nil {
		return nil, fmt.Errorf("storing the bootstrap token: %w", err)
	}
	return t, nil
}
