package oidc

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewValidatesConfig(t *testing.T) {
	valid := func() Config {
		return Config{Issuer: "https://id.example.com/realms/factflow", Audience: []string{"factflow-api"}}
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no issuer", func(c *Config) { c.Issuer = "" }, "Issuer is required"},
		{"relative issuer", func(c *Config) { c.Issuer = "id.example.com" }, "Issuer"},
		{"issuer with another scheme", func(c *Config) { c.Issuer = "ftp://id.example.com" }, "Issuer"},
		{"no audience", func(c *Config) { c.Audience = nil }, "Audience is required"},
		{"empty audience entry", func(c *Config) { c.Audience = []string{"a", ""} }, "Audience[1]"},
		{"bad JWKS URL", func(c *Config) { c.JWKSURL = "/certs" }, "JWKSURL"},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, "Leeway"},
		{"negative refresh", func(c *Config) { c.RefreshInterval = -time.Second }, "RefreshInterval"},
		{"min refresh above refresh", func(c *Config) {
			c.RefreshInterval, c.MinRefreshInterval = time.Minute, 2*time.Minute
		}, "MinRefreshInterval"},
		{"min refresh above default refresh", func(c *Config) { c.MinRefreshInterval = time.Hour }, "MinRefreshInterval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.edit(&cfg)
			v, err := New(cfg)
			require.Nil(t, v)
			require.ErrorContains(t, err, tc.field)
		})
	}
}

func TestNewAppliesDefaultsAndDoesNotFetch(t *testing.T) {
	iss := newIssuer(t)
	aud := []string{"factflow-api"}
	v, err := New(Config{Issuer: iss.srv.URL, Audience: aud})
	require.NoError(t, err)
	aud[0] = "changed"
	c := v.cfg
	require.Equal(t, []string{"factflow-api"}, c.Audience, "the config keeps its own copy")
	require.Equal(t, "scope", c.ScopeClaim)
	require.Equal(t, "roles", c.RolesClaim)
	require.Equal(t, "preferred_username", c.UsernameClaim)
	require.Equal(t, 60*time.Second, c.Leeway)
	require.Equal(t, 10*time.Minute, c.RefreshInterval)
	require.Equal(t, 30*time.Second, c.MinRefreshInterval)
	require.Equal(t, 10*time.Second, c.HTTPClient.Timeout)
	require.NotNil(t, c.Now)
	require.Zero(t, iss.discoveryHits.Load()+iss.jwksHits.Load())

	client := &http.Client{}
	v, err = New(Config{Issuer: iss.srv.URL, Audience: aud, HTTPClient: client, Leeway: time.Second})
	require.NoError(t, err)
	require.Same(t, client, v.cfg.HTTPClient)
	require.Equal(t, time.Second, v.cfg.Leeway)
}
