package pipeline_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline"
)

var update = flag.Bool("update", false, "rewrite docsite/pipeline-validation.md from the catalogue")

// alsoReported lists codes an example cannot avoid triggering besides its
// own (an unreachable route without init_message also lacks one).
var alsoReported = map[string][]string{
	"W202": {"W101"},
}

// TestCatalogueExamples keeps the catalogue honest: every code's example
// reports that code at the marked line, and nothing else.
func TestCatalogueExamples(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range pipeline.Catalogue() {
		require.False(t, seen[c.Code], "%s listed twice", c.Code)
		seen[c.Code] = true
	}
	for _, c := range pipeline.Catalogue() {
		t.Run(c.Code, func(t *testing.T) {
			t.Parallel()
			require.Regexp(t, `^[EW]\d{3}$`, c.Code)
			require.NotEmpty(t, c.Title)
			require.NotEmpty(t, c.Remediation)
			require.NotContains(t, c.Example, "\t", "YAML examples must not use tabs")
			want := configspec.SeverityError
			if c.Code[0] == 'W' {
				want = configspec.SeverityWarning
			}
			require.Equal(t, want, c.Severity)

			line := 0
			for i, l := range strings.Split(c.Example, "\n") {
				if strings.HasSuffix(strings.TrimSpace(l), pipeline.ExampleMarker(c.Code)) {
					require.Zero(t, line, "marker appears twice")
					line = i + 1
				}
			}
			require.NotZero(t, line, "the example must mark its line with %q", pipeline.ExampleMarker(c.Code))

			src := c.Example
			if c.Code == "E009" {
				// The example shows the head of an oversized document;
				// pad it with a comment past the limit.
				src += "#" + strings.Repeat("x", pipeline.MaxDocumentSize) + "\n"
			}
			_, r := pipeline.Load([]byte(src), testCatalog(t))
			var lines []int
			for _, f := range r.Findings {
				if f.Code == c.Code {
					lines = append(lines, f.Line)
					require.Equal(t, want, f.Severity)
					require.NotEmpty(t, f.Message)
					require.NotEmpty(t, f.Remediation)
				}
			}
			require.Contains(t, lines, line, "%s expected at line %d; findings: %v", c.Code, line, r.Findings)
			allowed := append([]string{c.Code}, alsoReported[c.Code]...)
			for _, code := range codesOf(r) {
				require.Contains(t, allowed, code, "the example of %s also reports %v", c.Code, r.Findings)
			}
		})
	}
}

// TestEveryReportedCodeIsCatalogued scans the sources for code literals so
// that a new code cannot ship undocumented.
func TestEveryReportedCodeIsCatalogued(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, c := range pipeline.Catalogue() {
		known[c.Code] = true
	}
	re := regexp.MustCompile(`"([EW]\d{3})"`)
	var files []string
	for _, dir := range []string{".", "condition", "../configspec"} {
		matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		files = append(files, matches...)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || filepath.Base(f) == "codes.go" {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			require.True(t, known[m[1]], "%s uses code %s, which is not in the catalogue", f, m[1])
		}
	}
}

const docPath = "../docsite/pipeline-validation.md"

// TestCatalogueDoc fails when the published catalogue is stale; run
// `go test ./pipeline -run TestCatalogueDoc -update` to rewrite it.
func TestCatalogueDoc(t *testing.T) {
	want := renderCatalogueDoc()
	if *update {
		require.NoError(t, os.WriteFile(docPath, []byte(want), 0o644))
	}
	got, err := os.ReadFile(docPath)
	require.NoError(t, err, "run go test ./pipeline -run TestCatalogueDoc -update")
	require.Equal(t, want, string(got), "docsite/pipeline-validation.md is stale; run go test ./pipeline -run TestCatalogueDoc -update")
}

func renderCatalogueDoc() string {
	var b strings.Builder
	b.WriteString(`# Pipeline validation codes

<!-- Generated from pipeline.Catalogue(); edit pipeline/codes.go and run
     go test ./pipeline -run TestCatalogueDoc -update -->

Factflow validates every pipeline YAML when it is created, on demand
(` + "`factflow config validate FILE|DIR`, `POST /api/v1/configs/validate`" + `), when it
is read back and at startup. Each finding has a stable code, a severity, the
path of the offending key (` + "`routes.fetch.adapters[0].config.timeout`" + `), its line
and column, a message and a remediation:

` + "```" + `
pipelines/docs.yaml:` + sampleFinding() + `
` + "```" + `

A pipeline with error findings is stored but cannot run; warnings never
block a run. Codes never change meaning: ` + "`E0xx`" + ` document structure, ` + "`E1xx`" + `
adapters, ` + "`E2xx`" + ` queues, routes and wiring, ` + "`E3xx`" + ` adapter configs, ` + "`E4xx`" + `
conditions, ` + "`E5xx`" + ` policies (retries, backpressure, circuit breaker, timeouts);
` + "`Wxxx`" + ` are warnings. Every example below is checked by the test suite: it
reports its code at the line marked ` + "`# <- CODE`" + `.

| Code | Severity | Meaning |
|---|---|---|
`)
	for _, c := range pipeline.Catalogue() {
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s |\n", c.Code, strings.ToLower(c.Code), c.Severity, c.Title)
	}
	for _, c := range pipeline.Catalogue() {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** (%s)\n\nRemediation: %s.\n\n```yaml\n%s```\n", c.Code, c.Title, c.Severity, c.Remediation, c.Example)
	}
	return b.String()
}

// sampleFinding is the E301 example's finding as the CLI prints it.
func sampleFinding() string {
	for _, c := range pipeline.Catalogue() {
		if c.Code != "E301" {
			continue
		}
		_, r := pipeline.Load([]byte(c.Example), testCatalog(nil))
		return r.Findings[0].String()
	}
	return ""
}

func TestCatalogueIsSorted(t *testing.T) {
	t.Parallel()
	cat := pipeline.Catalogue()
	codes := make([]string, len(cat))
	for i, c := range cat {
		codes[i] = c.Code
	}
	sorted := slices.Clone(codes)
	slices.Sort(sorted) // errors (E…) first, then warnings (W…)
	require.Equal(t, sorted, codes)
}
