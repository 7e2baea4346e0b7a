package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newDLQCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect, requeue and discard dead-lettered messages",
		Long: `Dead letters are the messages the engine gave up on, kept with why. Once the
cause is fixed, requeue puts them back into their route (a running execution
takes them back, an interrupted one resumes, and those of a finished execution
run in a new child execution); discard drops them. A requeued dead letter
stays as a record (state requeued) that names the message replacing it.`,
	}
	c.AddCommand(newDLQListCmd(), newDLQShowCmd(), newDLQRequeueCmd(), newDLQDiscardCmd())
	return c
}

// dlqFilter is the selection flags list, requeue and discard share.
type dlqFilter struct {
	execution, route, adapter, class string
	since, until                     string
	state                            string
}

func (f *dlqFilter) addFlags(c *cobra.Command, withState bool) {
	fl := c.Flags()
	fl.StringVar(&f.execution, "execution", "", "only this execution's (id or tag)")
	fl.StringVar(&f.route, "route", "", "only this route key's")
	fl.StringVar(&f.adapter, "adapter", "", "only those this adapter gave up on")
	fl.StringVar(&f.class, "class", "", "only this error class (permanent, retryable, …)")
	fl.StringVar(&f.since, "since", "", "dead-lettered at or after: an RFC 3339 time, or a duration ago such as 2h")
	fl.StringVar(&f.until, "until", "", "dead-lettered before: an RFC 3339 time, or a duration ago")
	if withState {
		fl.StringVar(&f.state, "state", "", "pending (not requeued yet; the default), requeued or all")
	}
}

// empty: no flag narrows the selection (the state does not).
func (f *dlqFilter) empty() bool {
	return f.execution == "" && f.route == "" && f.adapter == "" && f.class == "" && f.since == "" && f.until == ""
}

// flagTime reads --since/--until: an RFC 3339 time or a duration ago.
func flagTime(name, v string, now time.Time) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return &t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		t := now.Add(-d)
		return &t, nil
	}
	return nil, withExit(exitUsage, fmt.Errorf("--%s %q is neither an RFC 3339 time (2026-05-01T00:00:00Z) nor a duration ago (2h)", name, v))
}

// query is the filter as query parameters of GET and DELETE /dead-letters.
func (f *dlqFilter) query() (url.Values, error) {
	q := url.Values{}
	now := time.Now()
	for k, v := range map[string]string{"execution_id": f.execution, "route": f.route, "adapter": f.adapter,
		"error_class": f.class, "state": f.state} {
		if v != "" {
			q.Set(k, v)
		}
	}
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

// selector is the filter as the body of a requeue.
func (f *dlqFilter) selector() (*api.DeadLetterSelector, error) {
	now := time.Now()
	since, err := flagTime("since", f.since, now)
	if err != nil {
		return nil, err
	}
	until, err := flagTime("until", f.until, now)
	if err != nil {
		return nil, err
	}
	return &api.DeadLetterSelector{ExecutionID: f.execution, Route: f.route, Adapter: f.adapter,
		ErrorClass: f.class, Since: since, Until: until}, nil
}

func deadLetterState(d api.DeadLetter) string {
	if d.RequeuedAt != nil {
		return store.DeadLetterRequeued
	}
	return store.DeadLetterPending
}

func newDLQListCmd() *cobra.Command {
	var (
		f             dlqFilter
		limit, offset int
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, oldest first (pending ones unless --state says otherwise)",
		Args:  cobra.NoArgs,
		Example: `  factflow dlq list --execution nightly --class permanent
  factflow dlq list --route fetch --since 2h --state all`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q, err := f.query()
			if err != nil {
				return err
			}
			for k, v := range pageQuery(limit, offset) {
				q[k] = v
			}
			var pg api.Page[api.DeadLetter]
			if err := cl.get(cmd.Context(), "/dead-letters", q, &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error { return deadLetterTable(w, pg) })
		}),
	}
	f.addFlags(c, true)
	addPageFlags(c, &limit, &offset)
	return c
}

func newDLQShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a dead letter: why, where, and the original message",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var d api.DeadLetter
			if err := cl.get(cmd.Context(), "/dead-letters/"+seg(args[0]), nil, &d); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, d, func(w io.Writer) error { return deadLetterDetail(w, d) })
		}),
	}
}

func deadLetterDetail(w io.Writer, d api.DeadLetter) error {
	kv := []any{"ID", d.ID, "Execution", d.ExecutionID, "Route", d.Route, "Adapter", d.Adapter,
		"Queue", d.Queue, "Correlation", d.CorrelationID, "Error class", d.ErrorClass, "Attempts", d.Attempt,
		"First failed", d.FirstFailedAt, "Dead-lettered", d.CreatedAt, "State", deadLetterState(d)}
	if d.RequeuedAt != nil {
		kv = append(kv, "Requeued at", d.RequeuedAt, "Requeued as", d.RequeuedAs)
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	// The reason may span lines (a stack, a server's answer): kept as is.
	if _, err := io.WriteString(w, "Reason:\n"+indent(strings.TrimRight(d.Reason, "\n"), "  ")+"\n"); err != nil {
		return err
	}
	if len(d.Headers) > 0 {
		if _, err := io.WriteString(w, "Headers:\n"); err != nil {
			return err
		}
		h := make(map[string]any, len(d.Headers))
		for k, v := range d.Headers {
			h[k] = v
		}
		if err := mapLines(w, "  ", h); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "Payload:\n"+indent(prettyPayload(d.Payload), "  ")+"\n")
	return err
}

// prettyPayload indents a JSON payload; anything else is shown as stored.
func prettyPayload(p json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, p, "", "  "); err != nil {
		return string(p)
	}
	return b.String()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// selection reads the ids and flags of requeue and discard: ids, or
// filter flags, or --all; never ids and flags together.
func selection(ids []string, f *dlqFilter, all bool, verb string) error {
	switch {
	case len(ids) > 0 && (!f.empty() || all):
		return withExit(exitUsage, fmt.Errorf("give dead-letter ids or filter flags (or --all), not both"))
	case len(ids) == 0 && f.empty() && !all:
		return withExit(exitUsage, fmt.Errorf("nothing to %s: give dead-letter ids, filter flags (--execution, --route, --adapter, --class, --since, --until), or --all", verb))
	case all && !f.empty():
		return withExit(exitUsage, fmt.Errorf("--all selects every dead letter; drop it to use filter flags"))
	}
	return nil
}

func newDLQRequeueCmd() *cobra.Command {
	var (
		f     dlqFilter
		all   bool
		delay time.Duration
		limit int
	)
	c := &cobra.Command{
		Use:   "requeue [ID...]",
		Short: "Put dead letters back into their executions' routes, oldest first",
		Long: `Requeue publishes each selected dead letter's original message again into its
route, in the order the messages were given up on, optionally after a delay.
Select dead letters by id, or by filter flags (pending ones only, at most
--max), or every pending one with --all. A running execution takes them
back, an interrupted one resumes with them, and those of a finished execution
run in a new child execution of the same pipeline. Lineage links each new
message to the dead letter's.`,
		Example: `  factflow dlq requeue 01a2…e7 01a2…f3
  factflow dlq requeue --execution nightly --class retryable --delay 30s
  factflow dlq requeue --all --max 100`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			if err := selection(args, &f, all, "requeue"); err != nil {
				return err
			}
			if delay < 0 {
				return withExit(exitUsage, fmt.Errorf("--delay %s is negative", delay))
			}
			body := api.DeadLetterRequeue{IDs: args, Max: limit}
			if delay > 0 {
				body.Delay = delay.String()
			}
			if len(args) == 0 {
				sel, err := f.selector()
				if err != nil {
					return err
				}
				body.Filter = sel
			}
			var res api.DeadLetterRequeueResult
			if err := cl.call(cmd.Context(), http.MethodPost, "/dead-letters/requeue", nil, body, &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error { return requeueTable(w, res) })
		}),
	}
	f.addFlags(c, false)
	c.Flags().BoolVar(&all, "all", false, "requeue every pending dead letter (up to --max)")
	c.Flags().DurationVar(&delay, "delay", 0, "wait this long before the messages are delivered again (e.g. 30s; at most 24h)")
	c.Flags().IntVar(&limit, "max", 0, "with filter flags or --all, requeue at most this many (server default 1000)")
	return c
}

func requeueTable(w io.Writer, res api.DeadLetterRequeueResult) error {
	if _, err := fmt.Fprintf(w, "requeued %s\n", countOf(res.Requeued, "dead letter")); err != nil {
		return err
	}
	if res.Requeued == 0 {
		return nil
	}
	tw := newTable(w)
	row(tw, "EXECUTION", "REQUEUED", "STATUS", "CHILD OF")
	for _, ex := range res.Executions {
		row(tw, ex.ExecutionID, ex.Requeued, string(ex.Status), ex.SourceExecutionID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	tw = newTable(w)
	row(tw, "DEAD LETTER", "NEW MESSAGE", "EXECUTION")
	for _, it := range res.Items {
		row(tw, it.DeadLetterID, it.MessageID, it.ExecutionID)
	}
	return tw.Flush()
}

func newDLQDiscardCmd() *cobra.Command {
	var (
		f        dlqFilter
		all, yes bool
	)
	c := &cobra.Command{
		Use:   "discard [ID...]",
		Short: "Drop dead letters for good",
		Long: `Discard deletes dead letters by id, or every one matching the filter flags
(pending ones unless --state says otherwise), or every pending one with --all.
A discard by filter or --all asks for --yes: it cannot be undone.`,
		Example: `  factflow dlq discard 01a2…e7
  factflow dlq discard --execution nightly --route fetch --yes
  factflow dlq discard --all --state all --yes`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			if err := selection(args, &f, all, "discard"); err != nil {
				return err
			}
			if len(args) > 0 && f.state != "" {
				return withExit(exitUsage, errors.New("--state applies to filter flags and --all, not to ids"))
			}
			if len(args) == 0 && !yes {
				return withExit(exitUsage, errors.New("discarding by filter cannot be undone: add --yes (list the same selection with `factflow dlq list` first)"))
			}
			res := api.DeadLetterDeleteResult{}
			if len(args) > 0 {
				var failed []string
				for _, id := range args {
					err := cl.call(cmd.Context(), http.MethodDelete, "/dead-letters/"+seg(id), nil, nil, nil)
					if err != nil {
						if cmd.Context().Err() != nil {
							return exitFor(cmd.Context(), err)
						}
						var ue *unreachableError
						if errors.As(err, &ue) {
							return exitFor(cmd.Context(), err)
						}
						failed = append(failed, fmt.Sprintf("%s: %v", id, err))
						continue
					}
					res.Deleted++
				}
				if len(failed) > 0 {
					return withExit(exitFailed, fmt.Errorf("discarded %d of %d; failed:\n  %s", res.Deleted, len(args), strings.Join(failed, "\n  ")))
				}
			} else {
				q, err := f.query()
				if err != nil {
					return err
				}
				if all {
					q.Set("confirm", "true")
				}
				if err := cl.call(cmd.Context(), http.MethodDelete, "/dead-letters", q, nil, &res); err != nil {
					return exitFor(cmd.Context(), err)
				}
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "discarded %s\n", countOf(res.Deleted, "dead letter"))
				return err
			})
		}),
	}
	f.addFlags(c, true)
	c.Flags().BoolVar(&all, "all", false, "discard every dead letter of the state (pending unless --state says otherwise)")
	c.Flags().BoolVar(&yes, "yes", false, "confirm a discard by filter or --all")
	return c
}
