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

	"github.com/factflow/factflow/store/storetest"
)

// TestQuickRun runs the whole harness with tiny counts: every variant, a
// warm-up, a throughput and a paced round, the report and the CSV. It
// proves the benchmark still works; the figures themselves mean nothing.
func TestQuickRun(t *testing.T) {
	admin := storetest.AdminURL(t)
	cfg, err := parseFlags([]string{"-quick", "-n", "60", "-paced-n", "10", "-rate", "500"}, os.Stderr)
	require.NoError(t, err)
	cfg.OutDir = t.TempDir()
	cfg.AdminURL = admin

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(ctx, cfg, &stdout, &stderr), "stderr:\n%s", stderr.String())

	out := stdout.String()
	for _, want := range []string{"Throughput:", "Latency at low load:", varBare1, varBare3, varEngine, varLineage, "raw rounds:"} {
		require.Contains(t, out, want)
	}

	files, err := filepath.Glob(filepath.Join(cfg.OutDir, "pipeline-*.csv"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	f, err := os.Open(files[0])
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	header := rows[0]
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("CSV has no column %q: %v", name, header)
		return -1
	}
	// One measured throughput and one paced run per variant.
	seen := map[string]int{}
	for _, r := range rows[1:] {
		if r[col("round")] == "0" {
			continue
		}
		seen[r[col("mode")]+"/"+r[col("variant")]]++
		n, err := strconv.Atoi(r[col("n")])
		require.NoError(t, err)
		want := 60
		if r[col("mode")] == modePaced {
			want = 10
		}
		require.Equal(t, want, n, "row %v", r)
		rate, err := strconv.ParseFloat(r[col("msgs_per_s")], 64)
		require.NoError(t, err)
		require.Positive(t, rate, "row %v", r)
		require.Equal(t, "0", r[col("duplicates")], "row %v", r)
		if r[col("variant")] == varLineage {
			written, err := strconv.Atoi(r[col("lineage_written")])
			require.NoError(t, err)
			require.Positive(t, written, "lineage rows of %v", r)
		}
	}
	for _, v := range allVariants {
		require.Equal(t, 1, seen[modeThroughput+"/"+v], "throughput rounds of %s", v)
		require.Equal(t, 1, seen[modePaced+"/"+v], "paced rounds of %s", v)
	}
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
		}},
		{name: "quick keeps explicit flags", args: []string{"-quick", "-n", "77", "-variants", "ff"}, check: func(t *testing.T, c config) {
			require.Equal(t, 77, c.N)
			require.Equal(t, []string{varEngine}, c.Variants)
			require.Equal(t, quickConfig().PacedN, c.PacedN)
		}},
		{name: "unknown variant", args: []string{"-variants", "bare3,kafka"}, wantErr: `unknown variant "kafka"`},
		{name: "no rounds", args: []string{"-rounds", "0"}, wantErr: "-rounds must be at least 1"},
		{name: "paced needs a rate", args: []string{"-rate", "0"}, wantErr: "paced runs need"},
		{name: "paced off needs no rate", args: []string{"-rate", "0", "-paced-rounds", "0"}, check: func(t *testing.T, c config) {
			require.Zero(t, c.PacedRounds)
		}},
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

func TestRecorderCountsDuplicatesAndCloses(t *testing.T) {
	r := newRecorder(2)
	r.begin(time.Now())
	born := time.Now().UnixNano()
	r.arrive(born)
	select {
	case <-r.done:
		t.Fatal("done after 1 of 2 arrivals")
	default:
	}
	r.arrive(born)
	<-r.done
	r.arrive(born)
	require.Equal(t, int64(1), r.extra.Load())
	require.Len(t, r.latencies(), 2)
	require.Positive(t, r.elapsed())
}
