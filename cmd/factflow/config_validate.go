package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/pipeline"
)

func newConfigValidateCmd() *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "validate FILE|DIR",
		Short: "Validate pipeline YAML files",
		Long: `Validate one pipeline file, or every *.yaml / *.yml file under a directory
(pipeline test files *_test.yaml are skipped), against the built-in adapters.

Each finding is printed as
  file:line:column: severity CODE path: message (remediation)
The codes are listed in the pipeline validation reference.

Exit status: 0 when no file has errors (warnings allowed), 1 when any file
has errors, 2 for usage errors (such as a missing path).`,
		Example: `  factflow config validate config/pipelines
  factflow config validate docs.yaml --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "table", "json":
			default:
				return withExit(exitUsage, fmt.Errorf("unknown --output %q; use text or json", output))
			}
			reports, err := pipeline.ValidatePath(args[0], builtin.Registry())
			if err != nil {
				return withExit(exitUsage, err)
			}
			return reportValidation(cmd.OutOrStdout(), output, reports)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return c
}

func invalidFiles(reports []pipeline.FileReport) int {
	n := 0
	for _, r := range reports {
		if !r.Valid() {
			n++
		}
	}
	return n
}

func writeValidationJSON(w io.Writer, reports []pipeline.FileReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(reports)
}

func writeValidationText(w io.Writer, reports []pipeline.FileReport) error {
	var b strings.Builder
	errs, warns := 0, 0
	for _, r := range reports {
		if len(r.Report.Findings) == 0 {
			fmt.Fprintf(&b, "%s: ok\n", r.File)
		}
		for _, f := range r.Report.Findings {
			b.WriteString(r.File + ":")
			if f.Line > 0 {
				fmt.Fprintf(&b, "%d:", f.Line)
				if f.Column > 0 {
					fmt.Fprintf(&b, "%d:", f.Column)
				}
			}
			fmt.Fprintf(&b, " %s %s", f.Severity, f.Code)
			if f.Path != "" {
				b.WriteString(" " + f.Path)
			}
			b.WriteString(": " + f.Message)
			if f.Remediation != "" {
				b.WriteString(" (" + f.Remediation + ")")
			}
			b.WriteByte('\n')
		}
		errs += r.Report.ErrorCount()
		warns += r.Report.WarningCount()
	}
	fmt.Fprintf(&b, "%s checked: %d valid, %d invalid; %s, %s\n",
		countOf(len(reports), "file"), len(reports)-invalidFiles(reports), invalidFiles(reports),
		countOf(errs, "error"), countOf(warns, "warning"))
	_, err := io.WriteString(w, b.String())
	return err
}

func countOf(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// reportValidation prints reports as text or JSON; any file with errors
// makes it an exit-1 error.
func reportValidation(w io.Writer, output string, reports []pipeline.FileReport) error {
	var err error
	if output == "json" {
		err = writeValidationJSON(w, reports)
	} else {
		err = writeValidationText(w, reports)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if failed := invalidFiles(reports); failed > 0 {
		return withExit(exitFailed, fmt.Errorf("%d of %d pipeline files have errors", failed, len(reports)))
	}
	return nil
}
