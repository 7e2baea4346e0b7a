package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/factflow/factflow/orchestrator"
)

// progressView draws per-route progress. On a terminal it redraws a table
// in place; otherwise it prints nothing until the summary (logs and CI
// output stay readable).
type progressView struct {
	w     io.Writer
	tty   bool
	lines int
}

func (v *progressView) update(st orchestrator.Stats) {
	if !v.tty {
		return
	}
	var b strings.Builder
	if v.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.lines) // move the cursor back over the last table
	}
	table := routeTable(st, true)
	b.WriteString(table)
	v.lines = strings.Count(table, "\n")
	_, _ = io.WriteString(v.w, b.String())
}

// summary prints the final table and totals.
func (v *progressView) summary(st orchestrator.Stats, status string, elapsed time.Duration, reason string) {
	if v.tty && v.lines > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA", v.lines)
	}
	_, _ = io.WriteString(v.w, routeTable(st, false))
	t := st.Totals()
	fmt.Fprintf(v.w, "\nexecution %s %s in %s: %d messages done, %d dead-lettered, %d retried, %d artefacts written\n",
		st.ExecutionID, status, elapsed.Round(time.Millisecond), t.Completed, t.DeadLettered, t.Retried, st.Artefacts)
	if reason != "" {
		fmt.Fprintf(v.w, "reason: %s\n", reason)
	}
}

func routeTable(st orchestrator.Stats, live bool) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tDONE\tFAILED\tRETRIED\tDEAD\tSKIPPED\tIN FLIGHT\tEMITTED\t")
	for _, r := range st.Routes {
		name := r.Route
		if r.Paused {
			name += " (paused)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n",
			name, r.Completed, r.Failed, r.Retried, r.DeadLettered, r.Skipped, r.InFlight, r.Emitted)
	}
	_ = tw.Flush()
	if live {
		// Clear to the end of each line so shorter numbers don't leave
		// stale digits behind.
		return strings.ReplaceAll(b.String(), "\n", "\x1b[K\n")
	}
	return b.String()
}
