package configspec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Finding codes produced by this package. They are part of the pipeline
// validation catalogue and never change meaning.
const (
	CodeDuplicateKey      = "E007"
	CodeAliasExpansion    = "E008"
	CodeUnknownField      = "E301"
	CodeMissingField      = "E302"
	CodeWrongType         = "E303"
	CodeOutOfRange        = "E304"
	CodeInvalidConfig     = "E305"
	CodeReferenceSpelling = "W001"
)

// MaxExpandedNodes bounds the number of nodes a document may expand to once
// its aliases are followed, so that a few lines of anchors cannot make a
// decoder do unbounded work ("billion laughs").
const MaxExpandedNodes = 200_000

// Error returns an error finding at node n (which may be nil).
func Error(code, path string, n *yaml.Node, msg, remediation string) Finding {
	return newFinding(SeverityError, code, path, n, msg, remediation)
}

// Warning returns a warning finding at node n (which may be nil).
func Warning(code, path string, n *yaml.Node, msg, remediation string) Finding {
	return newFinding(SeverityWarning, code, path, n, msg, remediation)
}

func newFinding(sev Severity, code, path string, n *yaml.Node, msg, remediation string) Finding {
	f := Finding{Severity: sev, Code: code, Path: path, Message: msg, Remediation: remediation}
	if n != nil {
		f.Line, f.Column = n.Line, n.Column
	}
	return f
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Join appends a key to a dotted path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Index appends a list index to a path.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Resolve follows alias nodes and unwraps a document node, returning the
// node that holds the content. It returns nil for nil.
func Resolve(n *yaml.Node) *yaml.Node {
	for range 64 {
		switch {
		case n == nil:
			return nil
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		case n.Kind == yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// IsNull reports whether n is absent or an explicit YAML null (`~`,
// `null` or an empty value).
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") || n.Kind == 0
}

// Describe names what a node holds, for messages such as "expected a
// list, got string "x"".
func Describe(n *yaml.Node) string {
	n = Resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "boolean " + v
		case "!!int", "!!float":
			return "number " + v
		default:
			return "string " + strconv.Quote(v)
		}
	}
	return "an unsupported YAML node"
}

// Pair is one key/value entry of a mapping.
type Pair struct {
	// Name is the key's text.
	Name  string
	Key   *yaml.Node
	Value *yaml.Node
}

// Pairs lists the entries of mapping n (aliases resolved) in document
// order. Merge keys (`<<: *base`) are expanded, with explicit keys taking
// precedence over merged ones. A key given twice is reported as E007 and
// only its first occurrence is kept. n must be a mapping node.
func Pairs(n *yaml.Node, path string) ([]Pair, []Finding) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	var (
		out      []Pair
		findings []Finding
		seen     = map[string]*yaml.Node{}
		merged   []Pair
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kr := Resolve(k)
		if isMergeKey(kr) {
			merged = append(merged, mergePairs(v, 0)...)
			continue
		}
		name := keyName(kr)
		if first, dup := seen[name]; dup {
			findings = append(findings, Error(CodeDuplicateKey, Join(path, name), k,
				fmt.Sprintf("key %q appears more than once (first at line %d)", name, first.Line),
				"keep one occurrence of the key; YAML mappings cannot repeat a key"))
			continue
		}
		seen[name] = k
		out = append(out, Pair{Name: name, Key: k, Value: v})
	}
	for _, p := range merged {
		if _, explicit := seen[p.Name]; explicit {
			continue
		}
		seen[p.Name] = p.Key
		out = append(out, p)
	}
	return out, findings
}

func isMergeKey(k *yaml.Node) bool {
	return k != nil && k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// mergePairs returns the entries a merge value contributes: a mapping, or a
// list of mappings where earlier ones win.
func mergePairs(v *yaml.Node, depth int) []Pair {
	v = Resolve(v)
	if v == nil || depth > 16 {
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		var out []Pair
		var nested []Pair
		seen := map[string]bool{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			k := Resolve(v.Content[i])
			if isMergeKey(k) {
				nested = append(nested, mergePairs(v.Content[i+1], depth+1)...)
				continue
			}
			name := keyName(k)
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, Pair{Name: name, Key: v.Content[i], Value: v.Content[i+1]})
		}
		for _, p := range nested {
			if !seen[p.Name] {
				seen[p.Name] = true
				out = append(out, p)
			}
		}
		return out
	case yaml.SequenceNode:
		var out []Pair
		seen := map[string]bool{}
		for _, item := range v.Content {
			for _, p := range mergePairs(item, depth+1) {
				if !seen[p.Name] {
					seen[p.Name] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	return nil
}

func keyName(k *yaml.Node) string {
	if k == nil {
		return ""
	}
	if k.Kind == yaml.ScalarNode {
		return k.Value
	}
	return "<" + Describe(k) + ">"
}

// CheckNode guards a decoder against hostile documents: it reports E008
// when following n's aliases would loop forever or expand to more than
// MaxExpandedNodes nodes. It runs in time linear in the distinct nodes.
func CheckNode(n *yaml.Node, path string) []Finding {
	c := sizeCounter{memo: map[*yaml.Node]int{}, active: map[*yaml.Node]bool{}}
	size := c.size(n)
	switch {
	case c.cycle != nil:
		return []Finding{Error(CodeAliasExpansion, path, c.cycle,
			"an alias refers to a node that contains it, so the document never ends",
			"replace the recursive alias with the content it should repeat")}
	case size > MaxExpandedNodes:
		return []Finding{Error(CodeAliasExpansion, path, n,
			fmt.Sprintf("the document expands to more than %d nodes once its aliases are followed", MaxExpandedNodes),
			"use fewer nested anchors and aliases")}
	}
	return nil
}

type sizeCounter struct {
	memo   map[*yaml.Node]int
	active map[*yaml.Node]bool
	cycle  *yaml.Node
}

func (c *sizeCounter) size(n *yaml.Node) int {
	if n == nil || c.cycle != nil {
		return 0
	}
	if s, ok := c.memo[n]; ok {
		return s
	}
	if c.active[n] {
		c.cycle = n
		return 0
	}
	c.active[n] = true
	s := 1
	if n.Kind == yaml.AliasNode {
		s += c.size(n.Alias)
	}
	for _, child := range n.Content {
		s += c.size(child)
		if s > MaxExpandedNodes {
			// Saturate so sums of large subtrees cannot overflow.
			s = MaxExpandedNodes + 1
		}
	}
	delete(c.active, n)
	c.memo[n] = s
	return s
}

// Value converts a node into plain JSON-compatible Go values:
// map[string]any, []any, string, int, int64, uint64, float64, bool or nil.
// Timestamps and custom tags stay strings. Call CheckNode first on
// untrusted input: Value follows aliases.
func Value(n *yaml.Node, path string) (any, []Finding) {
	var fs []Finding
	v := value(n, path, &fs, 0)
	return v, fs
}

// maxDepth bounds nesting so that a recursive alias that slipped past
// CheckNode still cannot exhaust the stack.
const maxDepth = 256

func value(n *yaml.Node, path string, fs *[]Finding, depth int) any {
	n = Resolve(n)
	if n == nil {
		return nil
	}
	if depth > maxDepth {
		*fs = append(*fs, Error(CodeAliasExpansion, path, n, "the value is nested too deeply", "flatten the structure"))
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		pairs, dups := Pairs(n, path)
		*fs = append(*fs, dups...)
		m := make(map[string]any, len(pairs))
		for _, p := range pairs {
			if k := Resolve(p.Key); k != nil && k.Kind != yaml.ScalarNode {
				*fs = append(*fs, Error(CodeWrongType, path, p.Key,
					"mapping keys must be plain strings, got "+Describe(k), "use a string key"))
				continue
			}
			m[p.Name] = value(p.Value, Join(path, p.Name), fs, depth+1)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			l = append(l, value(item, Index(path, i), fs, depth+1))
		}
		return l
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil
}

func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				// JSON cannot carry these; keep the text.
				return n.Value
			}
			return v
		}
		return n.Value
	default:
		return n.Value
	}
}

// Suggest returns the option closest to got by edit distance, or "" when
// none is close enough to be a plausible typo.
func Suggest(got string, options []string) string {
	best, bestD := "", -1
	lg := strings.ToLower(got)
	for _, o := range options {
		if o == got {
			continue
		}
		d := distance(lg, strings.ToLower(o))
		if bestD < 0 || d < bestD || (d == bestD && o < best) {
			best, bestD = o, d
		}
	}
	if bestD < 0 {
		return ""
	}
	limit := 1
	switch n := len([]rune(got)); {
	case n > 9:
		limit = n / 3
	case n > 3:
		limit = 2
	}
	if bestD > limit {
		return ""
	}
	return best
}

// DidYouMean formats a suggestion for a message: ` (did you mean "x"?)`.
func DidYouMean(got string, options []string) string {
	if s := Suggest(got, options); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// distance is the optimal-string-alignment edit distance (Levenshtein
// plus adjacent transpositions, which are the commonest typo).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		// Long strings are never typos of short names; avoid quadratic work.
		if len(ra) > len(rb) {
			return len(ra)
		}
		return len(rb)
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
