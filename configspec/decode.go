package configspec

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Decode decodes node into a new value of type t (not a pointer) with
// every default applied, and reports what is wrong with the node. A nil or
// null node yields the defaults (and E302 for required fields). The value
// is usable even when findings hold errors: invalid entries keep their
// defaults. A nil t means "takes no config": any key is E301 and the value
// is nil.
func Decode(node *yaml.Node, t reflect.Type, path string) (any, []Finding) {
	if t == nil {
		var empty struct{}
		fs := DecodeInto(node, &empty, path)
		for i := range fs {
			if fs[i].Code == CodeUnknownField {
				fs[i].Message += "; this config takes no fields"
				fs[i].Remediation = "remove the key (or the whole config block)"
			}
		}
		return nil, fs
	}
	v := reflect.New(t).Elem()
	fs := applyDefaults(v, path)
	fs = append(fs, DecodeInto(node, v.Addr().Interface(), path)...)
	return v.Interface(), fs
}

// Defaults returns a value of type t (not a pointer) with every default
// applied. Invalid defaults (a bug in the spec, see Check) are left zero.
func Defaults(t reflect.Type) any {
	if t == nil {
		return nil
	}
	v := reflect.New(t).Elem()
	applyDefaults(v, "")
	return v.Interface()
}

// DecodeInto decodes node over the value dst points to. Keys absent from
// node keep dst's current values, which lets a caller layer settings
// (type defaults, then a defaults block, then a per-route override).
// Required fields are checked against the keys present in node.
func DecodeInto(node *yaml.Node, dst any, path string) []Finding {
	rv := reflect.ValueOf(dst)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
		return []Finding{Error(CodeInvalidConfig, path, node,
			fmt.Sprintf("cannot decode into %T; a non-nil pointer is required", dst),
			"this is a bug in the caller")}
	}
	if fs := CheckNode(node, path); len(fs) > 0 {
		return fs
	}
	d := &decoder{}
	v := rv.Elem()
	if IsNull(node) && isPlainStruct(v.Type()) {
		// An absent config still has to satisfy its required fields.
		d.structValue(nil, node, v, path)
		return d.findings
	}
	d.value(node, v, path, nil, 0)
	return d.findings
}

func isPlainStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t != durationType && !isDecoder(t)
}

type decoder struct {
	findings []Finding
}

func (d *decoder) add(f Finding) { d.findings = append(d.findings, f) }

func (d *decoder) errorCount() int {
	n := 0
	for _, f := range d.findings {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}

func (d *decoder) wrongType(path string, n *yaml.Node, want, remediation string) {
	if remediation == "" {
		remediation = "write " + want
	}
	d.add(Error(CodeWrongType, path, n, fmt.Sprintf("expected %s, got %s", want, Describe(n)), remediation))
}

// value decodes n into v (addressable). c carries the constraints (bounds,
// enum) of the field being decoded, applied to scalars and list elements.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, c *fieldInfo, depth int) {
	if depth > maxDepth {
		d.add(Error(CodeAliasExpansion, path, n, "the value is nested too deeply", "flatten the structure"))
		return
	}
	r := Resolve(n)
	if IsNull(r) {
		return // null means "not set": keep the default
	}
	t := v.Type()
	if isDecoder(t) {
		nd, ok := v.Addr().Interface().(NodeDecoder)
		if ok {
			d.findings = append(d.findings, nd.DecodeYAMLNode(r, path)...)
		}
		return
	}
	if t == durationType {
		d.duration(r, v, path, c)
		return
	}
	switch t.Kind() {
	case reflect.String:
		d.stringValue(r, v, path, c)
	case reflect.Bool:
		if r.Kind != yaml.ScalarNode || r.ShortTag() != "!!bool" {
			d.wrongType(path, r, "true or false", "")
			return
		}
		var b bool
		if err := r.Decode(&b); err != nil {
			d.wrongType(path, r, "true or false", "")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.integer(r, v, path, c)
	case reflect.Float32, reflect.Float64:
		d.float(r, v, path, c)
	case reflect.Pointer:
		if v.IsNil() {
			nv := reflect.New(t.Elem())
			d.findings = append(d.findings, applyDefaults(nv.Elem(), path)...)
			d.value(r, nv.Elem(), path, c, depth+1)
			v.Set(nv)
			return
		}
		d.value(r, v.Elem(), path, c, depth+1)
	case reflect.Slice:
		if r.Kind != yaml.SequenceNode {
			d.wrongType(path, r, "a list", "write a YAML list, e.g. [a, b] or one `- item` per line")
			return
		}
		out := reflect.MakeSlice(t, 0, len(r.Content))
		for i, item := range r.Content {
			ev := reflect.New(t.Elem()).Elem()
			d.findings = append(d.findings, applyDefaults(ev, Index(path, i))...)
			d.value(item, ev, Index(path, i), c, depth+1)
			out = reflect.Append(out, ev)
		}
		v.Set(out)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			d.add(Error(CodeInvalidConfig, path, r, "the config spec uses a map without string keys", "this is a bug in the adapter spec"))
			return
		}
		if r.Kind != yaml.MappingNode {
			d.wrongType(path, r, "a mapping", "write key: value pairs")
			return
		}
		pairs, dups := Pairs(r, path)
		d.findings = append(d.findings, dups...)
		out := reflect.MakeMapWithSize(t, len(pairs))
		for _, p := range pairs {
			ev := reflect.New(t.Elem()).Elem()
			d.findings = append(d.findings, applyDefaults(ev, Join(path, p.Name))...)
			d.value(p.Value, ev, Join(path, p.Name), c, depth+1)
			out.SetMapIndex(reflect.ValueOf(p.Name).Convert(t.Key()), ev)
		}
		v.Set(out)
	case reflect.Struct:
		d.structValue(r, n, v, path)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.add(Error(CodeInvalidConfig, path, r, "the config spec uses an unsupported interface type "+t.String(), "this is a bug in the adapter spec"))
			return
		}
		var vfs []Finding
		val := value(r, path, &vfs, depth)
		d.findings = append(d.findings, vfs...)
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
	default:
		d.add(Error(CodeInvalidConfig, path, r, "the config spec uses an unsupported field type "+t.String(), "this is a bug in the adapter spec"))
	}
}

func (d *decoder) stringValue(r *yaml.Node, v reflect.Value, path string, c *fieldInfo) {
	if r.Kind != yaml.ScalarNode {
		d.wrongType(path, r, "a string", "")
		return
	}
	if r.ShortTag() == "!!bool" {
		d.wrongType(path, r, "a string", fmt.Sprintf("quote the value: %q", r.Value))
		return
	}
	if c != nil && len(c.enum) > 0 && !slices.Contains(c.enum, r.Value) {
		d.add(Error(CodeOutOfRange, path, r,
			fmt.Sprintf("%q is not one of %s%s", r.Value, strings.Join(c.enum, ", "), DidYouMean(r.Value, c.enum)),
			"use one of: "+strings.Join(c.enum, ", ")))
		return
	}
	v.SetString(r.Value)
}

func (d *decoder) integer(r *yaml.Node, v reflect.Value, path string, c *fieldInfo) {
	const want = "an integer"
	if r.Kind != yaml.ScalarNode {
		d.wrongType(path, r, want, "")
		return
	}
	var f float64
	var i int64
	var u uint64
	var isUint bool
	switch r.ShortTag() {
	case "!!int":
		if err := r.Decode(&i); err == nil {
			f = float64(i)
		} else if err := r.Decode(&u); err == nil {
			f, isUint = float64(u), true
		} else {
			d.add(Error(CodeOutOfRange, path, r, fmt.Sprintf("%s is too large for an integer", r.Value), "use a smaller number"))
			return
		}
	case "!!float":
		if err := r.Decode(&f); err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
			d.wrongType(path, r, want, "write a whole number")
			return
		}
		if math.Abs(f) >= 1<<63 {
			d.add(Error(CodeOutOfRange, path, r, fmt.Sprintf("%s is too large for an integer", r.Value), "use a smaller number"))
			return
		}
		i = int64(f)
	default:
		remediation := ""
		if _, err := strconv.ParseFloat(r.Value, 64); err == nil && r.Kind == yaml.ScalarNode {
			remediation = "remove the quotes: " + r.Value
		}
		d.wrongType(path, r, want, remediation)
		return
	}
	lo, hi := intRange(v.Kind())
	outside := f < lo || f > hi
	if isUint && v.Kind() >= reflect.Uint {
		outside = v.OverflowUint(u)
	}
	if outside {
		d.add(Error(CodeOutOfRange, path, r,
			fmt.Sprintf("%s is out of range for this field (%s..%s)", r.Value, formatNum(lo), formatNum(hi)),
			"use a value within the range"))
		return
	}
	if !d.inBounds(f, r, path, c, false) {
		return
	}
	switch {
	case isUint:
		v.SetUint(u)
	case v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uint64:
		v.SetUint(uint64(i))
	default:
		v.SetInt(i)
	}
}

func (d *decoder) float(r *yaml.Node, v reflect.Value, path string, c *fieldInfo) {
	if r.Kind != yaml.ScalarNode || (r.ShortTag() != "!!int" && r.ShortTag() != "!!float") {
		remediation := ""
		if _, err := strconv.ParseFloat(r.Value, 64); err == nil && r.Kind == yaml.ScalarNode {
			remediation = "remove the quotes: " + r.Value
		}
		d.wrongType(path, r, "a number", remediation)
		return
	}
	var f float64
	if err := r.Decode(&f); err != nil {
		d.wrongType(path, r, "a number", "")
		return
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || v.OverflowFloat(f) {
		d.add(Error(CodeOutOfRange, path, r, fmt.Sprintf("%s is not a usable number", r.Value), "use a finite number"))
		return
	}
	if !d.inBounds(f, r, path, c, false) {
		return
	}
	v.SetFloat(f)
}

func (d *decoder) duration(r *yaml.Node, v reflect.Value, path string, c *fieldInfo) {
	const want = "a duration such as 30s, 500ms or 1h30m"
	if r.Kind != yaml.ScalarNode || r.ShortTag() == "!!bool" {
		d.wrongType(path, r, want, "")
		return
	}
	var dur time.Duration
	switch r.ShortTag() {
	case "!!int", "!!float":
		// A bare number is the reference's seconds.
		var f float64
		if err := r.Decode(&f); err != nil {
			d.wrongType(path, r, want, "")
			return
		}
		var ok bool
		if dur, ok = scaleDuration(f, time.Second); !ok {
			d.add(Error(CodeOutOfRange, path, r, fmt.Sprintf("%s seconds is not a usable duration", r.Value), "use a duration such as 30s"))
			return
		}
		if f != 0 {
			d.add(Warning(CodeReferenceSpelling, path, r,
				fmt.Sprintf("a bare number is read as seconds (%s)", dur),
				fmt.Sprintf("write the unit: %s: %s", lastKey(path), dur)))
		}
	default:
		var err error
		dur, err = time.ParseDuration(strings.TrimSpace(r.Value))
		if err != nil {
			remediation := "use a number with a unit (ns, us, ms, s, m, h), e.g. 30s"
			if _, perr := strconv.ParseFloat(r.Value, 64); perr == nil {
				remediation = fmt.Sprintf("add a unit: %ss", r.Value)
			}
			d.wrongType(path, r, want, remediation)
			return
		}
	}
	if !d.inBounds(float64(dur), r, path, c, true) {
		return
	}
	v.SetInt(int64(dur))
}

// durationAlias decodes a reference spelling (<name>_seconds, <name>_ms).
func (d *decoder) durationAlias(p Pair, a durationAlias, v reflect.Value, path string) {
	aliasPath := Join(path, p.Name)
	r := Resolve(p.Value)
	if IsNull(r) {
		return
	}
	if r.Kind != yaml.ScalarNode || (r.ShortTag() != "!!int" && r.ShortTag() != "!!float") {
		d.wrongType(aliasPath, r, "a number", fmt.Sprintf("write %s: 30s", a.field.name))
		return
	}
	var f float64
	if err := r.Decode(&f); err != nil {
		d.wrongType(aliasPath, r, "a number", "")
		return
	}
	dur, ok := scaleDuration(f, a.unit)
	if !ok {
		d.add(Error(CodeOutOfRange, aliasPath, r, fmt.Sprintf("%s is not a usable duration", r.Value), "use a smaller value"))
		return
	}
	d.add(Warning(CodeReferenceSpelling, aliasPath, p.Key,
		fmt.Sprintf("%s is the reference spelling of %s", p.Name, a.field.name),
		fmt.Sprintf("write %s: %s", a.field.name, dur)))
	if !d.inBounds(float64(dur), r, aliasPath, a.field, true) {
		return
	}
	fieldByIndex(v, a.field.index).SetInt(int64(dur))
}

func scaleDuration(f float64, unit time.Duration) (time.Duration, bool) {
	ns := f * float64(unit)
	if math.IsNaN(ns) || math.IsInf(ns, 0) || math.Abs(ns) >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(math.Round(ns)), true
}

// inBounds checks x against the field's minimum and maximum (durations
// must also not be negative unless the spec allows it).
func (d *decoder) inBounds(x float64, r *yaml.Node, path string, c *fieldInfo, isDuration bool) bool {
	format := formatNum
	if isDuration {
		format = func(f float64) string { return time.Duration(f).String() }
	}
	if c == nil {
		if isDuration && x < 0 {
			d.add(Error(CodeOutOfRange, path, r, "a duration must not be negative", "use 0 or a positive duration"))
			return false
		}
		return true
	}
	lo := c.min
	if lo == nil && isDuration {
		lo = &bound{text: "0s", v: 0}
	}
	if lo != nil && x < lo.v {
		d.add(Error(CodeOutOfRange, path, r,
			fmt.Sprintf("%s is below the minimum %s", format(x), lo.text),
			fmt.Sprintf("use a value of at least %s", lo.text)))
		return false
	}
	if c.max != nil && x > c.max.v {
		d.add(Error(CodeOutOfRange, path, r,
			fmt.Sprintf("%s is above the maximum %s", format(x), c.max.text),
			fmt.Sprintf("use a value of at most %s", c.max.text)))
		return false
	}
	return true
}

func formatNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func lastKey(path string) string {
	if i := strings.LastIndexAny(path, ".]"); i >= 0 && path[i] == '.' {
		return path[i+1:]
	}
	return path
}

// structValue decodes mapping r into struct v. r nil means "absent": only
// required fields and Validate are checked. at positions findings about
// missing keys.
func (d *decoder) structValue(r, at *yaml.Node, v reflect.Value, path string) {
	if r != nil && r.Kind != yaml.MappingNode {
		d.wrongType(path, r, "a mapping", "write key: value pairs")
		return
	}
	if r != nil {
		at = r
	}
	info := infoFor(v.Type())
	errsBefore := d.errorCount()
	var pairs []Pair
	if r != nil {
		var dups []Finding
		pairs, dups = Pairs(r, path)
		d.findings = append(d.findings, dups...)
	}
	present := map[*fieldInfo]Pair{}
	for _, p := range pairs {
		f, canonical := info.byName[p.Name]
		alias, isAlias := info.aliases[p.Name]
		if isAlias {
			f = alias.field
		}
		if !canonical && !isAlias {
			d.add(Error(CodeUnknownField, Join(path, p.Name), p.Key,
				fmt.Sprintf("unknown field %q%s", p.Name, DidYouMean(p.Name, info.names())),
				unknownRemediation(info)))
			continue
		}
		if prev, dup := present[f]; dup {
			d.add(Error(CodeDuplicateKey, Join(path, p.Name), p.Key,
				fmt.Sprintf("%s sets the same field as %s (line %d)", p.Name, prev.Name, prev.Key.Line),
				fmt.Sprintf("keep only %s", f.name)))
			continue
		}
		present[f] = p
		if isAlias {
			d.durationAlias(p, alias, v, path)
		} else {
			d.value(p.Value, fieldByIndex(v, f.index), Join(path, p.Name), f, 0)
		}
	}
	for _, f := range info.fields {
		p, ok := present[f]
		if ok && !IsNull(p.Value) {
			continue
		}
		if !f.required {
			continue
		}
		pos := at
		msg := fmt.Sprintf("missing required field %q", f.name)
		if ok {
			pos = p.Key
			msg = fmt.Sprintf("required field %q is empty", f.name)
		}
		ex := f.example
		if ex == "" {
			ex = "..."
		}
		d.add(Error(CodeMissingField, Join(path, f.name), pos, msg, fmt.Sprintf("add %s: %s", f.name, ex)))
	}
	if d.errorCount() == errsBefore {
		if err := validate(v); err != nil {
			d.add(Error(CodeInvalidConfig, path, at, "invalid config: "+err.Error(), "change the values so that they agree with each other"))
		}
	}
}

func unknownRemediation(info *structInfo) string {
	if len(info.fields) == 0 {
		return "remove the key"
	}
	names := info.names()
	if len(names) > 12 {
		names = append(names[:12], "…")
	}
	return "remove the key or use one of: " + strings.Join(names, ", ")
}

func validate(v reflect.Value) error {
	if v.CanAddr() {
		if val, ok := v.Addr().Interface().(Validator); ok {
			return val.Validate()
		}
	}
	if val, ok := v.Interface().(Validator); ok {
		return val.Validate()
	}
	return nil
}

// fieldByIndex returns the field at index, allocating nothing: embedded
// structs are flattened only when they are values.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		v = v.Field(i)
	}
	return v
}

// applyDefaults sets every tagged default of struct v (and of its nested
// struct values). Invalid defaults are reported as E305 and left zero.
func applyDefaults(v reflect.Value, path string) []Finding {
	if !isPlainStruct(v.Type()) {
		return nil
	}
	var fs []Finding
	for _, f := range infoFor(v.Type()).fields {
		fv := fieldByIndex(v, f.index)
		if isPlainStruct(f.typ) {
			fs = append(fs, applyDefaults(fv, Join(path, f.name))...)
		}
		if f.hasDef {
			fs = append(fs, setDefault(f, fv, Join(path, f.name))...)
		}
	}
	return fs
}

// setDefault decodes f's default tag into v. Defaults are written the way
// YAML is, except that strings are taken verbatim and a list may be given
// as comma-separated items.
func setDefault(f *fieldInfo, v reflect.Value, path string) []Finding {
	bad := func(msg string) []Finding {
		return []Finding{Error(CodeInvalidConfig, path, nil,
			fmt.Sprintf("the config spec's default %q for %s is invalid: %s", f.def, f.name, msg),
			"this is a bug in the adapter spec")}
	}
	switch {
	case f.typ.Kind() == reflect.String:
		v.SetString(f.def)
		return nil
	case f.typ == durationType:
		dur, err := time.ParseDuration(f.def)
		if err != nil {
			return bad(err.Error())
		}
		v.SetInt(int64(dur))
		return nil
	}
	n, err := defaultNode(f)
	if err != nil {
		return bad(err.Error())
	}
	d := &decoder{}
	d.value(n, v, path, f, 0)
	for _, fd := range d.findings {
		if fd.Severity == SeverityError {
			return bad(fd.Message)
		}
	}
	return nil
}

func defaultNode(f *fieldInfo) (*yaml.Node, error) {
	text := strings.TrimSpace(f.def)
	if f.typ.Kind() == reflect.Slice && !strings.HasPrefix(text, "[") {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		if text != "" {
			for _, item := range strings.Split(text, ",") {
				seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: strings.TrimSpace(item)})
			}
		}
		return seq, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		return nil, err
	}
	return &n, nil
}
