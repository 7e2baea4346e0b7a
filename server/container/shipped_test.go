package container_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/config"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

const noopPipeline = `version: "1.0"
description: %s
routes:
  a:
    inbound: { queue: shipped.a }
    adapters: [ { type: noop } ]
init_message: { route: a, payload: {} }
`

func pipelineYAML(description string) []byte {
	return fmt.Appendf(nil, noopPipeline, description)
}

// An adapter type that does not exist makes a pipeline invalid.
const invalidPipeline = `version: "1.0"
routes:
  a:
    inbound: { queue: shipped.bad }
    adapters: [ { type: no_such_adapter } ]
init_message: { route: a, payload: {} }
`

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startForShipped starts a container on an isolated database and the test
// NATS server, logging into the returned buffer.
func startForShipped(t *testing.T) (*container.Container, *lockedBuffer) {
	t.Helper()
	natsURL := os.Getenv("FACTFLOW_TEST_NATS_URL")
	require.NotEmpty(t, natsURL, "FACTFLOW_TEST_NATS_URL is not set: run `scripts/services.sh up nats` and eval its env")
	logs := &lockedBuffer{}
	c := start(t, container.Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t), QueueURL: natsURL,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	return c, logs
}

func byName(r container.ShippedReport) map[string]container.ShippedPipeline {
	out := map[string]container.ShippedPipeline{}
	for _, p := range r.Pipelines {
		out[p.Name] = p
	}
	return out
}

func TestRegisterShippedUpserts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := startForShipped(t)
	files := fstest.MapFS{
		"alpha.yaml":     {Data: pipelineYAML("first alpha")},
		"beta.yaml":      {Data: pipelineYAML("beta")},
		"notes.txt":      {Data: []byte("not a pipeline")},
		"sub/gamma.yaml": {Data: pipelineYAML("only the top level is read")},
	}

	first, err := container.RegisterShipped(ctx, c, files, true)
	require.NoError(t, err)
	require.Len(t, first.Pipelines, 2)
	require.Equal(t, 2, first.Changed())
	require.Zero(t, first.Invalid())
	got := byName(first)
	alpha := got["alpha"]
	require.Equal(t, "alpha.yaml", alpha.File)
	require.Equal(t, "shipped:alpha.yaml", alpha.SourcePath)
	require.Equal(t, 1, alpha.Version)
	require.True(t, alpha.Valid)

	stored, err := c.DB.Configs().Get(ctx, alpha.ConfigID)
	require.NoError(t, err)
	require.Equal(t, "alpha", stored.Name)
	require.Equal(t, store.SourceShipped, stored.SourceType)
	require.Equal(t, "shipped:alpha.yaml", stored.SourcePath)
	require.Equal(t, "first alpha", stored.Description)
	require.Equal(t, string(files["alpha.yaml"].Data), stored.YAML)

	// A restart with the same files changes nothing.
	again, err := container.RegisterShipped(ctx, c, files, true)
	require.NoError(t, err)
	require.Zero(t, again.Changed())
	require.Equal(t, alpha.ConfigID, byName(again)["alpha"].ConfigID)
	require.Equal(t, 1, byName(again)["alpha"].Version)

	// A changed file bumps its version only.
	files["alpha.yaml"] = &fstest.MapFile{Data: pipelineYAML("second alpha")}
	third, err := container.RegisterShipped(ctx, c, files, true)
	require.NoError(t, err)
	require.Equal(t, 1, third.Changed())
	require.True(t, byName(third)["alpha"].Changed)
	require.Equal(t, 2, byName(third)["alpha"].Version)
	require.Equal(t, alpha.ConfigID, byName(third)["alpha"].ConfigID, "the same config")
	require.Equal(t, 1, byName(third)["beta"].Version)
	versions, err := c.DB.Configs().Versions(ctx, alpha.ConfigID)
	require.NoError(t, err)
	require.Len(t, versions, 2)
}

func TestRegisterShippedStrictness(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, logs := startForShipped(t)
	files := fstest.MapFS{
		"good.yaml": {Data: pipelineYAML("good")},
		"bad.yaml":  {Data: []byte(invalidPipeline)},
	}

	_, err := container.RegisterShipped(ctx, c, files, true)
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, container.CodeShippedInvalid, ce.Code)
	require.NotEmpty(t, ce.Hint)
	require.Contains(t, err.Error(), "shipped:bad.yaml: ")
	require.Contains(t, err.Error(), "no_such_adapter")
	require.NotContains(t, err.Error(), "good.yaml")
	for _, name := range []string{"good", "bad"} {
		_, err := c.DB.Configs().GetByName(ctx, name)
		require.ErrorIs(t, err, store.ErrNotFound, "strict: nothing is registered when one pipeline is invalid (%s)", name)
	}

	report, err := container.RegisterShipped(ctx, c, files, false)
	require.NoError(t, err)
	require.Len(t, report.Pipelines, 2)
	require.Equal(t, 1, report.Invalid())
	bad := byName(report)["bad"]
	require.False(t, bad.Valid)
	require.NotEmpty(t, bad.Findings)
	stored, err := c.DB.Configs().Get(ctx, bad.ConfigID)
	require.NoError(t, err, "non-strict: the invalid pipeline is stored, not runnable")
	require.Equal(t, invalidPipeline, stored.YAML)
	require.True(t, byName(report)["good"].Valid)
	require.Contains(t, logs.String(), "registering an invalid pipeline")
	require.Contains(t, logs.String(), "source_path=shipped:bad.yaml")
}

func TestRegisterShippedPipelineDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := startForShipped(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine.yaml"), pipelineYAML("mine"), 0o600))
	report, err := container.RegisterPipelineDir(ctx, c, dir, true)
	require.NoError(t, err)
	require.Len(t, report.Pipelines, 1)
	mine := report.Pipelines[0]
	require.Equal(t, "mine", mine.Name)
	require.Equal(t, filepath.Join(dir, "mine.yaml"), mine.SourcePath)
	stored, err := c.DB.Configs().Get(ctx, mine.ConfigID)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "mine.yaml"), stored.SourcePath)

	_, err = container.RegisterPipelineDir(ctx, c, filepath.Join(dir, "missing"), true)
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, container.CodeShippedUnreadable, ce.Code)
}

// The pipelines shipped in the binary register strictly.
func TestRegisterShippedBuiltIns(t *testing.T) {
	t.Parallel()
	c, _ := startForShipped(t)
	report, err := container.RegisterShipped(context.Background(), c, config.Pipelines(), true)
	require.NoError(t, err)
	names := byName(report)
	require.Contains(t, names, "docs-ingest")
	require.Contains(t, names, "folder-ingest")
	require.Equal(t, "shipped:docs-ingest.yaml", names["docs-ingest"].SourcePath)
}
