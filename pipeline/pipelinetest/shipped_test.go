package pipelinetest_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/config"
	"github.com/factflow/factflow/pipeline/pipelinetest"
)

// shippedDir is the source folder of the pipelines embedded in the binary.
const shippedDir = "../../config/pipelines"

// TestShippedPipelines runs the unit tests of every shipped pipeline, so
// `go test ./...` (and `make test`) fails when a pipeline or an adapter
// change breaks what a shipped pipeline promises.
func TestShippedPipelines(t *testing.T) {
	results, err := pipelinetest.RunPath(t.Context(), shippedDir, pipelinetest.Options{Registry: builtin.Registry()})
	require.NoError(t, err)

	tested := map[string]int{}
	for _, r := range results {
		for _, f := range r.AllFindings() {
			t.Errorf("%s\n%s", f, indent(f.Diff))
		}
		for _, c := range r.Cases {
			require.NotEqual(t, pipelinetest.StatusInvalid, c.Status, "%s: %s", r.File, c.Name)
			if c.Status == pipelinetest.StatusPassed {
				tested[filepath.Base(r.Pipeline)]++
			}
		}
	}

	// Every pipeline the binary ships has passing tests, and every one of
	// its routes is exercised.
	names, err := fs.Glob(config.Pipelines(), "*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		require.Positive(t, tested[name], "shipped pipeline %s has no passing test: add config/pipelines/tests/%s_test.yaml",
			name, strings.TrimSuffix(name, ".yaml"))
	}
	routes := map[string]bool{}
	for _, r := range results {
		for _, c := range r.Cases {
			routes[filepath.Base(r.Pipeline)+"/"+c.Route] = true
		}
	}
	for _, want := range []string{
		"docs-ingest.yaml/discover", "docs-ingest.yaml/fetch", "docs-ingest.yaml/convert", "docs-ingest.yaml/segments",
		"folder-ingest.yaml/scan", "folder-ingest.yaml/convert", "folder-ingest.yaml/segments",
	} {
		require.True(t, routes[want], "no test of route %s", want)
	}
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
