package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// testedPipeline has a tests: section: one passing and one failing test.
const testedPipeline = `version: "1.0"
routes:
  start:
    inbound: { queue: demo.start }
    adapters:
      - type: noop
    outbound: [ { queue: demo.next } ]
  next:
    inbound: { queue: demo.next }
    adapters: [ { type: noop } ]
init_message:
  route: start
  payload: { hello: world }
tests:
  - name: passes the message on
    route: start
    input: { payload: { hello: world } }
    expect:
      outputs:
        - queue: demo.next
          payload_equals: { hello: world }
  - name: wrong greeting
    route: start
    input: { payload: { hello: world } }
    expect:
      outputs:
        - fields: { hello: moon }
`

func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestConfigTestShippedPipelines(t *testing.T) {
	code, out, errOut := runCLI(t, "config", "test", "../../config/pipelines")
	require.Equal(t, exitOK, code, out+errOut)
	require.Contains(t, out, "PASS    sitemap expands into one fetch message per page [route discover]")
	require.Contains(t, out, "14 tests in 2 files: 14 passed, 0 failed, 0 invalid")
}

func TestConfigTestFailure(t *testing.T) {
	dir := t.TempDir()
	file := writeTestFile(t, dir, "demo.yaml", testedPipeline)

	code, out, errOut := runCLI(t, "config", "test", file)
	require.Equal(t, exitFailed, code, out+errOut)
	require.Contains(t, out, "  PASS    passes the message on [route start]")
	require.Contains(t, out, "  FAIL    wrong greeting [route start]")
	require.Contains(t, out, file+`:27:21: T001 test "wrong greeting": output #1: field hello differs`)
	require.Contains(t, out, "        - \"moon\"\n        + \"world\"\n")
	require.Contains(t, out, "2 tests in 1 file: 1 passed, 1 failed, 0 invalid")
	require.Contains(t, errOut, "1 of 2 pipeline tests failed")

	// --run keeps only the passing test.
	code, out, _ = runCLI(t, "config", "test", file, "--run", "^passes")
	require.Equal(t, exitOK, code, out)
	require.Contains(t, out, "1 test in 1 file: 1 passed")

	code, _, errOut = runCLI(t, "config", "test", file, "--run", "nothing-matches")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "no test matched --run nothing-matches")

	code, out, _ = runCLI(t, "config", "test", file, "--output", "json")
	require.Equal(t, exitFailed, code)
	var doc struct {
		Tests   int `json:"tests"`
		Passed  int `json:"passed"`
		Failed  int `json:"failed"`
		Results []struct {
			File  string `json:"file"`
			Tests []struct {
				Name     string `json:"name"`
				Status   string `json:"status"`
				Findings []struct {
					Code string `json:"code"`
					Line int    `json:"line"`
					Diff string `json:"diff"`
				} `json:"findings"`
				Outputs []struct {
					Queue   string         `json:"queue"`
					Payload map[string]any `json:"payload"`
				} `json:"outputs"`
			} `json:"tests"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Equal(t, 2, doc.Tests)
	require.Equal(t, 1, doc.Failed)
	failing := doc.Results[0].Tests[1]
	require.Equal(t, "failed", failing.Status)
	require.Equal(t, "T001", failing.Findings[0].Code)
	require.Equal(t, 27, failing.Findings[0].Line)
	require.Equal(t, "demo.next", failing.Outputs[0].Queue)
	require.Equal(t, map[string]any{"hello": "world"}, failing.Outputs[0].Payload)
}

func TestConfigTestBadDefinitions(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, dir, "demo.yaml", testedPipeline)
	// A test file beside its pipeline: one unknown route (T002) and one
	// failure; definitions that cannot run outrank failures (exit 2).
	writeTestFile(t, dir, "demo_test.yaml", `tests:
  - name: no such route
    route: strat
    expect: {}
`)
	code, out, errOut := runCLI(t, "config", "test", dir)
	require.Equal(t, exitUsage, code, out+errOut)
	require.Contains(t, out, filepath.Join(dir, "demo_test.yaml")+` (pipeline `+filepath.Join(dir, "demo.yaml")+`)`)
	require.Contains(t, out, `demo_test.yaml:2:5: T002 test "no such route": route "strat" is not in demo.yaml; did you mean "start"?`)
	require.Contains(t, out, "3 tests in 2 files: 1 passed, 1 failed, 1 invalid")
	require.Contains(t, errOut, "1 test definition could not run as written")
}

func TestConfigTestUsage(t *testing.T) {
	dir := t.TempDir()
	plain := writeTestFile(t, dir, "plain.yaml", validPipeline)

	for name, args := range map[string][]string{
		"missing path":  {"config", "test", filepath.Join(dir, "missing.yaml")},
		"no tests":      {"config", "test", plain},
		"empty dir":     {"config", "test", t.TempDir()},
		"bad output":    {"config", "test", plain, "--output", "xml"},
		"bad regexp":    {"config", "test", plain, "--run", "("},
		"no argument":   {"config", "test"},
		"two arguments": {"config", "test", plain, plain},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			require.Equal(t, exitUsage, code, out+errOut)
			require.NotEmpty(t, errOut)
		})
	}
}
