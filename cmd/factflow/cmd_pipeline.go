package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newPipelineCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "pipeline",
		Short: "Pause and resume routes on a server",
		Long: `Pause and resume routes by key (the route's name in the pipeline YAML). The
state is kept by the server: it applies to every running execution with a
route of that key, and to later ones, until resumed.`,
	}
	c.AddCommand(newPipelineListCmd(), newPipelineControlCmd("pause", store.RoutePaused), newPipelineControlCmd("resume", store.RouteRunning))
	return c
}

func newPipelineListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the routes that were ever paused or resumed, with their state",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var page api.Page[api.RouteState]
			if err := cl.get(cmd.Context(), "/pipelines", nil, &page); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "ROUTE", "STATE", "UPDATED")
				for _, s := range page.Items {
					row(tw, s.RouteKey, string(s.State), s.UpdatedAt)
				}
				return tw.Flush()
			})
		}),
	}
}

func newPipelineControlCmd(verb string, state store.RouteStateValue) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " ROUTE",
		Short: fmt.Sprintf("%s a route key in running and later executions", map[string]string{"pause": "Pause", "resume": "Resume"}[verb]),
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var res api.PipelineControlResult
			body := api.PipelineControl{State: string(state)}
			if err := cl.call(cmd.Context(), http.MethodPatch, "/pipelines/"+seg(args[0]), nil, body, &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error {
				msg := res.Message
				if msg == "" {
					msg = fmt.Sprintf("route %s %s", res.RouteID, res.Status)
				}
				_, err := fmt.Fprintln(w, msg)
				return err
			})
		}),
	}
}
