package builtin

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/configspec"
)

// RenderReference writes the Markdown reference of every built-in adapter
// (docsite/adapters.md): summary, description, payload fields read and
// written, config keys with defaults and constraints, and an example.
// Everything comes from the specs, so the page cannot drift from the code.
func RenderReference(w io.Writer) error {
	return renderReference(w, Registry().Specs())
}

// examples are curated YAML adapter entries, written as items of a route's
// `adapters:` list. A type without one gets a generated example (its type
// plus required keys that have an example tag). Every example must load
// without findings; the tests check that.
var examples = map[string]string{
	"noop": `- type: noop`,
	"fail": `- type: fail
  config: { mode: first_n, times: 2 }   # attempts 1 and 2 fail, the third passes`,
	"filter": `- type: filter
  config:
    condition: { field: content_type, operator: matches, value: "^text/html" }`,
	"transform": `- type: transform
  config:
    set:
      word_count: 'len(split(markdown, " "))'
      lang: 'lang ?? "en"'
    rename: { final_url: source_url }
    remove: [content]`,
	"file_source": `- type: file_source
  config:
    root: /srv/docs
    include: ["**/*.md", "**/*.html"]
    exclude: ["drafts/**"]`,
	"sitemap_parser": `- type: sitemap_parser
  config: { max_urls: 2000, same_host_only: true, exclude: ["/tags/"] }`,
	"url_expander": `- type: url_expander
  config: { max: 500 }`,
	"web_scraper": `- type: web_scraper
  config: { timeout: 30s, requests_per_second: 1, max_requests_per_second: 4 }`,
	"web_content_storage": `- type: web_content_storage`,
	"storage_retriever":   `- type: storage_retriever`,
	"html_to_markdown": `- type: html_to_markdown
  config: { main_content_selector: "main, article", preserve_images: true }`,
	"markdown_storage_writer": `- type: markdown_storage_writer
  name: segments
  config: { source_field: segment.text, key_field: segment_key }`,
	"smart_segmenter": `- type: smart_segmenter
  config: { max_tokens: 512, min_tokens: 64, overlap_tokens: 32 }`,
	"segment_publisher": `- type: segment_publisher`,
	"embedding_generator": `- type: embedding_generator
  config:
    models:
      - { profile: hashing }                          # offline, lexical
      # - { profile: openai-small, model_name: small } # a second slot
    language: english
    metadata_fields: [lang]`,
	"llm_transform": `- type: llm_transform
  config:
    prompt: "List the product names mentioned in: {{segment.text}}"
    system_prompt: Answer with a JSON list of strings.
    json_output: true
    output_field: products`,
	"llm_translator": `- type: llm_translator
  config: { target_language: Norwegian, source_field: segment.text, max_tokens: 4096 }`,
}

// example returns the YAML adapter entry shown for s.
// Example is the YAML adapter entry shown for s: the curated one, or one
// generated from its required config keys. It loads without findings.
func Example(s adapters.Spec) string { return example(s) }

func example(s adapters.Spec) string {
	if e, ok := examples[s.Type]; ok {
		return e
	}
	var b strings.Builder
	b.WriteString("- type: " + s.Type)
	var cfg []string
	for _, f := range flatten(configspec.Fields(s.Config), "") {
		if f.Required && f.Example != "" && !strings.Contains(f.Name, ".") {
			cfg = append(cfg, f.Name+": "+f.Example)
		}
	}
	if len(cfg) > 0 {
		b.WriteString("\n  config:")
		for _, c := range cfg {
			b.WriteString("\n    " + c)
		}
	}
	return b.String()
}

func renderReference(w io.Writer, specs []adapters.Spec) error {
	var b bytes.Buffer
	b.WriteString(`# Adapter reference

<!-- Generated from the adapter specs of adapters/builtin; edit the specs and run
     go test ./adapters/builtin -run TestReferenceDoc -update -->

An adapter is one step of a route's chain (see [Pipeline YAML](pipeline-yaml.md)).
Each entry names its ` + "`type`" + `, optionally a ` + "`name`" + ` (the step's stage name in
storage keys and lineage; defaults to the type), a ` + "`config`" + ` block and a
` + "`condition`" + ` that skips the step for messages that do not match.

Config keys are checked when the pipeline is validated: an unknown key is
E301, a missing required key E302, a wrong type E303, a value out of range or
not among the allowed ones E304, and a failed cross-field check E305 (see
[validation codes](pipeline-validation.md)). Durations are written the Go way
(` + "`30s`, `500ms`, `1h30m`" + `); every duration key also accepts the integer spellings
` + "`<key>_seconds` and `<key>_ms`" + ` (warning W001). Keys of type ` + "`condition`" + ` take the
[condition syntax](pipeline-yaml.md#conditions).

"Reads" and "Writes" name the payload fields an adapter consumes and produces;
"Emits" says whether it fans out, one message per item, instead of passing one
message on. Error codes are explained in [Runtime error codes](errors.md).

| Adapter | Category | Emits | Summary |
|---|---|---|---|
`)
	cats := categories(specs)
	for _, cat := range cats {
		for _, s := range specs {
			if s.Category == cat {
				fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s |\n", s.Type, anchor(s.Type), cat, yesNo(s.Emits), plainCell(s.Summary))
			}
		}
	}
	for _, cat := range cats {
		fmt.Fprintf(&b, "\n## %s adapters\n", cat)
		for _, s := range specs {
			if s.Category == cat {
				writeSpec(&b, s)
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeSpec(b *bytes.Buffer, s adapters.Spec) {
	fmt.Fprintf(b, "\n### %s\n\n%s.\n", s.Type, plainEscaper.Replace(strings.TrimSuffix(strings.TrimSpace(s.Summary), ".")))
	if d := strings.TrimSpace(s.Description); d != "" {
		b.WriteString("\n" + d + "\n")
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "- Reads: %s\n", fieldList(s.Reads))
	fmt.Fprintf(b, "- Writes: %s\n", fieldList(s.Writes))
	if s.Emits {
		b.WriteString("- Emits: yes (one message per item; the rest of the chain runs once per message)\n")
	} else {
		b.WriteString("- Emits: no (passes one message on)\n")
	}

	fields := flatten(configspec.Fields(s.Config), "")
	if len(fields) == 0 {
		b.WriteString("\nThis adapter takes no config.\n")
	} else {
		b.WriteString("\n| Key | Type | Default | Constraints | Description |\n|---|---|---|---|---|\n")
		for _, f := range fields {
			def := "—"
			if f.Default != "" {
				def = code(f.Default)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", code(f.Name), f.Type, cell(def), cell(constraints(f)), plainCell(f.Doc))
		}
	}
	fmt.Fprintf(b, "\n```yaml\nadapters:\n%s\n```\n", indent(example(s), "  "))
}

// flatten lists nested object keys as parent.child (parent[].child for a
// list of objects) after their parent.
func flatten(fs []configspec.Field, prefix string) []configspec.Field {
	var out []configspec.Field
	for _, f := range fs {
		nested := f.Fields
		f.Fields = nil
		f.Name = prefix + f.Name
		out = append(out, f)
		if len(nested) > 0 {
			sep := "."
			if strings.HasPrefix(f.Type, "list of ") {
				sep = "[]."
			}
			out = append(out, flatten(nested, f.Name+sep)...)
		}
	}
	return out
}

func constraints(f configspec.Field) string {
	var parts []string
	if f.Required {
		parts = append(parts, "required")
	}
	if len(f.Enum) > 0 {
		vals := make([]string, len(f.Enum))
		for i, e := range f.Enum {
			vals[i] = code(e)
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	if f.Minimum != "" {
		parts = append(parts, "min "+f.Minimum)
	}
	if f.Maximum != "" {
		parts = append(parts, "max "+f.Maximum)
	}
	if len(f.Aliases) > 0 {
		vals := make([]string, len(f.Aliases))
		for i, a := range f.Aliases {
			vals[i] = code(a)
		}
		parts = append(parts, "alias "+strings.Join(vals, ", "))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, "; ")
}

func categories(specs []adapters.Spec) []string {
	var out []string
	for _, s := range specs {
		if !slices.Contains(out, s.Category) {
			out = append(out, s.Category)
		}
	}
	slices.Sort(out)
	return out
}

func fieldList(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	out := make([]string, len(names))
	for i, n := range names {
		if n == "*" {
			out[i] = "any field"
			continue
		}
		// Entries may carry a remark: "urls (or the configured field)".
		name, rest, found := strings.Cut(n, " ")
		out[i] = code(name)
		if found {
			out[i] += " " + rest
		}
	}
	return strings.Join(out, ", ")
}

// code renders s as inline code, with a longer fence when s holds a
// backtick.
func code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// cell makes text safe inside a table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// plainCell is cell for plain text (tag docs, summaries), which must not
// turn into emphasis or HTML: glob patterns such as **/*.md are common.
func plainCell(s string) string {
	return cell(plainEscaper.Replace(s))
}

var plainEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "<", "&lt;")

// anchor is the heading id GitHub-style renderers give a type name.
func anchor(s string) string { return strings.ToLower(s) }

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func indent(s, pad string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}
