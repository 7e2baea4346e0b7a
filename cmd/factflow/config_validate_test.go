package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const validPipeline = `version: "1.0"
routes:
  start:
    inbound: { queue: demo.start }
    adapters:
      - type: noop
init_message:
  route: start
  payload: { hello: world }
`

const invalidPipeline = `version: "1.0"
routes:
  start:
    inbound: { queue: demo.start }
    adapters:
      - type: no_such_adapter
init_message:
  route: start
`

// warnPipeline is valid but has no init_message.
const warnPipeline = `version: "1.0"
routes:
  start:
    inbound: demo.start
    adapters: [noop]
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runWith(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"good.yaml":       validPipeline,
		"warn.yml":        warnPipeline,
		"bad.yaml":        invalidPipeline,
		"good_test.yaml":  "tests: not a pipeline\n",
		"readme.markdown": "ignored",
	})
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")

	t.Run("valid file", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCLI(t, "config", "validate", good)
		require.Equal(t, exitOK, code, errOut)
		require.Equal(t, good+": ok\n1 file checked: 1 valid, 0 invalid; 0 errors, 0 warnings\n", out)
		require.Empty(t, errOut)
	})

	t.Run("warnings do not fail", func(t *testing.T) {
		t.Parallel()
		code, out, _ := runCLI(t, "config", "validate", filepath.Join(dir, "warn.yml"))
		require.Equal(t, exitOK, code)
		require.Contains(t, out, "warn.yml:1:1: warning W101 init_message: ")
		require.Contains(t, out, "1 warning\n")
	})

	t.Run("invalid file", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCLI(t, "config", "validate", bad)
		require.Equal(t, exitFailed, code)
		require.Contains(t, out, bad+`:6:15: error E101 routes.start.adapters[0].type: unknown adapter type "no_such_adapter"`)
		require.Contains(t, out, "1 file checked: 0 valid, 1 invalid; 1 error, 0 warnings")
		require.Contains(t, errOut, "1 of 1 pipeline files have errors")
	})

	t.Run("directory as JSON", func(t *testing.T) {
		t.Parallel()
		code, out, _ := runCLI(t, "config", "validate", dir, "--output", "json")
		require.Equal(t, exitFailed, code, "one file has errors")
		var got []struct {
			File     string `json:"file"`
			Valid    bool   `json:"valid"`
			Findings []struct {
				Severity, Code, Path, Message, Remediation string
				Line, Column                               int
			} `json:"findings"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		require.Len(t, got, 3, "the _test.yaml file and non-YAML files are skipped")
		byName := map[string]bool{}
		for _, f := range got {
			byName[filepath.Base(f.File)] = f.Valid
		}
		require.Equal(t, map[string]bool{"bad.yaml": false, "good.yaml": true, "warn.yml": true}, byName)
		require.Equal(t, "bad.yaml", filepath.Base(got[0].File), "files come in lexical order")
		require.Equal(t, "E101", got[0].Findings[0].Code)
		require.Equal(t, 6, got[0].Findings[0].Line)
		require.NotEmpty(t, got[0].Findings[0].Remediation)
	})

	t.Run("usage errors", func(t *testing.T) {
		t.Parallel()
		code, _, errOut := runCLI(t, "config", "validate")
		require.Equal(t, exitUsage, code)
		require.Contains(t, errOut, "accepts 1 arg")

		code, _, errOut = runCLI(t, "config", "validate", filepath.Join(dir, "missing.yaml"))
		require.Equal(t, exitUsage, code)
		require.Contains(t, errOut, "no such file")

		code, _, errOut = runCLI(t, "config", "validate", good, "--output", "xml")
		require.Equal(t, exitUsage, code)
		require.Contains(t, errOut, `unknown --output "xml"`)

		code, _, errOut = runCLI(t, "config", "validate", t.TempDir())
		require.Equal(t, exitUsage, code)
		require.Contains(t, errOut, "no pipeline files")
	})
}

// TestShippedPipelinesValidate keeps config/pipelines loadable against the
// real built-in adapters.
func TestShippedPipelinesValidate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "config", "pipelines")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "config/pipelines ships pipelines")
	code, out, errOut := runCLI(t, "config", "validate", dir)
	require.Equal(t, exitOK, code, "%s%s", out, errOut)
	require.False(t, strings.Contains(out, " error "), out)
}
