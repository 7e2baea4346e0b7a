package main

import (
	"io"

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
	row(tw, "ID", "EXECUTION", "ROUTE", "ADAPTER", "CLASS", "ATTEMPT", "STATE", "REASON", "AT")
	for _, d := range pg.Items {
		row(tw, d.ID, d.ExecutionID, d.Route, d.Adapter, d.ErrorClass, d.Attempt, deadLetterState(d), oneLine(d.Reason), d.CreatedAt)
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
