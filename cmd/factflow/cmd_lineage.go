package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newLineageCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "lineage",
		Short: "Explore lineage: what happened to each message in each adapter",
		Long: `Explore lineage on a Factflow server: one row per message per adapter
invocation, with its parent message, timings, status and metadata.

list and failures filter by execution (id or tag), route, adapter, stage,
status, correlation and parent ids, replay batch, start and completion time
ranges (RFC 3339), duration, exact metadata values (--meta key=value),
partial case-insensitive metadata matches (--meta-contains key=text) and
free text in metadata (-q). chain shows a message's ancestors up to the
root and its descendants.`,
	}
	c.AddCommand(newLineageListCmd(), newLineageGetCmd(), newLineageChainCmd(), newLineageChildrenCmd(),
		newLineageFailuresCmd(), newLineageBatchCmd(), newLineageStatsCmd())
	return c
}

// lineageFlags are the filters of list and failures.
type lineageFlags struct {
	execution, route, adapter, stage, status, correlation, parent, batch string
	startedFrom, startedTo, completedFrom, completedTo                   string
	minDuration, maxDuration                                             float64
	meta, metaContains                                                   []string
	q, sort, order                                                       string
	limit, offset                                                        int
}

func (f *lineageFlags) add(c *cobra.Command, withStatus bool) {
	fl := c.Flags()
	fl.StringVar(&f.execution, "execution", "", "only rows of this execution (id or tag)")
	fl.StringVar(&f.route, "route", "", "only rows of this route")
	fl.StringVar(&f.adapter, "adapter", "", "only rows of this adapter type")
	fl.StringVar(&f.stage, "stage", "", "only rows of this stage name")
	if withStatus {
		fl.StringVar(&f.status, "status", "", "only rows with this stage status (completed, failed, skipped, retrying)")
	}
	fl.StringVar(&f.correlation, "correlation", "", "only rows of this message (correlation id)")
	fl.StringVar(&f.parent, "parent", "", "only rows of messages derived from this one (parent correlation id)")
	fl.StringVar(&f.batch, "batch", "", "only rows of this replay batch")
	fl.StringVar(&f.startedFrom, "started-from", "", "rows started at or after this time (RFC 3339)")
	fl.StringVar(&f.startedTo, "started-to", "", "rows started before this time (RFC 3339)")
	fl.StringVar(&f.completedFrom, "completed-from", "", "rows completed at or after this time (RFC 3339)")
	fl.StringVar(&f.completedTo, "completed-to", "", "rows completed before this time (RFC 3339)")
	fl.Float64Var(&f.minDuration, "min-duration", 0, "rows that took at least this many milliseconds")
	fl.Float64Var(&f.maxDuration, "max-duration", 0, "rows that took at most this many milliseconds")
	fl.StringArrayVar(&f.meta, "meta", nil, "exact metadata match key=value (repeatable)")
	fl.StringArrayVar(&f.metaContains, "meta-contains", nil, "case-insensitive partial metadata match key=text (repeatable)")
	fl.StringVarP(&f.q, "query", "q", "", "text searched in every metadata value, ignoring case")
	fl.StringVar(&f.sort, "sort", "", "sort by started_at (default), completed_at or duration_ms")
	fl.StringVar(&f.order, "order", "", "asc or desc (default)")
	addPageFlags(c, &f.limit, &f.offset)
}

func (f *lineageFlags) query(c *cobra.Command) url.Values {
	q := pageQuery(f.limit, f.offset)
	for k, v := range map[string]string{
		"execution_id": f.execution, "route_id": f.route, "adapter_name": f.adapter, "stage_name": f.stage,
		"stage_status": f.status, "correlation_id": f.correlation, "parent_correlation_id": f.parent,
		"replay_batch_id": f.batch, "started_from": f.startedFrom, "started_to": f.startedTo,
		"completed_from": f.completedFrom, "completed_to": f.completedTo, "q": f.q, "sort": f.sort, "order": f.order,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.Flags().Changed("min-duration") {
		q.Set("min_duration_ms", strconv.FormatFloat(f.minDuration, 'f', -1, 64))
	}
	if c.Flags().Changed("max-duration") {
		q.Set("max_duration_ms", strconv.FormatFloat(f.maxDuration, 'f', -1, 64))
	}
	for _, m := range f.meta {
		q.Add("metadata", m)
	}
	for _, m := range f.metaContains {
		q.Add("metadata_contains", m)
	}
	return q
}

// lineageRows prints lineage rows as a table with a page footer.
func lineageRows(w io.Writer, page api.Page[store.LineageEntry]) error {
	tw := newTable(w)
	row(tw, "STARTED", "ROUTE", "ADAPTER", "STATUS", "DURATION", "CORRELATION", "PARENT", "EXECUTION")
	for _, e := range page.Items {
		row(tw, e.StartedAt.Local().Format("2006-01-02 15:04:05.000"), e.RouteID, e.AdapterName, e.StageStatus,
			msDuration(e.DurationMS), e.CorrelationID, e.ParentCorrelationID, e.ExecutionID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return pageFooter(w, page.Total, page.Offset, len(page.Items), page.HasMore)
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func lineageListRun(path string, f *lineageFlags) func(*cobra.Command, []string) error {
	return withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
		var page api.Page[store.LineageEntry]
		if err := cl.get(cmd.Context(), path, f.query(cmd), &page); err != nil {
			return exitFor(cmd.Context(), err)
		}
		return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error { return lineageRows(w, page) })
	})
}

func newLineageListCmd() *cobra.Command {
	f := &lineageFlags{}
	c := &cobra.Command{
		Use:   "list",
		Short: "Search lineage rows (newest first unless --sort/--order say otherwise)",
		Example: `  factflow lineage list --execution nightly --route fetch --status failed
  factflow lineage list --meta-contains url=guides --started-from 2026-05-01T00:00:00Z
  factflow lineage list --meta title=Intro --sort duration_ms --limit 10`,
		Args: cobra.NoArgs,
	}
	f.add(c, true)
	c.RunE = lineageListRun("/lineage", f)
	return c
}

func newLineageFailuresCmd() *cobra.Command {
	f := &lineageFlags{}
	c := &cobra.Command{
		Use:   "failures",
		Short: "Failed lineage rows, newest first, with their errors",
		Args:  cobra.NoArgs,
	}
	f.add(c, false)
	c.RunE = withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
		var page api.Page[store.LineageEntry]
		if err := cl.get(cmd.Context(), "/lineage/failures", f.query(cmd), &page); err != nil {
			return exitFor(cmd.Context(), err)
		}
		return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error {
			tw := newTable(w)
			row(tw, "STARTED", "ROUTE", "ADAPTER", "CORRELATION", "EXECUTION", "ERROR")
			for _, e := range page.Items {
				row(tw, e.StartedAt.Local().Format("2006-01-02 15:04:05.000"), e.RouteID, e.AdapterName,
					e.CorrelationID, e.ExecutionID, lineageError(e))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return pageFooter(w, page.Total, page.Offset, len(page.Items), page.HasMore)
		})
	})
	return c
}

// lineageError is the one-line gist of a row's error_info.
func lineageError(e store.LineageEntry) string {
	for _, k := range []string{"message", "reason", "error", "code", "class"} {
		if s, ok := e.ErrorInfo[k].(string); ok && s != "" {
			return s
		}
	}
	if len(e.ErrorInfo) > 0 {
		return fmt.Sprint(e.ErrorInfo)
	}
	return ""
}

func newLineageGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get CORRELATION_ID",
		Short: "Every adapter row of one message",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var m api.LineageMessage
			if err := cl.get(cmd.Context(), "/lineage/"+seg(args[0]), nil, &m); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, m, func(w io.Writer) error {
				if err := fields(w, "Correlation", m.CorrelationID, "Parent", m.ParentCorrelationID, "Execution", m.ExecutionID); err != nil {
					return err
				}
				fmt.Fprintln(w)
				tw := newTable(w)
				row(tw, "#", "ROUTE", "ADAPTER", "STAGE", "STATUS", "STARTED", "DURATION", "ERROR")
				for _, e := range m.Entries {
					row(tw, e.AdapterIndex, e.RouteID, e.AdapterName, e.StageName, e.StageStatus,
						e.StartedAt.Local().Format("2006-01-02 15:04:05.000"), msDuration(e.DurationMS), lineageError(e))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(m.Entries) > 0 && len(m.Entries[0].Metadata) > 0 {
					fmt.Fprintln(w, "Metadata:")
					return mapLines(w, "  ", m.Entries[0].Metadata)
				}
				return nil
			})
		}),
	}
}

func newLineageChainCmd() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "chain CORRELATION_ID",
		Short: "A message's ancestors up to the root and its descendants",
		Long: `Show a message's ancestors (walking parent ids up to the root) and
descendants (every message derived from it, across routes). DEPTH is
negative for ancestors, 0 for the message, positive for descendants.`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			q := url.Values{}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var ch api.LineageChain
			if err := cl.get(cmd.Context(), "/lineage/"+seg(args[0])+"/chain", q, &ch); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, ch, func(w io.Writer) error {
				s := fmt.Sprintf("root %s; %d ancestors, %d descendants", ch.RootCorrelationID, ch.Ancestors, ch.Descendants)
				if ch.Truncated {
					s += " (truncated: raise --limit)"
				}
				fmt.Fprintln(w, s)
				tw := newTable(w)
				row(tw, "DEPTH", "CORRELATION", "ROUTE", "ADAPTER", "STATUS", "STARTED", "DURATION")
				for _, e := range ch.Entries {
					row(tw, e.Depth, e.CorrelationID, e.RouteID, e.AdapterName, e.StageStatus,
						e.StartedAt.Local().Format("2006-01-02 15:04:05.000"), msDuration(e.DurationMS))
				}
				return tw.Flush()
			})
		}),
	}
	c.Flags().IntVar(&limit, "limit", 0, "most rows shown (server default 1000)")
	return c
}

func newLineageChildrenCmd() *cobra.Command {
	var limit, offset int
	c := &cobra.Command{
		Use:   "children CORRELATION_ID",
		Short: "Rows of the messages derived directly from one message",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var page api.Page[store.LineageEntry]
			if err := cl.get(cmd.Context(), "/lineage/"+seg(args[0])+"/children", pageQuery(limit, offset), &page); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error { return lineageRows(w, page) })
		}),
	}
	addPageFlags(c, &limit, &offset)
	return c
}

func newLineageBatchCmd() *cobra.Command {
	var limit, offset int
	c := &cobra.Command{
		Use:   "batch BATCH_ID",
		Short: "Rows of one replay batch, in start order",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var page api.Page[store.LineageEntry]
			if err := cl.get(cmd.Context(), "/lineage/batch/"+seg(args[0]), pageQuery(limit, offset), &page); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error { return lineageRows(w, page) })
		}),
	}
	addPageFlags(c, &limit, &offset)
	return c
}

func newLineageStatsCmd() *cobra.Command {
	var execution, from, to string
	c := &cobra.Command{
		Use:   "stats",
		Short: "Counts, failure rates and durations per route and adapter",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"execution_id": execution, "started_from": from, "started_to": to} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var st api.LineageStats
			if err := cl.get(cmd.Context(), "/lineage/stats", q, &st); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, st, func(w io.Writer) error { return lineageStatsTable(w, st) })
		}),
	}
	c.Flags().StringVar(&execution, "execution", "", "only rows of this execution (id or tag)")
	c.Flags().StringVar(&from, "started-from", "", "rows started at or after this time (RFC 3339)")
	c.Flags().StringVar(&to, "started-to", "", "rows started before this time (RFC 3339)")
	return c
}

func lineageStatsTable(w io.Writer, st api.LineageStats) error {
	kv := []any{"Rows", st.Total}
	for _, s := range []string{store.StageCompleted, store.StageFailed, store.StageSkipped, store.StageRetrying} {
		if n := st.ByStatus[s]; n > 0 {
			kv = append(kv, "  "+s, n)
		}
	}
	kv = append(kv, "Failure rate", fmt.Sprintf("%.2f%%", 100*st.FailureRate),
		"Duration avg/p50/p95", fmt.Sprintf("%.1f / %.1f / %.1f ms", st.AvgDurationMS, st.P50DurationMS, st.P95DurationMS),
		"Span", fmt.Sprintf("%s – %s", cell(st.FirstStarted), cell(st.LastCompleted)),
		"Throughput", fmt.Sprintf("%.1f rows/s", st.Throughput))
	if err := fields(w, kv...); err != nil {
		return err
	}
	if len(st.Groups) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	row(tw, "ROUTE", "ADAPTER", "ROWS", "FAILED", "FAIL %", "AVG MS", "P50 MS", "P95 MS")
	for _, g := range st.Groups {
		row(tw, g.RouteID, g.AdapterName, g.Total, g.ByStatus[store.StageFailed], fmt.Sprintf("%.2f", 100*g.FailureRate),
			g.AvgDurationMS, g.P50DurationMS, g.P95DurationMS)
	}
	return tw.Flush()
}

// newExecutionLineageCmd is `factflow execution lineage ID|TAG`: an
// execution's lineage rows in start order.
func newExecutionLineageCmd() *cobra.Command {
	var limit, offset int
	c := &cobra.Command{
		Use:   "lineage ID|TAG",
		Short: "An execution's lineage rows in start order (see also: factflow lineage)",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var page api.LineagePage
			if err := cl.get(cmd.Context(), "/executions/"+seg(args[0])+"/lineage", pageQuery(limit, offset), &page); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error { return lineageRows(w, page.Page) })
		}),
	}
	addPageFlags(c, &limit, &offset)
	return c
}
