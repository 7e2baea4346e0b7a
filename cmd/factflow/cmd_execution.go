package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newExecutionCmd() *cobra.Command {
	c := &cobra.Command{
		Use:     "execution",
		Aliases: []string{"executions"},
		Short:   "List, follow, inspect and cancel executions on a server",
		Long: `List, follow, inspect and cancel executions on a Factflow server.
An execution is named by its id or by its tag.

Exit codes of wait and watch: 0 completed, 1 failed or cancelled (or an error
the server reported), 3 server unreachable, 4 --timeout reached, 5 interrupted.`,
	}
	c.AddCommand(newExecutionListCmd(), newExecutionGetCmd(), newExecutionWaitCmd(), newExecutionWatchCmd(),
		newExecutionCancelCmd(), newExecutionDAGCmd(), newExecutionStatsCmd(), newExecutionRoutesCmd(),
		newExecutionTimelineCmd(), newExecutionDeadLettersCmd(), newExecutionReplaysCmd(), newExecutionReplayCmd(), newExecutionLineageCmd())
	return c
}

func newExecutionListCmd() *cobra.Command {
	var status, config string
	var limit, offset int
	c := &cobra.Command{
		Use:   "list",
		Short: "List executions, newest first",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q := pageQuery(limit, offset)
			if status != "" {
				q.Set("status", status)
			}
			if config != "" {
				q.Set("config_id", config)
			}
			var page api.Page[api.Execution]
			if err := cl.get(cmd.Context(), "/executions", q, &page); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error { return executionListTable(w, page) })
		}),
	}
	c.Flags().StringVar(&status, "status", "", "only executions in this status (pending, running, completed, failed, cancelling, cancelled, interrupted)")
	c.Flags().StringVar(&config, "config", "", "only executions of this config (id or name)")
	addPageFlags(c, &limit, &offset)
	return c
}

// executionListTable lists executions.
func executionListTable(w io.Writer, page api.Page[api.Execution]) error {
	tw := newTable(w)
	row(tw, "ID", "TAG", "CONFIG", "STATUS", "CREATED", "DURATION")
	for _, e := range page.Items {
		row(tw, e.ID, e.Tag, e.ConfigName, string(e.Status), e.CreatedAt, executionDuration(e))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return pageFooter(w, page.Total, page.Offset, len(page.Items), page.HasMore)
}

// pageFooter tells how much of a list was shown.
func pageFooter(w io.Writer, total, offset, n int, more bool) error {
	if n == 0 {
		_, err := fmt.Fprintf(w, "(none of %d)\n", total)
		return err
	}
	s := fmt.Sprintf("%d–%d of %d", offset+1, offset+n, total)
	if more {
		s += fmt.Sprintf("; next page: --offset %d", offset+n)
	}
	_, err := fmt.Fprintln(w, s)
	return err
}

func executionDuration(e api.Execution) any {
	if e.StartedAt == nil {
		return nil
	}
	end := time.Now()
	if e.CompletedAt != nil {
		end = *e.CompletedAt
	}
	return end.Sub(*e.StartedAt)
}

func newExecutionGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID|TAG",
		Short: "Show an execution",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var ex api.Execution
			if err := cl.get(cmd.Context(), "/executions/"+seg(args[0]), nil, &ex); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, ex, func(w io.Writer) error { return executionTable(w, ex) })
		}),
	}
}

func executionTable(w io.Writer, ex api.Execution) error {
	cfg := ex.ConfigName
	if ex.ConfigID != "" {
		cfg = strings.TrimSpace(cfg + " (" + ex.ConfigID + ")")
	}
	kv := []any{"ID", ex.ID, "Tag", ex.Tag, "Config", cfg, "Status", string(ex.Status),
		"Created", ex.CreatedAt, "Started", ex.StartedAt, "Completed", ex.CompletedAt,
		"Duration", executionDuration(ex)}
	if ex.ParentExecutionID != "" {
		kv = append(kv, "Parent", ex.ParentExecutionID)
	}
	if ex.OwnerID != "" {
		kv = append(kv, "Owner", ex.OwnerID)
	}
	if e := executionErr(ex); e != nil {
		kv = append(kv, "Error", e.Error())
		if e.Hint != "" {
			kv = append(kv, "Hint", e.Hint)
		}
	}
	if err := fields(w, kv...); err != nil {
		return err
	}
	if len(ex.Metadata) > 0 {
		fmt.Fprintln(w, "Metadata:")
		return mapLines(w, "  ", ex.Metadata)
	}
	return nil
}

// executionErr reads the error an execution ended with, if any.
func executionErr(ex api.Execution) *orchestrator.ExecutionError {
	if len(ex.ErrorInfo) == 0 {
		return nil
	}
	str := func(k string) string { s, _ := ex.ErrorInfo[k].(string); return s }
	e := &orchestrator.ExecutionError{Code: str("code"), Route: str("route"), Reason: str("reason"), Hint: str("hint")}
	if e.Reason == "" {
		e.Reason = str("message")
	}
	if e.Code == "" && e.Reason == "" {
		return nil
	}
	if e.Code == "" {
		e.Code = strings.ToUpper(string(ex.Status))
	}
	return e
}

// progressMode says how wait shows progress.
type progressMode string

const (
	progressAuto  progressMode = "auto"  // a live table on a terminal, nothing otherwise
	progressLines progressMode = "lines" // one line per progress event
	progressNone  progressMode = "none"
)

func addProgressFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "progress", string(progressAuto),
		"progress while waiting: auto (a live table on a terminal, quiet otherwise), lines (one line per progress event) or none")
}

func newExecutionWaitCmd() *cobra.Command {
	var progress string
	c := &cobra.Command{
		Use:   "wait ID|TAG",
		Short: "Wait for an execution to end, with live progress on a terminal",
		Long: `Wait for an execution to end. Follows the execution's event stream
(resuming after a dropped connection) and shows live per-route progress on a
terminal. --timeout bounds the wait (default 1h).

Exit codes: 0 completed, 1 failed or cancelled, 3 server unreachable,
4 timed out, 5 interrupted (the execution keeps running on the server).`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			mode, err := parseProgress(progress)
			if err != nil {
				return err
			}
			return waitExecution(cmd, cl, args[0], mode)
		}),
	}
	addProgressFlag(c, &progress)
	return c
}

func parseProgress(s string) (progressMode, error) {
	switch m := progressMode(s); m {
	case progressAuto, progressLines, progressNone:
		return m, nil
	}
	return "", withExit(exitUsage, fmt.Errorf("unknown --progress %q; use auto, lines or none", s))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// waitExecution follows an execution to its end and turns its outcome into
// the exit code.
func waitExecution(cmd *cobra.Command, cl *client, idOrTag string, mode progressMode) error {
	ctx := cmd.Context()
	stdout := cmd.OutOrStdout()
	timeout := waitTimeout(cmd)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var ex api.Execution
	if err := cl.get(wctx, "/executions/"+seg(idOrTag), nil, &ex); err != nil {
		return waitErr(ctx, wctx, timeout, idOrTag, "", err)
	}
	table := cl.output == "table"
	view := &progressView{w: stdout, tty: table && mode == progressAuto && isTerminal(stdout)}
	var last orchestrator.Stats
	if !ex.Status.Terminal() {
		f := &follower{c: cl, id: ex.ID, onEvent: func(ev api.Event) error {
			if ev.Type != store.EventProgress {
				return nil
			}
			if st, ok := progressStats(ev); ok {
				last = st
				view.update(st)
			}
			if table && mode == progressLines {
				_, err := fmt.Fprintln(stdout, eventLine(ev))
				return err
			}
			return nil
		}}
		end, err := f.run(wctx)
		if err != nil {
			if view.tty && view.lines > 0 {
				fmt.Fprintln(stdout)
			}
			return waitErr(ctx, wctx, timeout, ex.ID, string(ex.Status), err)
		}
		ex = end
	}

	if !table {
		if err := render(stdout, cl.output, ex, nil); err != nil {
			return err
		}
	} else {
		// The summary is a courtesy: an execution that ended is reported
		// even if its stats cannot be read.
		var st api.ExecutionStats
		if err := cl.get(ctx, "/executions/"+seg(ex.ID)+"/stats", nil, &st); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: reading the stats of execution %s: %v\n", ex.ID, err)
		}
		if view.tty && view.lines > 0 {
			// Back over the live table, cleared: the summary replaces it.
			fmt.Fprintf(stdout, "\x1b[%dA\x1b[J", view.lines)
		}
		writeSummary(stdout, ex, st, last)
	}
	return outcome(ex)
}

// outcome is the exit code of a terminal execution.
func outcome(ex api.Execution) error {
	if ex.Status == store.StatusCompleted {
		return nil
	}
	msg := fmt.Sprintf("execution %s %s", ex.ID, ex.Status)
	if e := executionErr(ex); e != nil {
		msg += ": " + e.Error()
		if e.Hint != "" {
			msg += " (hint: " + e.Hint + ")"
		}
	}
	return withExit(exitFailed, errors.New(msg))
}

// waitErr turns an error of a wait into its exit code.
func waitErr(ctx, wctx context.Context, timeout time.Duration, id, status string, err error) error {
	switch {
	case ctx.Err() != nil:
		return withExit(exitInterrupted, fmt.Errorf("interrupted: stopped waiting; execution %s goes on on the server", id))
	case errors.Is(wctx.Err(), context.DeadlineExceeded):
		s := ""
		if status != "" {
			s = " (last seen " + status + ")"
		}
		return withExit(exitTimeout, fmt.Errorf("timed out after %s waiting for execution %s%s; it goes on on the server (raise --timeout to wait longer)", timeout, id, s))
	}
	return exitFor(ctx, err)
}

// writeSummary prints the final route table and totals of an execution.
func writeSummary(w io.Writer, ex api.Execution, st api.ExecutionStats, live orchestrator.Stats) {
	sum := orchestrator.Stats{ExecutionID: ex.ID, Status: string(ex.Status)}
	for _, r := range st.Routes {
		sum.Routes = append(sum.Routes, orchestrator.RouteStats{
			Route: r.RouteID, Received: r.Received, Completed: r.Completed, Failed: r.Failed, Retried: r.Retried,
			DeadLettered: r.DeadLettered, Skipped: r.Skipped, Emitted: r.Emitted, InFlight: r.InFlight, Paused: r.Paused,
		})
	}
	if len(sum.Routes) == 0 {
		sum.Routes = live.Routes
	}
	if len(sum.Routes) > 0 {
		_, _ = io.WriteString(w, routeTable(sum, false))
		fmt.Fprintln(w)
	}
	t := sum.Totals()
	elapsed := time.Duration(st.ElapsedMS) * time.Millisecond
	if elapsed == 0 {
		if d, ok := executionDuration(ex).(time.Duration); ok {
			elapsed = d
		}
	}
	fmt.Fprintf(w, "execution %s %s in %s: %d messages done, %d dead-lettered, %d retried",
		ex.ID, ex.Status, elapsed.Round(time.Millisecond), t.Completed, t.DeadLettered, t.Retried)
	if a := max(st.Artefacts, live.Artefacts); a > 0 {
		fmt.Fprintf(w, ", %d artefacts written", a)
	}
	fmt.Fprintln(w)
	if e := executionErr(ex); e != nil {
		fmt.Fprintf(w, "reason: %s\n", e.Error())
	}
}

func newExecutionWatchCmd() *cobra.Command {
	var detail string
	c := &cobra.Command{
		Use:   "watch ID|TAG",
		Short: "Print an execution's events as they happen",
		Long: `Print an execution's events, one per line (JSON lines with --output json),
from its first event until it ends. Resumes after a dropped connection
without repeating events. --detail stages adds one event per message per
adapter. Exit codes as for wait.`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			switch detail {
			case "", "stages":
			default:
				return withExit(exitUsage, fmt.Errorf("unknown --detail %q; the only detail is stages", detail))
			}
			ctx := cmd.Context()
			timeout := waitTimeout(cmd)
			wctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var ex api.Execution
			if err := cl.get(wctx, "/executions/"+seg(args[0]), nil, &ex); err != nil {
				return waitErr(ctx, wctx, timeout, args[0], "", err)
			}
			w := cmd.OutOrStdout()
			f := &follower{c: cl, id: ex.ID, stages: detail == "stages", onEvent: func(ev api.Event) error {
				switch cl.output {
				case "json":
					return writeJSONLine(w, ev)
				case "yaml":
					if _, err := io.WriteString(w, "---\n"); err != nil {
						return err
					}
					return writeYAML(w, ev)
				}
				_, err := fmt.Fprintln(w, eventLine(ev))
				return err
			}}
			end, err := f.run(wctx)
			if err != nil {
				return waitErr(ctx, wctx, timeout, ex.ID, string(ex.Status), err)
			}
			return outcome(end)
		}),
	}
	c.Flags().StringVar(&detail, "detail", "", "more events: stages (one per message per adapter)")
	return c
}

func newExecutionCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID|TAG",
		Short: "Cancel a running execution",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var res api.CancelResult
			if err := cl.call(cmd.Context(), http.MethodPost, "/executions/"+seg(args[0])+"/cancel", nil, nil, &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "execution %s %s (follow it with `factflow execution wait %s`)\n", res.ID, res.Status, res.ID)
				return err
			})
		}),
	}
}

// executionView is a GET of one of an execution's sub-resources.
func executionView[T any](use, short string, table func(io.Writer, T) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " ID|TAG",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var v T
			if err := cl.get(cmd.Context(), "/executions/"+seg(args[0])+"/"+use, nil, &v); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, v, func(w io.Writer) error { return table(w, v) })
		}),
	}
}

func newExecutionDAGCmd() *cobra.Command {
	return executionView("dag", "Show the routes of an execution's pipeline and the queues between them", func(w io.Writer, d api.DAG) error {
		if d.InitRoute != "" {
			fmt.Fprintf(w, "init: %s (queue %s)\n\n", d.InitRoute, d.InitQueue)
		}
		tw := newTable(w)
		row(tw, "ROUTE", "QUEUE", "ADAPTERS")
		for _, n := range d.Nodes {
			steps := make([]string, 0, len(n.Adapters))
			for _, a := range n.Adapters {
				s := a.Type
				if a.Name != "" && a.Name != a.Type {
					s += " (" + a.Name + ")"
				}
				steps = append(steps, s)
			}
			row(tw, n.RouteID, n.Queue, strings.Join(steps, " → "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(d.Edges) == 0 {
			return nil
		}
		fmt.Fprintln(w)
		tw = newTable(w)
		row(tw, "FROM", "TO", "QUEUE")
		for _, e := range d.Edges {
			row(tw, e.FromRoute, e.ToRoute, e.Queue)
		}
		return tw.Flush()
	})
}

func routeStatsTable(w io.Writer, routes []api.RouteStats, total *api.RouteStats) error {
	tw := newTable(w)
	row(tw, "ROUTE", "QUEUE", "RECEIVED", "DONE", "FAILED", "RETRIED", "DEAD", "SKIPPED", "IN FLIGHT", "EMITTED", "RATE/S", "AVG MS")
	line := func(name string, r api.RouteStats) {
		if r.Paused {
			name += " (paused)"
		}
		row(tw, name, r.Queue, r.Received, r.Completed, r.Failed, r.Retried, r.DeadLettered, r.Skipped, r.InFlight, r.Emitted, r.Rate, r.AvgDurationMS)
	}
	for _, r := range routes {
		line(r.RouteID, r)
	}
	if total != nil {
		line("TOTAL", *total)
	}
	return tw.Flush()
}

func newExecutionStatsCmd() *cobra.Command {
	return executionView("stats", "Show an execution's counts per route and per adapter", func(w io.Writer, s api.ExecutionStats) error {
		if err := fields(w, "Execution", s.ExecutionID, "Status", s.Status,
			"Elapsed", time.Duration(s.ElapsedMS)*time.Millisecond, "Outstanding", s.Outstanding,
			"Artefacts", s.Artefacts, "Dead letters", s.DeadLetters, "Lineage rows", s.LineageRows); err != nil {
			return err
		}
		fmt.Fprintln(w)
		if err := routeStatsTable(w, s.Routes, &s.Totals); err != nil {
			return err
		}
		if len(s.Adapters) > 0 {
			fmt.Fprintln(w)
			tw := newTable(w)
			row(tw, "ROUTE", "#", "ADAPTER", "DONE", "FAILED", "SKIPPED", "RETRYING", "AVG MS", "THROUGHPUT/S")
			for _, a := range s.Adapters {
				row(tw, a.RouteID, a.AdapterIndex, a.AdapterName, a.Completed, a.Failed, a.Skipped, a.Retrying, a.AvgDurationMS, a.Throughput)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if s.LineageNotes != "" {
			fmt.Fprintf(w, "\nnote: %s\n", s.LineageNotes)
		}
		return nil
	})
}

func newExecutionRoutesCmd() *cobra.Command {
	return executionView("routes", "Show an execution's routes with their live counts", func(w io.Writer, r api.ExecutionRoutes) error {
		fmt.Fprintf(w, "execution %s %s\n\n", r.ExecutionID, r.Status)
		return routeStatsTable(w, r.Routes, nil)
	})
}

func newExecutionTimelineCmd() *cobra.Command {
	return executionView("timeline", "Show an execution's events: status changes, progress, dead letters", func(w io.Writer, t api.Timeline) error {
		tw := newTable(w)
		row(tw, "TIME", "TYPE", "STATUS", "ROUTE", "DETAIL")
		for _, ev := range t.Events {
			detail := ev.Reason
			if ev.Type == store.EventProgress {
				if st, ok := progressStats(ev); ok {
					tot := st.Totals()
					detail = fmt.Sprintf("%d done, %d failed, %d dead-lettered, %d outstanding", tot.Completed, tot.Failed, tot.DeadLettered, st.Outstanding)
				}
			}
			row(tw, ev.CreatedAt.Local().Format("2006-01-02 15:04:05.000"), ev.Type, string(ev.Status), ev.Route, detail)
		}
		return tw.Flush()
	})
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := jsonLine(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
