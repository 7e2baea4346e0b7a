package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/pipeline/pipelinetest"
)

func newConfigTestCmd() *cobra.Command {
	var (
		output string
		runRe  string
	)
	c := &cobra.Command{
		Use:   "test FILE|DIR",
		Short: "Run pipeline unit tests",
		Long: `Run the unit tests of pipelines: the tests: section of a pipeline file, or
a *_test.yaml file (which names its pipeline with pipeline:, or sits beside
it, or in a tests/ folder below it). Given a directory, every such file
under it is run; pipelines without tests are passed over.

Each test feeds one message into a route, runs the route's adapters
offline (HTTP only to the test's own fixtures, storage in a temporary
directory) and compares what the route would publish with the
expectations. Problems are printed as
  file:line:column: CODE test "name": message
with T001 a failed expectation, T002 an unknown route, T003 a malformed
test, T004 an invalid pipeline and T005 a route that could not be set up.

Exit status: 0 when every test passed, 1 when any test failed, 2 for usage
errors and tests or pipelines that could not run as written.`,
		Example: `  factflow config test config/pipelines
  factflow config test config/pipelines/tests/docs-ingest_test.yaml --run sitemap
  factflow config test my-pipeline.yaml --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "table", "json":
			default:
				return withExit(exitUsage, fmt.Errorf("unknown --output %q; use text or json", output))
			}
			opts := pipelinetest.Options{Registry: builtin.Registry()}
			if runRe != "" {
				re, err := regexp.Compile(runRe)
				if err != nil {
					return withExit(exitUsage, fmt.Errorf("--run: %w", err))
				}
				opts.Run = re
			}
			results, err := pipelinetest.RunPath(cmd.Context(), args[0], opts)
			if err != nil {
				if cmd.Context().Err() != nil {
					return withExit(exitInterrupted, err)
				}
				return withExit(exitUsage, err)
			}
			return reportPipelineTests(cmd.OutOrStdout(), output, runRe, results)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	c.Flags().StringVar(&runRe, "run", "", "run only the tests whose name matches this regular expression")
	return c
}

type testTotals struct {
	Files   int `json:"files"`
	Tests   int `json:"tests"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Invalid int `json:"invalid"`
	// badFiles counts files with file-level findings.
	badFiles int
}

func totalsOf(results []pipelinetest.FileResult) testTotals {
	t := testTotals{Files: len(results)}
	for _, r := range results {
		t.Tests += len(r.Cases)
		t.Passed += r.Count(pipelinetest.StatusPassed)
		t.Failed += r.Count(pipelinetest.StatusFailed)
		t.Invalid += r.Count(pipelinetest.StatusInvalid)
		if len(r.Findings) > 0 {
			t.badFiles++
		}
	}
	return t
}

// reportPipelineTests prints the results and turns them into the exit
// status: definitions that cannot run (2) outrank failed tests (1).
func reportPipelineTests(w io.Writer, output, runRe string, results []pipelinetest.FileResult) error {
	t := totalsOf(results)
	var err error
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			testTotals
			Results []pipelinetest.FileResult `json:"results"`
		}{t, results})
	} else {
		err = writeTestText(w, results, t)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	switch {
	case t.Invalid > 0 || t.badFiles > 0:
		return withExit(exitUsage, fmt.Errorf("%s could not run as written", countOf(t.Invalid+t.badFiles, "test definition")))
	case t.Failed > 0:
		return withExit(exitFailed, fmt.Errorf("%d of %d pipeline tests failed", t.Failed, t.Tests))
	case t.Tests == 0 && runRe != "":
		return withExit(exitUsage, errors.New("no test matched --run "+runRe))
	}
	return nil
}

func writeTestText(w io.Writer, results []pipelinetest.FileResult, t testTotals) error {
	var b strings.Builder
	for _, r := range results {
		b.WriteString(r.File)
		if r.Pipeline != "" && r.Pipeline != r.File {
			b.WriteString(" (pipeline " + r.Pipeline + ")")
		}
		b.WriteByte('\n')
		for _, f := range r.Findings {
			writeTestFinding(&b, f)
		}
		for _, c := range r.Cases {
			label := map[string]string{
				pipelinetest.StatusPassed:  "PASS",
				pipelinetest.StatusFailed:  "FAIL",
				pipelinetest.StatusInvalid: "INVALID",
			}[c.Status]
			fmt.Fprintf(&b, "  %-7s %s", label, c.Name)
			if c.Route != "" {
				fmt.Fprintf(&b, " [route %s]", c.Route)
			}
			if c.Duration > 0 {
				fmt.Fprintf(&b, " (%s)", c.Duration.Round(time.Millisecond))
			}
			b.WriteByte('\n')
			for _, f := range c.Findings {
				writeTestFinding(&b, f)
			}
		}
	}
	fmt.Fprintf(&b, "%s in %s: %d passed, %d failed, %d invalid\n",
		countOf(t.Tests, "test"), countOf(t.Files, "file"), t.Passed, t.Failed, t.Invalid)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTestFinding(b *strings.Builder, f pipelinetest.Finding) {
	b.WriteString("    " + f.String() + "\n")
	if f.Diff == "" {
		return
	}
	for _, line := range strings.Split(f.Diff, "\n") {
		b.WriteString("        " + line + "\n")
	}
}
