package condition

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
)

// Finding codes of conditions (see the validation catalogue).
const (
	CodeUnknownOperator = "E401"
	CodeMissingField    = "E402"
	CodeBadValue        = "E403"
	CodeBadRegexp       = "E404"
	CodeMalformed       = "E405"
	CodeUnknownKey      = "E406"
	CodeIgnoredValue    = "W401"
)

// MaxDepth bounds how deeply all/any groups may nest.
const MaxDepth = 32

var operators = []string{
	OpEquals, OpNotEquals, OpMatches, OpNotMatches, OpExists, OpNotExists,
	OpIn, OpNotIn, OpContains, OpGT, OpGTE, OpLT, OpLTE,
}

// Operators returns every leaf operator.
func Operators() []string { return append([]string(nil), operators...) }

// synonyms maps spellings from other tools to ours, for suggestions only.
var synonyms = map[string]string{
	"eq": OpEquals, "==": OpEquals, "=": OpEquals, "is": OpEquals, "equal": OpEquals,
	"ne": OpNotEquals, "neq": OpNotEquals, "!=": OpNotEquals,
	"regex": OpMatches, "regexp": OpMatches, "match": OpMatches, "=~": OpMatches, "!~": OpNotMatches,
	"exist": OpExists, "present": OpExists, "missing": OpNotExists, "absent": OpNotExists,
	">": OpGT, ">=": OpGTE, "<": OpLT, "<=": OpLTE, "ge": OpGTE, "le": OpLTE,
	"one_of": OpIn, "not_one_of": OpNotIn, "has": OpContains, "includes": OpContains,
}

var keys = []string{"field", "operator", "value", "all", "any"}

// Parse reads a condition from YAML. A nil or null node yields a nil
// condition (which matches everything) and no findings. The returned
// condition is compiled when there are no error findings.
func Parse(node *yaml.Node, path string) (*Condition, []Finding) {
	if configspec.IsNull(node) {
		return nil, nil
	}
	if fs := configspec.CheckNode(node, path); len(fs) > 0 {
		return nil, fs
	}
	var fs []Finding
	c := parse(node, path, 0, &fs)
	if !configspec.HasErrors(fs) {
		if err := c.Compile(); err != nil {
			// Parse checked everything Compile checks; keep the contract
			// honest if they ever drift.
			fs = append(fs, configspec.Error(CodeMalformed, path, node, err.Error(), "fix the condition"))
		}
	}
	return &c, fs
}

// Finding is a validation finding (shared with package configspec).
type Finding = configspec.Finding

// DecodeYAMLNode lets a condition appear in adapter config structs decoded
// by package configspec.
func (c *Condition) DecodeYAMLNode(node *yaml.Node, path string) []Finding {
	parsed, fs := Parse(node, path)
	if parsed != nil {
		*c = *parsed
	}
	return fs
}

func parse(n *yaml.Node, path string, depth int, fs *[]Finding) Condition {
	var c Condition
	r := configspec.Resolve(n)
	add := func(f Finding) { *fs = append(*fs, f) }
	if depth > MaxDepth {
		add(configspec.Error(CodeMalformed, path, r, fmt.Sprintf("conditions nest more than %d levels deep", MaxDepth), "flatten the all/any groups"))
		return c
	}
	if r == nil || r.Kind != yaml.MappingNode {
		add(configspec.Error(CodeMalformed, path, r,
			"a condition must be a mapping, got "+configspec.Describe(r),
			"write {field: name, operator: equals, value: x} or {all: [...]} / {any: [...]}"))
		return c
	}
	pairs, dups := configspec.Pairs(r, path)
	*fs = append(*fs, dups...)
	got := map[string]configspec.Pair{}
	for _, p := range pairs {
		switch p.Name {
		case "field", "operator", "value", "all", "any":
			got[p.Name] = p
		default:
			add(configspec.Error(CodeUnknownKey, configspec.Join(path, p.Name), p.Key,
				fmt.Sprintf("unknown condition key %q%s", p.Name, configspec.DidYouMean(p.Name, keys)),
				"a condition has field, operator and value, or all / any"))
		}
	}
	_, isAll := got["all"]
	_, isAny := got["any"]
	_, hasField := got["field"]
	_, hasOp := got["operator"]
	_, hasValue := got["value"]
	isLeaf := hasField || hasOp || hasValue
	switch {
	case (isAll || isAny) && isLeaf:
		add(configspec.Error(CodeMalformed, path, r,
			"a condition is either a test (field/operator/value) or a group (all/any), not both",
			"move the test into the group: all: [{field: ..., operator: ..., value: ...}, ...]"))
		return c
	case isAll && isAny:
		add(configspec.Error(CodeMalformed, path, r,
			"a condition cannot have both all and any",
			"nest one inside the other: all: [{any: [...]}, ...]"))
		return c
	case isAll:
		c.All = parseGroup(got["all"], path, depth, fs)
		return c
	case isAny:
		c.Any = parseGroup(got["any"], path, depth, fs)
		return c
	case !isLeaf:
		if len(pairs) == 0 {
			add(configspec.Error(CodeMalformed, path, r, "the condition is empty",
				"write {field: name, operator: equals, value: x}, or remove the condition"))
		}
		return c
	}
	parseLeaf(&c, got, r, path, fs)
	return c
}

func parseGroup(p configspec.Pair, path string, depth int, fs *[]Finding) []Condition {
	gpath := configspec.Join(path, p.Name)
	v := configspec.Resolve(p.Value)
	if v == nil || v.Kind != yaml.SequenceNode {
		*fs = append(*fs, configspec.Error(CodeMalformed, gpath, v,
			fmt.Sprintf("%s must be a list of conditions, got %s", p.Name, configspec.Describe(v)),
			fmt.Sprintf("write %s: [{field: a, operator: exists}, {field: b, operator: exists}]", p.Name)))
		return nil
	}
	if len(v.Content) == 0 {
		*fs = append(*fs, configspec.Error(CodeMalformed, gpath, v,
			fmt.Sprintf("%s is an empty group", p.Name),
			"list at least one condition, or remove the group"))
		return nil
	}
	out := make([]Condition, 0, len(v.Content))
	for i, item := range v.Content {
		out = append(out, parse(item, configspec.Index(gpath, i), depth+1, fs))
	}
	return out
}

func parseLeaf(c *Condition, got map[string]configspec.Pair, at *yaml.Node, path string, fs *[]Finding) {
	add := func(f Finding) { *fs = append(*fs, f) }

	fp, ok := got["field"]
	fv := configspec.Resolve(fp.Value)
	switch {
	case !ok || configspec.IsNull(fv):
		pos := at
		if ok {
			pos = fp.Key
		}
		add(configspec.Error(CodeMissingField, configspec.Join(path, "field"), pos,
			"the condition has no field", "add field: the payload key to test, e.g. field: url or field: metadata.lang"))
	case fv.Kind != yaml.ScalarNode:
		add(configspec.Error(CodeMissingField, configspec.Join(path, "field"), fv,
			"field must be a dotted path string, got "+configspec.Describe(fv), "write field: metadata.lang"))
	default:
		c.Field = fv.Value
		if err := checkFieldPath(c.Field); err != nil {
			add(configspec.Error(CodeMissingField, configspec.Join(path, "field"), fv, err.Error(),
				"write a dotted path without empty parts, e.g. metadata.lang or segments.0.text"))
		}
	}

	op, ok := got["operator"]
	ov := configspec.Resolve(op.Value)
	switch {
	case !ok || configspec.IsNull(ov):
		pos := at
		if ok {
			pos = op.Key
		}
		add(configspec.Error(CodeUnknownOperator, configspec.Join(path, "operator"), pos,
			"the condition has no operator", "add operator: one of "+strings.Join(operators, ", ")))
		return
	case ov.Kind != yaml.ScalarNode:
		add(configspec.Error(CodeUnknownOperator, configspec.Join(path, "operator"), ov,
			"operator must be a string, got "+configspec.Describe(ov), "use one of "+strings.Join(operators, ", ")))
		return
	}
	c.Operator = ov.Value
	if !isOperator(c.Operator) {
		hint := configspec.DidYouMean(c.Operator, operators)
		if s, ok := synonyms[strings.ToLower(c.Operator)]; ok {
			hint = fmt.Sprintf("; did you mean %q?", s)
		}
		add(configspec.Error(CodeUnknownOperator, configspec.Join(path, "operator"), ov,
			fmt.Sprintf("unknown operator %q%s", c.Operator, hint),
			"use one of "+strings.Join(operators, ", ")))
		return
	}

	vp, hasValue := got["value"]
	vpath := configspec.Join(path, "value")
	vn := configspec.Resolve(vp.Value)
	if hasValue {
		val, vfs := configspec.Value(vp.Value, vpath)
		*fs = append(*fs, vfs...)
		c.Value = val
	}
	missing := func(what, example string) {
		add(configspec.Error(CodeBadValue, vpath, at,
			fmt.Sprintf("operator %s needs %s as value", c.Operator, what),
			"add value: "+example))
	}
	wrong := func(what, example string) {
		add(configspec.Error(CodeBadValue, vpath, vn,
			fmt.Sprintf("operator %s needs %s as value, got %s", c.Operator, what, configspec.Describe(vn)),
			"write value: "+example))
	}
	switch c.Operator {
	case OpExists, OpNotExists:
		if hasValue {
			add(configspec.Warning(CodeIgnoredValue, vpath, vp.Key,
				fmt.Sprintf("operator %s takes no value; it is ignored", c.Operator),
				"remove value"))
			c.Value = nil
		}
	case OpEquals, OpNotEquals:
		if !hasValue {
			missing("the value to compare with", "en (use value: null to test for null)")
		}
	case OpIn, OpNotIn:
		switch {
		case !hasValue:
			missing("a list", "[a, b]")
		case vn == nil || vn.Kind != yaml.SequenceNode:
			wrong("a list", "[a, b]")
		}
	case OpContains:
		switch {
		case !hasValue || configspec.IsNull(vn):
			missing("a string, number or boolean", "draft")
		case vn.Kind != yaml.ScalarNode:
			wrong("a string, number or boolean", "draft")
		}
	case OpGT, OpGTE, OpLT, OpLTE:
		switch {
		case !hasValue:
			missing("a number", "10")
		case !isNumberNode(vn):
			ex := "10"
			if vn != nil && vn.Kind == yaml.ScalarNode && isNumberText(vn.Value) {
				ex = vn.Value + " (without quotes)"
			}
			wrong("a number", ex)
		}
	case OpMatches, OpNotMatches:
		switch {
		case !hasValue || configspec.IsNull(vn):
			missing("a regular expression", `"^https://"`)
		case vn.Kind != yaml.ScalarNode || vn.ShortTag() == "!!bool":
			wrong("a regular expression string", `"^https://"`)
		default:
			c.Value = vn.Value
			if _, err := regexp.Compile(vn.Value); err != nil {
				add(configspec.Error(CodeBadRegexp, vpath, vn,
					"invalid regular expression: "+strings.TrimPrefix(err.Error(), "error parsing regexp: "),
					`use RE2 syntax (no look-around or backreferences); in double quotes escape backslashes as \\, or use single quotes`))
			}
		}
	}
}

func isOperator(op string) bool {
	for _, o := range operators {
		if o == op {
			return true
		}
	}
	return false
}

func isNumberNode(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.ShortTag() {
	case "!!int":
		return true
	case "!!float":
		var f float64
		return n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return false
}

func checkFieldPath(field string) error {
	if strings.TrimSpace(field) == "" {
		return errors.New("field is empty")
	}
	for _, seg := range strings.Split(field, ".") {
		if seg == "" {
			return fmt.Errorf("field %q has an empty part", field)
		}
	}
	return nil
}

// Compile validates the condition and prepares it for Match (regular
// expressions, field paths). Parse compiles what it returns; conditions
// built in code or decoded from JSON should be compiled once before being
// shared between goroutines. Match works on uncompiled conditions too,
// only slower.
func (c *Condition) Compile() error {
	return c.compile("condition", 0)
}

func (c *Condition) compile(path string, depth int) error {
	if c == nil {
		return nil
	}
	if depth > MaxDepth {
		return fmt.Errorf("%s: conditions nest more than %d levels deep", path, MaxDepth)
	}
	isLeaf := c.Field != "" || c.Operator != ""
	switch {
	case isLeaf && (len(c.All) > 0 || len(c.Any) > 0):
		return fmt.Errorf("%s: a condition is either a test or a group, not both", path)
	case !isLeaf:
		var errs []error
		for i := range c.All {
			errs = append(errs, c.All[i].compile(fmt.Sprintf("%s.all[%d]", path, i), depth+1))
		}
		for i := range c.Any {
			errs = append(errs, c.Any[i].compile(fmt.Sprintf("%s.any[%d]", path, i), depth+1))
		}
		return errors.Join(errs...)
	}
	if err := checkFieldPath(c.Field); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !isOperator(c.Operator) {
		return fmt.Errorf("%s: unknown operator %q", path, c.Operator)
	}
	p := &prepared{segs: strings.Split(c.Field, ".")}
	switch c.Operator {
	case OpMatches, OpNotMatches:
		s, ok := c.Value.(string)
		if !ok {
			return fmt.Errorf("%s: operator %s needs a regular expression string", path, c.Operator)
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		p.re = re
	case OpIn, OpNotIn:
		if _, ok := asList(c.Value); !ok {
			return fmt.Errorf("%s: operator %s needs a list", path, c.Operator)
		}
	case OpGT, OpGTE, OpLT, OpLTE:
		if _, ok := asNumber(c.Value, false); !ok {
			return fmt.Errorf("%s: operator %s needs a number", path, c.Operator)
		}
	}
	c.compiled = p
	return nil
}

// prepared is what Compile stores in a leaf.
type prepared struct {
	segs []string
	re   *regexp.Regexp
}

func isNumberText(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}
