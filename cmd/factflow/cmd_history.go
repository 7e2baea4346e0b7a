package main

import (
	"io"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
)

func newConfigVersionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "versions ID|NAME",
		Short: "List every YAML a config has had, with its validity today",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var vs api.ConfigVersions
			if err := cl.get(cmd.Context(), "/configs/"+seg(args[0])+"/versions", nil, &vs); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, vs, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "VERSION", "NAME", "VALID", "ERRORS", "HASH", "CREATED")
				for _, v := range vs.Items {
					current := ""
					if v.Version == vs.Current {
						current = " (current)"
					}
					row(tw, cell(v.Version)+current, v.Name, v.ValidationReport.IsValid, v.ValidationReport.ErrorCount,
						v.Hash[:min(12, len(v.Hash))], v.CreatedAt)
				}
				return tw.Flush()
			})
		}),
	}
}

// deadLetterTable lists dead letters.
func deadLetterTable(w io.Writer, pg api.Page[api.DeadLetter]) error {
	tw := newTable(w)
	row(tw, "ID", "EXECUTION", "ROUTE", "ADAPTER", "CLASS", "ATTEMPT", "REASON", "AT")
	for _, d := range pg.Items {
		row(tw, d.ID, d.ExecutionID, d.Route, d.Adapter, d.ErrorClass, d.Attempt, oneLine(d.Reason), d.CreatedAt)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return pageFooter(w, pg.Total, pg.Offset, len(pg.Items), pg.HasMore)
}

func newExecutionDeadLettersCmd() *cobra.Command {
	var limit, offset int
	c := &cobra.Command{
		Use:   "dead-letters ID|TAG",
		Short: "List the messages an execution gave up on",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var pg api.Page[api.DeadLetter]
			if err := cl.get(cmd.Context(), "/executions/"+seg(args[0])+"/dead-letters", pageQuery(limit, offset), &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error { return deadLetterTable(w, pg) })
		}),
	}
	addPageFlags(c, &limit, &offset)
	return c
}

func newExecutionReplaysCmd() *cobra.Command {
	var limit, offset int
	c := &cobra.Command{
		Use:   "replays ID|TAG",
		Short: "List the executions started as replays of an execution",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var pg api.Page[api.Execution]
			if err := cl.get(cmd.Context(), "/executions/"+seg(args[0])+"/replays", pageQuery(limit, offset), &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error { return executionListTable(w, pg) })
		}),
	}
	addPageFlags(c, &limit, &offset)
	return c
}

func newDLQCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect dead-lettered messages",
	}
	var execution string
	var limit, offset int
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, oldest first",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q := pageQuery(limit, offset)
			if execution != "" {
				q.Set("execution_id", execution)
			}
			var pg api.Page[api.DeadLetter]
			if err := cl.get(cmd.Context(), "/dead-letters", q, &pg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, pg, func(w io.Writer) error { return deadLetterTable(w, pg) })
		}),
	}
	list.Flags().StringVar(&execution, "execution", "", "only this execution's (id or tag)")
	addPageFlags(list, &limit, &offset)
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a dead letter: why, where, and the original message",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var d api.DeadLetter
			if err := cl.get(cmd.Context(), "/dead-letters/"+url.PathEscape(args[0]), nil, &d); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, d, func(w io.Writer) error {
				if err := fields(w, "ID", d.ID, "Execution", d.ExecutionID, "Route", d.Route, "Adapter", d.Adapter,
					"Queue", d.Queue, "Correlation", d.CorrelationID, "Class", d.ErrorClass, "Attempt", d.Attempt,
					"First failed", d.FirstFailedAt, "Reason", d.Reason); err != nil {
					return err
				}
				_, err := io.WriteString(w, "Payload:\n  "+string(d.Payload)+"\n")
				return err
			})
		}),
	}
	c.AddCommand(list, show)
	return c
}
