package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// TestQuickRun runs the whole harness with tiny counts against the real
// engine and the real binary (built from this module): every poison
// variant, one SIGTERM round, the report and the CSV. It proves the
// benchmark still works and leaves nothing behind; the figures mean
// nothing.
func TestQuickRun(t *testing.T) {
	admin := storetest.AdminURL(t)
	cfg, err := parseFlags([]string{"-quick", "-n", "300", "-retry-delay", "5ms", "-pages", "200", "-flowing", "10"}, os.Stderr)
	require.NoError(t, err)
	cfg.OutDir = t.TempDir()
	cfg.AdminURL = admin
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(ctx, cfg, &stdout, &stderr), "stderr:\n%s", stderr.String())

	out := stdout.String()
	for _, want := range []string{"Throughput with failing messages:", "Latency below saturation:", "SIGTERM to exit under load:", "1/1 clean",
		varClean, varPoison, varRetry, "raw rounds:"} {
		require.Contains(t, out, want)
	}
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "the scratch directory is removed")

	files, err := filepath.Glob(filepath.Join(cfg.OutDir, "reliability-*.csv"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	f, err := os.Open(files[0])
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, csvHeader, rows[0])
	col := func(r []string, name string) string {
		for i, h := range csvHeader {
			if h == name {
				return r[i]
			}
		}
		t.Fatalf("CSV has no column %q", name)
		return ""
	}
	seen := map[string]int{}
	for _, r := range rows[1:] {
		seen[col(r, "scenario")+"/"+col(r, "mode")+"/"+col(r, "variant")]++
		switch col(r, "scenario") {
		case scenPoison:
			rate, err := strconv.ParseFloat(col(r, "msgs_per_s"), 64)
			require.NoError(t, err)
			require.Positive(t, rate, "row %v", r)
			n, k := 300, 3
			if col(r, "mode") == modePaced {
				n, k = 100, 1
			}
			wantDL, wantRetried, wantArrived := "0", "0", strconv.Itoa(n)
			switch col(r, "variant") {
			case varPoison:
				wantDL, wantArrived = strconv.Itoa(k), strconv.Itoa(n-k)
			case varRetry:
				wantRetried = strconv.Itoa(k)
			}
			require.Equal(t, wantDL, col(r, "dead_letters"), "row %v", r)
			require.Equal(t, wantRetried, col(r, "retried"), "row %v", r)
			require.Equal(t, wantArrived, col(r, "arrived"), "row %v", r)
		case scenShutdown:
			require.Equal(t, "0", col(r, "exit_code"), "row %v", r)
			require.Equal(t, "false", col(r, "killed"), "row %v", r)
			require.Equal(t, string(store.StatusInterrupted), col(r, "status"), "row %v", r)
			require.Equal(t, "0", col(r, "dead_letters"), "row %v", r)
		}
	}
	for _, v := range allVariants {
		require.Equal(t, 1, seen[scenPoison+"/"+modeThroughput+"/"+v], "poison rounds of %s", v)
		require.Equal(t, 1, seen[scenPoison+"/"+modePaced+"/"+v], "paced rounds of %s", v)
	}
	require.Equal(t, 1, seen[scenShutdown+"//"], "shutdown rounds")
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults", check: func(t *testing.T, c config) {
			require.Equal(t, defaultConfig(), c)
			require.Equal(t, defaultBudget, c.budget())
		}},
		{name: "quick keeps explicit flags", args: []string{"-quick", "-n", "777", "-variants", "poison"}, check: func(t *testing.T, c config) {
			require.Equal(t, 777, c.N)
			require.Equal(t, []string{varPoison}, c.Variants)
			require.Equal(t, quickConfig().Pages, c.Pages)
		}},
		{name: "budget", args: []string{"-shutdown-budget", "10s"}, check: func(t *testing.T, c config) {
			require.Equal(t, 10*time.Second, c.budget())
		}},
		{name: "poison only needs no pages", args: []string{"-scenarios", "poison", "-pages", "1"}, check: func(t *testing.T, c config) {
			require.False(t, c.has(scenShutdown))
		}},
		{name: "unknown scenario", args: []string{"-scenarios", "poison,flood"}, wantErr: `unknown scenario "flood"`},
		{name: "unknown variant", args: []string{"-variants", "clean,burst"}, wantErr: `unknown variant "burst"`},
		{name: "paced needs a rate", args: []string{"-rate", "0"}, wantErr: "paced runs need"},
		{name: "paced off needs no rate", args: []string{"-rate", "0", "-paced-rounds", "0"}, check: func(t *testing.T, c config) {
			require.Zero(t, c.PacedRounds)
		}},
		{name: "nothing fails", args: []string{"-n", "50", "-every", "100"}, wantErr: "-n must be at least -every"},
		{name: "signal before flow", args: []string{"-pages", "100", "-flowing", "80"}, wantErr: "-flowing"},
		{name: "stop timeout within the budget", args: []string{"-shutdown-budget", "1m"}, wantErr: "-stop-timeout"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestChosenMessages(t *testing.T) {
	r := newPoisonRun(varPoison, 1000, 100)
	var chosen []int
	for seq := range 1000 {
		if r.chosen(seq) {
			chosen = append(chosen, seq)
		}
	}
	require.Len(t, chosen, failing(1000, 100))
	require.Equal(t, 99, chosen[0])
	require.Equal(t, 1000-10, r.expect, "poisoned messages never reach the sink")
	require.Equal(t, 1000, newPoisonRun(varRetry, 1000, 100).expect, "retried ones do")
}
