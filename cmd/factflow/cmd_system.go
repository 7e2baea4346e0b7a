package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
)

func newSystemCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Check a server",
	}
	c.AddCommand(newSystemHealthCmd(), newSystemInfoCmd(), newSystemMQDiagnosticCmd())
	return c
}

func newSystemHealthCmd() *cobra.Command {
	var debug bool
	c := &cobra.Command{
		Use:   "health",
		Short: "Show the health of the server and its components",
		Long: `Show the health of the server and of each component it depends on.
With --debug each component's details follow the table: database pool
statistics, the broker's state, reconnects and last message age, storage
probe time, running executions, the lineage writer and the event bus.
Exit codes: 0 healthy or degraded, 1 unhealthy, 3 unreachable.`,
		Example: `  factflow system health
  factflow system health --debug --output yaml`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var h api.Health
			var q url.Values
			if debug {
				q = url.Values{"debug": {"true"}}
			}
			if err := cl.get(cmd.Context(), "/system/health", q, &h); err != nil {
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
				if err := tw.Flush(); err != nil {
					return err
				}
				if !debug {
					return nil
				}
				for _, c := range h.Components {
					m, ok := asMap(c.Details)
					if !ok {
						continue
					}
					fmt.Fprintf(w, "\n%s:\n", c.Name)
					if err := mapLines(w, "  ", m); err != nil {
						return err
					}
				}
				return nil
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
	c.Flags().BoolVar(&debug, "debug", false, "show each component's details")
	return c
}

// asMap turns decoded JSON details into a map for key: value lines.
func asMap(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	return m, ok && len(m) > 0
}

func newSystemInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the server's version, providers and limits",
		Long: `Show what the server is and runs on: version, Go version, instance id,
uptime, the queue, storage and database providers (passwords masked),
limits, the number of adapter types and the pipeline schema version.
Exit codes: 0 ok, 3 unreachable.`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var in api.SystemInfo
			if err := cl.get(cmd.Context(), "/system/info", nil, &in); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, in, func(w io.Writer) error {
				uptime := (time.Duration(in.UptimeSeconds) * time.Second).String()
				maxExec := "-"
				if in.Limits.MaxConcurrentExecutions > 0 {
					maxExec = fmt.Sprint(in.Limits.MaxConcurrentExecutions)
				}
				return fields(w,
					"server", cl.base,
					"version", in.Version,
					"go", in.GoVersion,
					"instance", in.InstanceID,
					"started", in.StartedAt.Local().Format(time.RFC3339),
					"uptime", uptime,
					"queue", strings.TrimSpace(in.Providers.Queue.Provider+" "+in.Providers.Queue.URL),
					"storage", in.Providers.Storage.URI,
					"database", in.Providers.Database.URL,
					"max concurrent executions", maxExec,
					"max request body", humanBytes(in.Limits.MaxBodyBytes),
					"SSE heartbeat", (time.Duration(in.Limits.SSEHeartbeatSeconds * float64(time.Second))).String(),
					"adapter types", in.Adapters,
					"pipeline schema", in.PipelineSchemaVersion,
				)
			})
		}),
	}
}

func newSystemMQDiagnosticCmd() *cobra.Command {
	var req api.MQDiagnosticRequest
	var within time.Duration
	c := &cobra.Command{
		Use:   "mq-diagnostic",
		Short: "Run a publish/consume round trip on the server's broker",
		Long: `Ask the server to publish --count messages of --payload-bytes each to a
throwaway queue on its broker, consume and ack them, and report the
timeline, the latency (p50/p99) and anything lost or duplicated. The
queue lives in a scope of its own that is deleted afterwards; running
executions are not touched.
Exit codes: 0 the round trip succeeded, 1 it did not (the failing step is
shown), 2 usage, 3 unreachable.`,
		Example: `  factflow system mq-diagnostic
  factflow system mq-diagnostic --count 500 --payload-bytes 65536 --within 30s`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			switch {
			case req.MessageCount < 1 || req.MessageCount > 1000:
				return withExit(exitUsage, fmt.Errorf("--count %d is out of range 1..1000", req.MessageCount))
			case req.PayloadBytes < 1 || req.PayloadBytes > 1<<20:
				return withExit(exitUsage, fmt.Errorf("--payload-bytes %d is out of range 1..1048576", req.PayloadBytes))
			case within < time.Second || within > 120*time.Second:
				return withExit(exitUsage, fmt.Errorf("--within %s is out of range 1s..2m", within))
			}
			req.TimeoutSeconds = int(within.Round(time.Second) / time.Second)
			// The call outlives the round trip's own budget unless
			// --timeout says otherwise.
			if !cmd.Flags().Changed("timeout") {
				cl.timeout = max(cl.timeout, within+15*time.Second)
			}
			var d api.MQDiagnostic
			if err := cl.call(cmd.Context(), http.MethodPost, "/system/mq-diagnostic", nil, req, &d); err != nil {
				return exitFor(cmd.Context(), err)
			}
			err := render(cmd.OutOrStdout(), cl.output, d, func(w io.Writer) error {
				verdict := "ok"
				if !d.OK {
					verdict = "FAILED at " + d.FailedStep
				}
				if err := fields(w,
					"provider", d.Provider,
					"result", verdict,
					"published", d.Published,
					"received", d.Received,
					"duplicates", d.Duplicates,
					"lost", d.Lost,
					"latency p50", fmt.Sprintf("%.2f ms", d.LatencyP50),
					"latency p99", fmt.Sprintf("%.2f ms", d.LatencyP99),
					"duration", fmt.Sprintf("%.0f ms", d.DurationMS),
				); err != nil {
					return err
				}
				fmt.Fprintln(w)
				tw := newTable(w)
				row(tw, "STEP", "AT MS", "DETAIL")
				for _, s := range d.Timeline {
					row(tw, s.Step, fmt.Sprintf("%.1f", s.AtMS), s.Detail)
				}
				return tw.Flush()
			})
			if err != nil {
				return err
			}
			if !d.OK {
				return withExit(exitFailed, fmt.Errorf("the broker round trip failed at %s: %s", d.FailedStep, d.Error))
			}
			return nil
		}),
	}
	f := c.Flags()
	f.IntVar(&req.MessageCount, "count", 10, "messages to publish and consume (1-1000)")
	f.IntVar(&req.PayloadBytes, "payload-bytes", 1024, "body size of each message (at most 1 MiB)")
	f.DurationVar(&within, "within", 10*time.Second, "budget of the round trip on the server (at most 2m)")
	return c
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
