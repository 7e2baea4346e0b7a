package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// TestQuickRun runs the whole harness with tiny counts: load, every query
// kind, the report and the ingest steps. It proves the benchmark still
// works; the figures themselves mean nothing.
func TestQuickRun(t *testing.T) {
	admin := storetest.AdminURL(t)
	cfg, err := parseFlags([]string{"-quick", "-rows", "4004", "-n", "3", "-heavy-n", "1", "-ingest-rows", "1001"}, os.Stderr)
	require.NoError(t, err)
	cfg.AdminURL = admin

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(ctx, cfg, &stdout, &stderr), "stderr:\n%s", stderr.String())

	out := stdout.String()
	require.Contains(t, out, "Lineage explorer on 4004 rows (4 executions × 1001 rows;")
	for _, q := range queries(nil, &samples{}) {
		line := ""
		for l := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), q.name+" ") {
				line = l
			}
		}
		require.NotEmpty(t, line, "no report line for %q in:\n%s", q.name, out)
		runs := "3"
		if q.heavy {
			runs = "1"
		}
		require.Equal(t, runs, strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), q.name))[0], line)
	}
	for _, s := range ingestSteps {
		require.Contains(t, out, s.label)
	}
}

// The generator yields exactly the rows asked for, in executions of
// rowsPerExecution, with parent links only to messages it emitted before.
func TestGeneratorShape(t *testing.T) {
	s := &samples{}
	g := newGenerator(1, 2*rowsPerExecution+10, 0, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour, s)
	seen := map[string]bool{}
	n, failed := 0, 0
	var last time.Time
	for g.Next() {
		v, err := g.Values()
		require.NoError(t, err)
		require.Len(t, v, len(lineageColumns))
		corr := v[1].(string)
		if p, ok := v[2].(string); ok {
			require.True(t, seen[p], "parent %s precedes its child", p)
		}
		seen[corr] = true
		at := v[11].(time.Time)
		require.False(t, at.Before(last), "start times ascend")
		last = at
		if v[9] == "failed" {
			failed++
		}
		n++
	}
	require.Equal(t, 2*rowsPerExecution+10, n)
	require.Len(t, s.executions, 2, "the cut-short third execution gives no samples")
	require.Len(t, s.seeds, 2)
	require.NotEmpty(t, s.urls)
	require.Less(t, failed, n/10)
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, defaultConfig(), c)
	c, err = parseFlags([]string{"-quick", "-n", "7"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 7, c.N)
	require.Equal(t, quickConfig().Rows, c.Rows)
	_, err = parseFlags([]string{"-rows", "10"}, &bytes.Buffer{})
	require.ErrorContains(t, err, "-rows must be at least")
	_, err = parseFlags([]string{"extra"}, &bytes.Buffer{})
	require.ErrorContains(t, err, "unexpected arguments")
}
