package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// TestQuickRun runs the whole harness with tiny counts. It proves the
// benchmark still works; the figures themselves mean nothing.
func TestQuickRun(t *testing.T) {
	admin := storetest.AdminURL(t)
	cfg, err := parseFlags([]string{"-quick", "-n", "600", "-queries", "8", "-recall-queries", "5"}, os.Stderr)
	require.NoError(t, err)
	cfg.AdminURL = admin

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(ctx, cfg, &stdout, &stderr), "stderr:\n%s", stderr.String())
	out := stdout.String()
	for _, want := range []string{"600 synthetic 32-d vectors", "embeddings/s", "HNSW build", "recall@10",
		"semantic top-10", "hybrid top-10", "RRF top-10"} {
		require.Contains(t, out, want)
	}
}
