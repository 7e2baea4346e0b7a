package appconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decodeFile reads one YAML document into c, key by key: unknown keys and
// values of the wrong type are reported with their position, and every key
// that is present is recorded in c.sources.
func decodeFile(c *Config, name string, data []byte, lookup func(string) (string, bool)) []string {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file keeps every default
		}
		return []string{name + ":" + syntaxError(err)}
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return []string{name + ": holds more than one YAML document; keep one"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return []string{fmt.Sprintf("%s:%d:%d: the top level must be a mapping of keys (server:, data_dir:, …)", name, root.Line, root.Column)}
	}
	d := &fileDecoder{name: name, lookup: lookup, sources: c.sources}
	d.mapping(root, reflect.ValueOf(c).Elem(), "")
	return d.problems
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns "yaml: line 3: msg" into "3: msg" (to follow
// "file:").
func syntaxError(err error) string {
	s := err.Error()
	if m := yamlLineRe.FindStringSubmatch(s); m != nil {
		return m[1] + ": " + s[len(m[0]):]
	}
	return " " + strings.TrimPrefix(s, "yaml: ")
}

type fileDecoder struct {
	name     string
	lookup   func(string) (string, bool)
	sources  map[string]string
	problems []string
}

func (d *fileDecoder) problem(n *yaml.Node, format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf("%s:%d:%d: ", d.name, n.Line, n.Column)+fmt.Sprintf(format, args...))
}

func (d *fileDecoder) mapping(n *yaml.Node, v reflect.Value, prefix string) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		path := joinKey(prefix, key)
		if key == "<<" {
			d.problem(k, "merge keys (<<) are not supported in the app config; write the keys out")
			continue
		}
		f, ok := fieldByTag(v, key)
		if !ok {
			d.problem(k, "unknown key %q%s (known: %s)", key, inSection(prefix), strings.Join(tagsOf(v.Type()), ", "))
			continue
		}
		if seen[key] {
			d.problem(k, "key %q appears twice", path)
			continue
		}
		seen[key] = true
		if val.Kind == yaml.AliasNode && val.Alias != nil {
			val = val.Alias
		}
		if f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct {
			d.structList(val, f, path)
			continue
		}
		if f.Kind() == reflect.Struct {
			switch {
			case isNull(val):
			case val.Kind != yaml.MappingNode:
				d.problem(val, "%s: want a mapping of keys (%s)", path, strings.Join(tagsOf(f.Type()), ", "))
			default:
				d.mapping(val, f, path)
			}
			continue
		}
		d.leaf(val, f, path)
	}
}

// structList decodes a list of mappings (llm.providers) item by item, so
// that unknown keys and ${VAR} references inside the items are handled as
// everywhere else.
func (d *fileDecoder) structList(n *yaml.Node, f reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n, "%s: want a list of mappings (%s)", path, strings.Join(tagsOf(f.Type().Elem()), ", "))
		return
	}
	list := reflect.MakeSlice(f.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		if item.Kind == yaml.AliasNode && item.Alias != nil {
			item = item.Alias
		}
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			d.problem(item, "%s: want a mapping of keys (%s)", itemPath, strings.Join(tagsOf(f.Type().Elem()), ", "))
			continue
		}
		elem := reflect.New(f.Type().Elem()).Elem()
		d.mapping(item, elem, itemPath)
		list = reflect.Append(list, elem)
	}
	f.Set(list)
	d.sources[path] = fmt.Sprintf("%s:%d:%d", d.name, n.Line, n.Column)
}

func (d *fileDecoder) leaf(n *yaml.Node, f reflect.Value, path string) {
	origin := ""
	switch n.Kind {
	case yaml.ScalarNode:
		var ok bool
		if origin, ok = d.substitute(n, path); !ok {
			return
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind == yaml.ScalarNode {
				if _, ok := d.substitute(item, path); !ok {
					return
				}
			}
		}
	}
	if isNull(n) {
		return // "key:" with no value keeps the default
	}
	if err := n.Decode(f.Addr().Interface()); err != nil {
		got := "a mapping"
		switch n.Kind {
		case yaml.ScalarNode:
			got = strconv.Quote(n.Value)
			if origin != "" {
				got += " (from " + origin + ")"
			}
		case yaml.SequenceNode:
			got = "a list"
		}
		d.problem(n, "%s: want %s, got %s", path, want(f.Type()), got)
		return
	}
	d.sources[path] = fmt.Sprintf("%s:%d:%d", d.name, n.Line, n.Column)
}

// substitute expands ${VAR} in a scalar. It returns the original text when
// something was substituted, and false after reporting a malformed
// reference.
func (d *fileDecoder) substitute(n *yaml.Node, path string) (string, bool) {
	out, changed, err := expand(n.Value, d.lookup)
	if err != nil {
		d.problem(n, "%s: %v", path, err)
		return "", false
	}
	if !changed {
		return "", true
	}
	orig := n.Value
	n.Value = out
	switch {
	case out == "":
		// The documented meaning of an unset ${VAR}: the empty string,
		// not "no value".
		n.Tag, n.Style = "!!str", yaml.DoubleQuotedStyle
	case n.Style == 0:
		n.Tag = "" // a plain scalar is typed by what it says now
	}
	return orig, true
}

var varNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand substitutes ${VAR} and ${VAR:-default} in s; $${ is a literal
// "${".
func expand(s string, lookup func(string) (string, bool)) (string, bool, error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", false, fmt.Errorf("unterminated ${ in %q; write $${ for a literal ${", s)
			}
			inner := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(inner, ":-")
			if !varNameRe.MatchString(name) {
				return "", false, fmt.Errorf("${%s}: %q is not a variable name (letters, digits, _)", inner, name)
			}
			v, ok := lookup(name)
			if hasDef && (!ok || v == "") {
				v = def
			}
			b.WriteString(v)
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), true, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func inSection(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " in " + prefix
}

func yamlTag(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return tag
}

func fieldByTag(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if sf := t.Field(i); sf.IsExported() && yamlTag(sf) == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// fieldByPath finds the field of a dotted key ("server.port").
func fieldByPath(v reflect.Value, path string) (reflect.Value, bool) {
	for part := range strings.SplitSeq(path, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		f, ok := fieldByTag(v, part)
		if !ok {
			return reflect.Value{}, false
		}
		v = f
	}
	return v, true
}

func tagsOf(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if sf := t.Field(i); sf.IsExported() {
			if tag := yamlTag(sf); tag != "" && tag != "-" {
				out = append(out, tag)
			}
		}
	}
	sort.Strings(out)
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration with a unit, e.g. 30s or 2m"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "a whole number"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	default:
		return "a string"
	}
}

// setFromText parses raw (an environment value) into f.
func setFromText(f reflect.Value, raw string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("want " + want(f.Type()))
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(raw)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || f.OverflowInt(n) {
			return errors.New("want " + want(f.Type()))
		}
		f.SetInt(n)
	case f.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return errors.New("want " + want(f.Type()))
		}
		f.SetFloat(x)
	case f.Kind() == reflect.Bool:
		b, err := parseBool(raw)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var list []string
		for item := range strings.SplitSeq(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		f.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

func parseBool(raw string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "1", "t", "true", "y", "yes", "on":
		return true, nil
	case "0", "f", "false", "n", "no", "off":
		return false, nil
	}
	return false, errors.New("want true or false (1/0, yes/no, on/off)")
}
