package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
)

// render writes v as --output asks: the API object as JSON or YAML, or
// the human table that table draws.
func render(w io.Writer, format string, v any, table func(w io.Writer) error) error {
	switch format {
	case "json":
		return writeJSON(w, v)
	case "yaml":
		return writeYAML(w, v)
	default:
		return table(w)
	}
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// jsonLine is v as one line of JSON.
func jsonLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return append(b, '\n'), nil
}

// writeYAML goes through JSON so that field names and order are the API's.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	return enc.Close()
}

// blockStyle drops the flow style and quoting JSON came with; the encoder
// quotes again whatever would otherwise read as another type.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// newTable is a tabwriter with the CLI's column spacing.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 2, 4, 2, ' ', 0) }

// row writes tab-separated cells and a newline.
func row(w io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			_, _ = io.WriteString(w, "\t")
		}
		_, _ = io.WriteString(w, cell(c))
	}
	_, _ = io.WriteString(w, "\n")
}

// cell prints one table value; empty values are "-" so columns stay
// readable.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return oneLine(x)
	case time.Time:
		if x.IsZero() {
			return "-"
		}
		return x.Local().Format("2006-01-02 15:04:05")
	case *time.Time:
		if x == nil {
			return "-"
		}
		return cell(*x)
	case time.Duration:
		return x.Round(time.Millisecond).String()
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		return fmt.Sprintf("%.2f", x)
	case fmt.Stringer:
		return cell(x.String())
	default:
		return oneLine(fmt.Sprint(x))
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// fields writes "KEY: value" lines, aligned.
func fields(w io.Writer, kv ...any) error {
	tw := newTable(w)
	for i := 0; i+1 < len(kv); i += 2 {
		row(tw, fmt.Sprint(kv[i])+":", kv[i+1])
	}
	return tw.Flush()
}

// mapLines writes a map's entries sorted by key, indented.
func mapLines(w io.Writer, indent string, m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := newTable(w)
	for _, k := range keys {
		v := m[k]
		s := ""
		switch x := v.(type) {
		case string:
			s = x
		default:
			b, err := json.Marshal(x)
			if err != nil {
				s = fmt.Sprint(x)
			} else {
				s = string(b)
			}
		}
		fmt.Fprintf(tw, "%s%s:\t%s\n", indent, k, cell(s))
	}
	return tw.Flush()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
