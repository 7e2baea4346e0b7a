package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
)

func newSystemCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Check a server",
	}
	c.AddCommand(newSystemHealthCmd())
	return c
}

func newSystemHealthCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "health",
		Short: "Show the health of the server and its components",
		Long: `Show the health of the server and of each component it depends on.
Exit codes: 0 healthy or degraded, 1 unhealthy, 3 unreachable.`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var h api.Health
			if err := cl.get(cmd.Context(), "/system/health", nil, &h); err != nil {
				return exitFor(cmd.Context(), err)
			}
			err := render(cmd.OutOrStdout(), cl.output, h, func(w io.Writer) error {
				uptime := (time.Duration(h.UptimeSeconds) * time.Second).String()
				fmt.Fprintf(w, "%s: %s (version %s, up %s)\n\n", cl.base, h.Status, h.Version, uptime)
				tw := newTable(w)
				row(tw, "COMPONENT", "STATUS", "LATENCY MS", "MESSAGE")
				for _, c := range h.Components {
					row(tw, c.Name, c.Status, c.LatencyMS, c.Message)
				}
				return tw.Flush()
			})
			if err != nil {
				return err
			}
			if h.Status == "unhealthy" {
				return withExit(exitFailed, errors.New(unhealthyParts(h)))
			}
			return nil
		}),
	}
}

func unhealthyParts(h api.Health) string {
	msg := "the server is unhealthy"
	for _, c := range h.Components {
		if c.Status == "unhealthy" {
			msg += fmt.Sprintf("; %s: %s", c.Name, c.Message)
		}
	}
	return msg
}
