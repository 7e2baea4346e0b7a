package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

func newWebhookCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "webhook",
		Short: "Manage webhook subscriptions and their deliveries",
		Long: `A webhook subscription POSTs events (execution started, completed, failed or
cancelled, storage objects created, lineage failures, dead letters) to a URL,
signed with HMAC-SHA256 of its secret in X-Factflow-Signature. Failed
deliveries are retried on a schedule, then marked dead; redeliver sends one
again with the same delivery id.

The secret is shown once, when the subscription is created (or given a new
one): keep it where the receiver can read it.`,
	}
	c.AddCommand(newWebhookCreateCmd(), newWebhookListCmd(), newWebhookGetCmd(), newWebhookDeleteCmd(),
		newWebhookTestCmd(), newWebhookDeliveriesCmd(), newWebhookRedeliverCmd())
	return c
}

func newWebhookCreateCmd() *cobra.Command {
	var (
		b       api.WebhookCreate
		f       api.WebhookFilterInput
		events  []string
		enabled = true
	)
	c := &cobra.Command{
		Use:   "create --url URL --event TYPE [--event TYPE…]",
		Short: "Subscribe a URL to events; prints the signing secret once",
		Args:  cobra.NoArgs,
		Example: `  factflow webhook create --url https://ops.example.com/hooks --event execution.failed --event dead_letter.created
  factflow webhook create --url https://ci.example.com/done --event execution.completed --config 0193a6f5-3c1e-7b2a-9d40-5e8f1a2b3c4d`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			b.EventTypes = splitEvents(events)
			if f != (api.WebhookFilterInput{}) {
				b.Filters = &f
			}
			if !enabled {
				b.Active = &enabled
			}
			var out api.WebhookWithSecret
			if err := cl.call(cmd.Context(), http.MethodPost, "/webhooks", nil, b, &out); err != nil {
				return exitFor(cmd.Context(), err)
			}
			// On stderr too when the output is for a program: the warning
			// must reach a person without breaking the JSON.
			warning := "The secret is shown this once; store it now (a new one: PATCH /api/v1/webhooks/{id} with rotate_secret)."
			if cl.output == "json" || cl.output == "yaml" {
				fmt.Fprintln(cmd.ErrOrStderr(), warning)
			}
			return render(cmd.OutOrStdout(), cl.output, out, func(w io.Writer) error {
				if err := webhookDetail(w, out.Subscription, out.Secret); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, "\nWarning: "+warning)
				return err
			})
		}),
	}
	fl := c.Flags()
	fl.StringVar(&b.URL, "url", "", "the http(s) URL events are POSTed to (required)")
	fl.StringArrayVar(&events, "event", nil, "an event type to receive, repeatable or comma-separated (required): "+
		strings.Join(webhooks.EventTypes(), ", "))
	fl.StringVar(&f.ExecutionID, "execution", "", "only events of this execution id")
	fl.StringVar(&f.ConfigID, "config", "", "only events of this config id")
	fl.StringVar(&f.RouteID, "route", "", "only events of this route key")
	fl.StringVar(&f.AdapterName, "adapter", "", "only events of this adapter")
	fl.StringVar(&b.Secret, "secret", "", "the signing secret (default: one is generated)")
	fl.StringVar(&b.Description, "description", "", "what the subscription is for")
	fl.BoolVar(&enabled, "active", true, "send events (--active=false creates it paused)")
	_ = c.MarkFlagRequired("url")
	_ = c.MarkFlagRequired("event")
	return c
}

// splitEvents accepts --event a --event b and --event a,b alike.
func splitEvents(in []string) []string {
	out := []string{}
	for _, e := range in {
		for _, t := range strings.Split(e, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

func webhookDetail(w io.Writer, s webhooks.Subscription, secret string) error {
	kv := []any{"ID", s.ID, "URL", s.URL, "Events", strings.Join(s.EventTypes, ", "), "Active", s.Active,
		"Description", s.Description, "Filters", webhookFilters(s.Filters), "Created", s.CreatedAt, "Updated", s.UpdatedAt}
	if secret != "" {
		kv = append(kv, "Secret", secret)
	}
	return fields(w, kv...)
}

func webhookFilters(f store.WebhookFilters) string {
	var parts []string
	for _, p := range [][2]string{{"config", f.ConfigID}, {"execution", f.ExecutionID}, {"route", f.RouteID}, {"adapter", f.AdapterName}} {
		if p[1] != "" {
			parts = append(parts, p[0]+"="+p[1])
		}
	}
	return strings.Join(parts, " ")
}

func newWebhookListCmd() *cobra.Command {
	var limit, offset int
	c := &cobra.Command{
		Use:   "list",
		Short: "List webhook subscriptions (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var pg api.Page[webhooks.Subscription]
			if err := cl.get(cmd.Context(), "/webhooks", pageQuery(limit, offset), &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "ID", "URL", "EVENTS", "FILTERS", "ACTIVE", "DESCRIPTION")
				for _, s := range pg.Items {
					row(tw, s.ID, s.URL, strings.Join(s.EventTypes, ","), webhookFilters(s.Filters), s.Active, s.Description)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return pageFooter(w, pg.Total, pg.Offset, len(pg.Items), pg.HasMore)
			})
		}),
	}
	addPageFlags(c, &limit, &offset)
	return c
}

func newWebhookGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a webhook subscription",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var s webhooks.Subscription
			if err := cl.get(cmd.Context(), "/webhooks/"+seg(args[0]), nil, &s); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, s, func(w io.Writer) error { return webhookDetail(w, s, "") })
		}),
	}
}

func newWebhookDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Remove a webhook subscription and its deliveries",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			if err := cl.call(cmd.Context(), http.MethodDelete, "/webhooks/"+seg(args[0]), nil, nil, nil); err != nil {
				return exitFor(cmd.Context(), err)
			}
			res := map[string]any{"id": args[0], "deleted": true}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "webhook %s deleted\n", args[0])
				return err
			})
		}),
	}
}

func newWebhookTestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test ID",
		Short: "Send a webhook.test event to a subscription",
		Long: `Queues a webhook.test event for this subscription only, whatever its event
types and filters. The outcome shows in "factflow webhook deliveries ID".`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var d store.WebhookDelivery
			if err := cl.call(cmd.Context(), http.MethodPost, "/webhooks/"+seg(args[0])+"/test", nil, nil, &d); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, d, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "test delivery %s queued; see `factflow webhook deliveries %s`\n", d.ID, d.SubscriptionID)
				return err
			})
		}),
	}
}

func newWebhookDeliveriesCmd() *cobra.Command {
	var limit, offset int
	c := &cobra.Command{
		Use:   "deliveries ID",
		Short: "List a subscription's deliveries, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var pg api.Page[store.WebhookDelivery]
			if err := cl.get(cmd.Context(), "/webhooks/"+seg(args[0])+"/deliveries", pageQuery(limit, offset), &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "ID", "EVENT", "STATUS", "ATTEMPTS", "LAST HTTP", "LAST ERROR", "NEXT ATTEMPT", "CREATED")
				for _, d := range pg.Items {
					last := ""
					if d.LastStatus != 0 {
						last = fmt.Sprint(d.LastStatus)
					}
					row(tw, d.ID, d.EventType, d.Status, d.Attempts, last, d.LastError, nextAttempt(d), d.CreatedAt)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return pageFooter(w, pg.Total, pg.Offset, len(pg.Items), pg.HasMore)
			})
		}),
	}
	addPageFlags(c, &limit, &offset)
	return c
}

// nextAttempt is shown for pending deliveries only: the others have none.
func nextAttempt(d store.WebhookDelivery) any {
	if d.Status != store.WebhookDeliveryPending {
		return nil
	}
	return d.NextAttemptAt
}

func newWebhookRedeliverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "redeliver DELIVERY_ID",
		Short: "Send a delivery again, with the same delivery id",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var d store.WebhookDelivery
			if err := cl.call(cmd.Context(), http.MethodPost, "/webhooks/deliveries/"+seg(args[0])+"/redeliver", nil, nil, &d); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, d, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "delivery %s queued again; see `factflow webhook deliveries %s`\n", d.ID, d.SubscriptionID)
				return err
			})
		}),
	}
}
