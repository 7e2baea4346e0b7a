package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newTokenCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens (admin scope)",
		Long: `API tokens let scripts and people call a server that runs in token mode.
Each token holds scopes: read < write < admin, each including the weaker ones.
Send one with --token or FACTFLOW_TOKEN.

The token itself is shown once, when it is created; the server keeps only
its hash, and lists show its prefix.`,
	}
	c.AddCommand(newTokenCreateCmd(), newTokenListCmd(), newTokenRevokeCmd())
	return c
}

func newTokenCreateCmd() *cobra.Command {
	var (
		b         api.TokenCreate
		scopes    []string
		expiresAt string
	)
	c := &cobra.Command{
		Use:   "create --name NAME --scope read|write|admin [--expires-in D | --expires-at T]",
		Short: "Create an API token; prints it once",
		Args:  cobra.NoArgs,
		Example: `  factflow token create --name ci-nightly --scope write --expires-in 90d
  factflow token create --name dashboards --scope read --expires-at 2027-01-01T00:00:00Z --output json`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			b.Scopes = splitEvents(scopes)
			if expiresAt != "" {
				t, err := time.Parse(time.RFC3339Nano, expiresAt)
				if err != nil {
					return withExit(exitUsage, fmt.Errorf("--expires-at %q is not an RFC 3339 time such as 2027-01-01T00:00:00Z", expiresAt))
				}
				b.ExpiresAt = &t
			}
			var out api.TokenCreated
			if err := cl.call(cmd.Context(), http.MethodPost, "/auth/tokens", nil, b, &out); err != nil {
				return exitFor(cmd.Context(), err)
			}
			// On stderr too when the output is for a program: the warning
			// must reach a person without breaking the JSON.
			const warning = "This token is shown this once and cannot be shown again: store it now."
			if cl.output == "json" || cl.output == "yaml" {
				fmt.Fprintln(cmd.ErrOrStderr(), warning)
			}
			return render(cmd.OutOrStdout(), cl.output, out, func(w io.Writer) error {
				if err := tokenDetail(w, out.APIToken); err != nil {
					return err
				}
				_, err := fmt.Fprintf(w, "\nToken:\n\n    %s\n\nWarning: %s\nUse it with --token or FACTFLOW_TOKEN.\n", out.Token, warning)
				return err
			})
		}),
	}
	fl := c.Flags()
	fl.StringVar(&b.Name, "name", "", "what the token is for, e.g. ci-nightly (required)")
	fl.StringArrayVar(&scopes, "scope", nil, "read, write or admin; repeatable or comma-separated (required)")
	fl.StringVar(&b.ExpiresIn, "expires-in", "", "lifetime such as 720h or 90d (default: never expires)")
	fl.StringVar(&expiresAt, "expires-at", "", "expiry instant, RFC 3339 (instead of --expires-in)")
	c.MarkFlagsMutuallyExclusive("expires-in", "expires-at")
	_ = c.MarkFlagRequired("name")
	_ = c.MarkFlagRequired("scope")
	return c
}

// tokenState is active, expired or revoked.
func tokenState(t store.APIToken, now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
		return "expired"
	}
	return "active"
}

func tokenDetail(w io.Writer, t store.APIToken) error {
	return fields(w, "ID", t.ID, "Name", t.Name, "Prefix", t.Prefix, "Scopes", strings.Join(t.Scopes, ", "),
		"Created by", t.CreatedBy, "Created", t.CreatedAt, "Expires", expiry(t.ExpiresAt), "Last used", t.LastUsedAt,
		"Revoked", t.RevokedAt, "State", tokenState(t, time.Now()))
}

// expiry shows a token without an expiry as never expiring.
func expiry(t *time.Time) any {
	if t == nil {
		return "never"
	}
	return t
}

func newTokenListCmd() *cobra.Command {
	var (
		all           bool
		limit, offset int
	)
	c := &cobra.Command{
		Use:   "list [--all]",
		Short: "List API tokens (never the tokens themselves)",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q := pageQuery(limit, offset)
			if all {
				q.Set("include_revoked", "true")
			}
			var pg api.Page[store.APIToken]
			if err := cl.get(cmd.Context(), "/auth/tokens", q, &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error {
				now := time.Now()
				tw := newTable(w)
				row(tw, "ID", "NAME", "PREFIX", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATE")
				for _, t := range pg.Items {
					row(tw, t.ID, t.Name, t.Prefix, strings.Join(t.Scopes, ","), t.CreatedAt, expiry(t.ExpiresAt),
						t.LastUsedAt, tokenState(t, now))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return pageFooter(w, pg.Total, pg.Offset, len(pg.Items), pg.HasMore)
			})
		}),
	}
	c.Flags().BoolVar(&all, "all", false, "include revoked tokens")
	addPageFlags(c, &limit, &offset)
	return c
}

func newTokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token: calls with it are refused from now on",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var t store.APIToken
			if err := cl.call(cmd.Context(), http.MethodDelete, "/auth/tokens/"+seg(args[0]), nil, nil, &t); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, t, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "token %s (%s) revoked\n", t.ID, t.Name)
				return err
			})
		}),
	}
}

func newWhoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the server takes you for: subject, kind, scopes and its auth mode",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var who api.Whoami
			if err := cl.get(cmd.Context(), "/auth/whoami", nil, &who); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, who, func(w io.Writer) error {
				kv := []any{"Subject", who.Subject, "Kind", who.Kind, "Scopes", strings.Join(who.Scopes, ", "), "Auth mode", who.AuthMode}
				if who.TokenID != "" {
					kv = append(kv, "Token ID", who.TokenID)
				}
				if who.Email != "" {
					kv = append(kv, "Email", who.Email)
				}
				if len(who.Groups) > 0 {
					kv = append(kv, "Groups", strings.Join(who.Groups, ", "))
				}
				return fields(w, kv...)
			})
		}),
	}
}
