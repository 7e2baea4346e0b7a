package builtin

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
)

var update = flag.Bool("update", false, "rewrite docsite/adapters.md from the adapter specs")

const referencePath = "../../docsite/adapters.md"

// TestReferenceDoc fails when the published adapter reference is stale; run
// `go test ./adapters/builtin -run TestReferenceDoc -update` to rewrite it.
func TestReferenceDoc(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, RenderReference(&b))
	if *update {
		require.NoError(t, os.WriteFile(referencePath, b.Bytes(), 0o644))
	}
	got, err := os.ReadFile(referencePath)
	require.NoError(t, err, "run go test ./adapters/builtin -run TestReferenceDoc -update")
	require.Equal(t, b.String(), string(got),
		"docsite/adapters.md is stale; run go test ./adapters/builtin -run TestReferenceDoc -update")
}

// TestReferenceCoversEveryAdapter checks that each registered type has its
// section, its row in the index and its example.
func TestReferenceCoversEveryAdapter(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, RenderReference(&b))
	doc := b.String()
	for _, s := range Registry().Specs() {
		require.Contains(t, doc, "\n### "+s.Type+"\n", "no section for %s", s.Type)
		require.Contains(t, doc, "| ["+s.Type+"](#"+s.Type+") |", "no index row for %s", s.Type)
		require.Contains(t, doc, "  - type: "+s.Type+"\n", "no example for %s", s.Type)
	}
}

// TestExamplesLoadCleanly runs every adapter's example through the
// pipeline loader: an example that a user copies must validate without a
// single finding.
func TestExamplesLoadCleanly(t *testing.T) {
	t.Parallel()
	reg := Registry()
	for typ := range examples {
		_, ok := reg.Lookup(typ)
		require.True(t, ok, "example for %s, which is not a built-in adapter", typ)
	}
	for _, s := range reg.Specs() {
		t.Run(s.Type, func(t *testing.T) {
			t.Parallel()
			doc := "version: \"1.0\"\nroutes:\n  example:\n    inbound: { queue: example.in }\n    adapters:\n" +
				indent(example(s), "      ") +
				"\ninit_message: { route: example, payload: {} }\n"
			_, r := pipeline.Load([]byte(doc), reg)
			require.Empty(t, r.Findings, "the example of %s does not load cleanly:\n%s", s.Type, doc)
		})
	}
}

// TestRenderEscapesCells feeds the renderer a spec whose texts would break
// a Markdown table.
func TestRenderEscapesCells(t *testing.T) {
	t.Parallel()
	type nested struct {
		Depth int `json:"depth" default:"2" minimum:"0" maximum:"9" doc:"How deep."`
	}
	type cfg struct {
		Pattern string   `json:"pattern" required:"true" example:"a|b" doc:"Either a | b,\nacross lines."`
		Mode    string   `json:"mode" default:"x" enum:"x,y" doc:"Mode for **/*.md under <root>."`
		Levels  []nested `json:"levels" doc:"Levels."`
	}
	s := adapters.Define("zz_probe", "test", "Probe | pipes", func(cfg, adapters.Deps) (adapters.Adapter, error) {
		return adapters.Func(nil), nil
	})
	s.Reads = []string{"*"}
	s.Writes = []string{"out (when set)"}
	var b bytes.Buffer
	require.NoError(t, renderReference(&b, []adapters.Spec{s}))
	doc := b.String()
	require.Contains(t, doc, "| [zz_probe](#zz_probe) | test | no | Probe \\| pipes |")
	require.Contains(t, doc, "| `pattern` | string | — | required | Either a \\| b, across lines. |")
	require.Contains(t, doc, "| `mode` | string | `x` | one of `x`, `y` | Mode for \\*\\*/\\*.md under &lt;root>. |")
	require.Contains(t, doc, "| `levels[].depth` | integer | `2` | min 0; max 9 | How deep. |")
	require.Contains(t, doc, "- Reads: any field\n- Writes: `out` (when set)\n")
	require.Contains(t, doc, "adapters:\n  - type: zz_probe\n    config:\n      pattern: a|b\n")
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "| `") {
			// Five cells, so six unescaped pipes.
			require.Equal(t, 6, strings.Count(line, "|")-strings.Count(line, `\|`), "row %q", line)
		}
	}
}

// TestNoConfigAdapter documents adapters without config.
func TestNoConfigAdapter(t *testing.T) {
	t.Parallel()
	s := adapters.Spec{Type: "zz_bare", Category: "test", Summary: "Bare.", Config: reflect.TypeFor[adapters.NoConfig]()}
	var b bytes.Buffer
	require.NoError(t, renderReference(&b, []adapters.Spec{s}))
	require.Contains(t, b.String(), "\nThis adapter takes no config.\n")
	require.Contains(t, b.String(), "- Reads: nothing\n")
	require.Contains(t, b.String(), "\n### zz_bare\n\nBare.\n")
}

// TestDocsiteExamplesLoadCleanly loads every complete pipeline shown in the
// documentation (a yaml block starting with `version:`), except the
// validation catalogue: examples that readers copy must validate without a
// single finding.
func TestDocsiteExamplesLoadCleanly(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob("../../docsite/*.md")
	require.NoError(t, err)
	require.NotEmpty(t, pages)
	reg := Registry()
	found := 0
	for _, page := range pages {
		if filepath.Base(page) == "pipeline-validation.md" {
			continue // its examples are broken on purpose, and tested in package pipeline
		}
		src, err := os.ReadFile(page)
		require.NoError(t, err)
		for i, block := range yamlBlocks(string(src)) {
			if !strings.HasPrefix(block, "version:") {
				continue
			}
			found++
			_, r := pipeline.Load([]byte(block), reg)
			require.Empty(t, r.Findings, "%s, yaml block %d does not load cleanly:\n%s", filepath.Base(page), i+1, block)
		}
	}
	require.NotZero(t, found, "no complete pipeline examples found in docsite")
}

// yamlBlocks returns the contents of the ```yaml fenced blocks of a
// Markdown text.
func yamlBlocks(md string) []string {
	var out []string
	var cur *strings.Builder
	for _, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```yaml":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return out
}

// TestErrorsDocCodesExist keeps docsite/errors.md honest: every code it
// lists must be a string literal in the product's Go sources (a code
// written as PREFIX_<status> must have its prefix there).
func TestErrorsDocCodesExist(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docsite/errors.md")
	require.NoError(t, err)
	var sources strings.Builder
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "../.." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sources.Write(src)
		}
		return nil
	})
	require.NoError(t, err)
	code := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]+)(<[a-z]+>)?` \\|")
	n := 0
	for _, line := range strings.Split(string(doc), "\n") {
		m := code.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		literal := `"` + m[1]
		if m[2] == "" {
			literal += `"`
		}
		require.Contains(t, sources.String(), literal, "docsite/errors.md lists %s%s, which no source file defines", m[1], m[2])
	}
	require.Greater(t, n, 50, "the code table of docsite/errors.md was not recognised")
}

// TestDocsiteLinks checks that every relative link between the
// documentation pages names an existing page and, when it has a fragment,
// an existing heading of that page; links to other files (images) name
// files that exist.
func TestDocsiteLinks(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob("../../docsite/*.md")
	require.NoError(t, err)
	anchors := map[string]map[string]bool{}
	texts := map[string]string{}
	for _, page := range pages {
		src, err := os.ReadFile(page)
		require.NoError(t, err)
		name := filepath.Base(page)
		texts[name] = string(src)
		anchors[name] = headingAnchors(string(src))
	}
	link := regexp.MustCompile(`\]\(([^)\s]*)\)`)
	for name, text := range texts {
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			if file == "" {
				file = name
			}
			if !strings.HasSuffix(file, ".md") {
				// Images and other files the pages show must exist.
				_, err := os.Stat(filepath.Join("../../docsite", filepath.FromSlash(file)))
				require.NoError(t, err, "%s links to %s, which does not exist", name, target)
				continue
			}
			require.Contains(t, anchors, file, "%s links to %s, which is not a docsite page", name, target)
			if frag != "" {
				require.True(t, anchors[file][frag], "%s links to %s, but %s has no heading #%s", name, target, file, frag)
			}
		}
	}
}

// headingAnchors returns the fragment ids GitHub-style renderers give the
// headings of a Markdown text (outside code blocks).
func headingAnchors(md string) map[string]bool {
	out := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}
