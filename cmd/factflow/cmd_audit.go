package main

import (
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newAuditCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log (admin scope)",
		Long: `The server records every call that changes something, and every refused
one, with who made it (actor), the operation (action), the path (target),
the HTTP status and the result: ok, error or denied.`,
	}
	c.AddCommand(newAuditListCmd())
	return c
}

// auditFilter holds the flags of audit list.
type auditFilter struct {
	actor, action, target, result string
	since, until                  string
}

func (f *auditFilter) query() (url.Values, error) {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.actor, "action": f.action, "target": f.target, "result": f.result} {
		if v != "" {
			q.Set(k, v)
		}
	}
	now := time.Now()
	for name, v := range map[string]string{"since": f.since, "until": f.until} {
		t, err := flagTime(name, v, now)
		if err != nil {
			return nil, err
		}
		if t != nil {
			q.Set(name, t.UTC().Format(time.RFC3339Nano))
		}
	}
	return q, nil
}

func newAuditListCmd() *cobra.Command {
	var (
		f             auditFilter
		limit, offset int
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List audit records, newest first",
		Args:  cobra.NoArgs,
		Example: `  factflow audit list --result denied --since 24h
  factflow audit list --actor token:ci-nightly --action create-config
  factflow audit list --target /auth/tokens --output json`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q, err := f.query()
			if err != nil {
				return err
			}
			for k, v := range pageQuery(limit, offset) {
				q[k] = v
			}
			var pg api.Page[store.AuditEntry]
			if err := cl.get(cmd.Context(), "/audit", q, &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "AT", "ACTOR", "ACTION", "TARGET", "STATUS", "RESULT", "CODE")
				for _, e := range pg.Items {
					row(tw, e.At, e.Actor, e.Action, e.Target, e.Status, e.Result, e.ErrorCode)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return pageFooter(w, pg.Total, pg.Offset, len(pg.Items), pg.HasMore)
			})
		}),
	}
	fl := c.Flags()
	fl.StringVar(&f.actor, "actor", "", "exactly this actor, e.g. token:ci-nightly or alice")
	fl.StringVar(&f.action, "action", "", "this operation, e.g. create-config or revoke-token")
	fl.StringVar(&f.target, "target", "", "paths under /api/v1 starting with this, e.g. /configs/")
	fl.StringVar(&f.result, "result", "", fmt.Sprintf("%s, %s or %s", store.AuditOK, store.AuditError, store.AuditDenied))
	fl.StringVar(&f.since, "since", "", "at or after: an RFC 3339 time, or a duration ago such as 24h")
	fl.StringVar(&f.until, "until", "", "before: an RFC 3339 time, or a duration ago")
	addPageFlags(c, &limit, &offset)
	return c
}
