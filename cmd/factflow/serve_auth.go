package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/factflow/factflow/server/appconfig"
	"github.com/factflow/factflow/server/auth"
	"github.com/factflow/factflow/server/auth/oidc"
	"github.com/factflow/factflow/store"
)

// authConfig turns the auth section of the app config into the API's
// authentication settings (the token store is filled in by the API).
func authConfig(c appconfig.Auth, log *slog.Logger) (auth.Config, error) {
	out := auth.Config{Mode: auth.Mode(c.Mode), Logger: log}
	th := c.TrustedHeaders
	cidrs, err := appconfig.ProxyPrefixes(th.ProxyCIDRs)
	if err != nil {
		return out, fmt.Errorf("auth.trusted_headers.proxy_cidrs: %w", err)
	}
	defaults, err := auth.ParseScopes(th.DefaultScopes)
	if err != nil {
		return out, fmt.Errorf("auth.trusted_headers.default_scopes: %w", err)
	}
	out.TrustedHeaders = auth.TrustedHeaders{ProxyCIDRs: cidrs, UserHeader: th.UserHeader, EmailHeader: th.EmailHeader,
		GroupsHeader: th.GroupsHeader, DefaultScopes: defaults, Scopes: scopeMap(th.Scopes)}
	if out.Mode == auth.ModeOIDC {
		o := c.OIDC
		v, err := oidc.New(oidc.Config{Issuer: o.Issuer, Audience: o.Audience, JWKSURL: o.JWKSURL,
			ScopeClaim: o.ScopeClaim, RolesClaim: o.RolesClaim, UsernameClaim: o.UsernameClaim})
		if err != nil {
			return out, fmt.Errorf("auth.oidc: %w", err)
		}
		out.OIDC = v
		out.OIDCScopes = scopeMap(o.Scopes)
	}
	return out, nil
}

func scopeMap(g appconfig.ScopeGrants) auth.ScopeMap {
	return auth.ScopeMap{auth.Read: g.Read, auth.Write: g.Write, auth.Admin: g.Admin}
}

// bootstrapAuth stores the bootstrap token and warns when a mode that
// needs tokens has no way in for an admin.
func bootstrapAuth(ctx context.Context, c appconfig.Auth, db *store.DB, log *slog.Logger) error {
	tokens := store.NewTokens(db)
	if c.BootstrapToken != "" {
		t, err := auth.EnsureBootstrap(ctx, tokens, c.BootstrapToken)
		if err != nil {
			return err
		}
		if t.RevokedAt != nil {
			log.Warn("the bootstrap token is revoked; FACTFLOW_BOOTSTRAP_TOKEN no longer lets anyone in", "token_id", t.ID)
		} else {
			log.Info("bootstrap admin token ready", "token_id", t.ID, "prefix", t.Prefix)
		}
		return nil
	}
	if c.Mode != string(auth.ModeToken) {
		return nil
	}
	n, err := tokens.CountActiveAdmins(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		log.Warn("auth mode token, and no admin token exists: nobody can create tokens",
			"hint", "set FACTFLOW_BOOTSTRAP_TOKEN to a random string of 32+ characters and restart, then create tokens with factflow token create")
	}
	return nil
}
