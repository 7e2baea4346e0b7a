package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
)

func newExecutionReplayCmd() *cobra.Command {
	var (
		body           api.ExecutionReplay
		detached, wait bool
		progress       string
	)
	c := &cobra.Command{
		Use:   "replay ID|TAG --from-stage STAGE",
		Short: "Replay the artefacts a stage stored into a new execution",
		Long: `Replay the artefacts that stage STAGE of execution ID stored: each becomes a
message (carrying storage_key and the artefact's metadata) of a new
execution, all under one replay batch.

By default the new execution runs the same pipeline and the messages go to
the route the stage's route feeds (--to-route names another). With --config
they go into another config's pipeline (cross-pipeline; --to-route names its
route). Both are linked to ID as its replays; --detached (which needs
--config and --to-route) starts an unlinked execution instead.`,
		Example: `  factflow execution replay nightly --from-stage web_content_storage
  factflow execution replay nightly --from-stage markdown_storage_writer --config embed --to-route embed --wait`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			mode, err := parseProgress(progress)
			if err != nil {
				return err
			}
			if body.FromStage == "" {
				return withExit(exitUsage, fmt.Errorf("--from-stage is required"))
			}
			var res api.ReplayResult
			if detached {
				if body.ConfigID == "" || body.ToRoute == "" {
					return withExit(exitUsage, fmt.Errorf("--detached needs --config and --to-route"))
				}
				d := api.DetachedReplay{SourceExecutionID: args[0], FromStage: body.FromStage, FromRoute: body.FromRoute,
					FromPath: body.FromPath, ConfigID: body.ConfigID, ToRoute: body.ToRoute, Tag: body.Tag}
				err = cl.call(cmd.Context(), http.MethodPost, "/replay", nil, d, &res)
			} else {
				err = cl.call(cmd.Context(), http.MethodPost, "/executions/"+seg(args[0])+"/replay", nil, body, &res)
			}
			if err != nil {
				return exitFor(cmd.Context(), err)
			}
			w := cmd.OutOrStdout()
			if wait && cl.output == "table" {
				fmt.Fprintf(w, "replay %s started as execution %s (%d of %d artefacts published to route %s)\n",
					res.ReplayBatchID, res.Execution.ID, res.ObjectsPublished, res.ObjectsFound, res.ToRoute)
			}
			if wait {
				return waitExecution(cmd, cl, res.Execution.ID, mode)
			}
			return render(w, cl.output, res, func(w io.Writer) error {
				return fields(w, "Execution", res.Execution.ID, "Config", res.Execution.ConfigName, "Replay batch", res.ReplayBatchID,
					"To route", res.ToRoute, "Objects found", res.ObjectsFound, "Published", res.ObjectsPublished,
					"Failed", res.ObjectsFailed)
			})
		}),
	}
	f := c.Flags()
	f.StringVar(&body.FromStage, "from-stage", "", "stage (adapter step name) whose stored artefacts are replayed")
	f.StringVar(&body.FromRoute, "from-route", "", "the route of that stage, when several routes have it")
	f.StringVar(&body.FromPath, "from-path", "", "only artefacts under this sub-path of the stage's folder")
	f.StringVar(&body.ToRoute, "to-route", "", "route receiving the artefacts")
	f.StringVar(&body.ConfigID, "config", "", "replay into this config's pipeline (id or name)")
	f.StringVar(&body.Tag, "tag", "", "unique tag of the new execution")
	f.BoolVar(&detached, "detached", false, "start an execution not linked to the source")
	f.BoolVar(&wait, "wait", false, "wait for the new execution to end (see `execution wait`)")
	addProgressFlag(c, &progress)
	return c
}
