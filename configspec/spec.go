package configspec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// NodeDecoder is implemented (with a pointer receiver) by field types that
// decode themselves from YAML, such as pipeline conditions.
type NodeDecoder interface {
	DecodeYAMLNode(node *yaml.Node, path string) []Finding
}

// Validator is implemented by config types with cross-field rules. It runs
// after a struct decoded without errors; its error becomes finding E305.
type Validator interface {
	Validate() error
}

// SchemaProvider is implemented by types that describe their own JSON
// Schema (used for NodeDecoder types, whose YAML shape reflection cannot
// see).
type SchemaProvider interface {
	JSONSchema() map[string]any
}

var (
	durationType      = reflect.TypeFor[time.Duration]()
	nodeDecoderType   = reflect.TypeFor[NodeDecoder]()
	validatorType     = reflect.TypeFor[Validator]()
	schemaProvType    = reflect.TypeFor[SchemaProvider]()
	secondsSuffix     = "_seconds"
	millisSuffix      = "_ms"
	structInfoCache   sync.Map // reflect.Type -> *structInfo
	errNotStructField = errors.New("not a struct")
)

// fieldInfo is one config key as described by its tags.
type fieldInfo struct {
	name     string
	goName   string
	index    []int
	typ      reflect.Type
	def      string
	hasDef   bool
	required bool
	doc      string
	example  string
	enum     []string
	min, max *bound
	tagErr   error
}

// bound is a parsed minimum or maximum (durations in nanoseconds).
type bound struct {
	text string
	v    float64
}

// durationAlias is a reference spelling of a Duration field.
type durationAlias struct {
	field *fieldInfo
	unit  time.Duration
}

type structInfo struct {
	fields  []*fieldInfo
	byName  map[string]*fieldInfo
	aliases map[string]durationAlias
}

func (s *structInfo) names() []string {
	out := make([]string, 0, len(s.fields))
	for _, f := range s.fields {
		out = append(out, f.name)
	}
	return out
}

// infoFor returns the parsed description of struct type t (cached).
func infoFor(t reflect.Type) *structInfo {
	if v, ok := structInfoCache.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{byName: map[string]*fieldInfo{}, aliases: map[string]durationAlias{}}
	collectFields(t, nil, info, 0)
	for _, f := range info.fields {
		if f.typ != durationType {
			continue
		}
		for suffix, unit := range map[string]time.Duration{secondsSuffix: time.Second, millisSuffix: time.Millisecond} {
			alias := f.name + suffix
			if _, explicit := info.byName[alias]; !explicit {
				info.aliases[alias] = durationAlias{field: f, unit: unit}
			}
		}
	}
	v, _ := structInfoCache.LoadOrStore(t, info)
	return v.(*structInfo)
}

func collectFields(t reflect.Type, prefix []int, info *structInfo, depth int) {
	if depth > 8 {
		return
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, skip := jsonName(sf)
		if skip {
			continue
		}
		index := append(append([]int(nil), prefix...), i)
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			// Embedded structs are flattened, as encoding/json does.
			collectFields(sf.Type, index, info, depth+1)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = snakeCase(sf.Name)
		}
		if _, dup := info.byName[name]; dup {
			continue
		}
		f := &fieldInfo{name: name, goName: sf.Name, index: index, typ: sf.Type}
		parseTags(f, sf.Tag)
		info.fields = append(info.fields, f)
		info.byName[name] = f
	}
}

func jsonName(sf reflect.StructField) (name string, skip bool) {
	tag, ok := sf.Tag.Lookup("json")
	if !ok {
		return "", false
	}
	name, _, _ = strings.Cut(tag, ",")
	if name == "-" {
		return "", true
	}
	return name, false
}

func snakeCase(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func parseTags(f *fieldInfo, tag reflect.StructTag) {
	f.def, f.hasDef = tag.Lookup("default")
	f.doc = tag.Get("doc")
	f.example = tag.Get("example")
	if r := tag.Get("required"); r != "" {
		b, err := strconv.ParseBool(r)
		if err != nil {
			f.tagErr = errors.Join(f.tagErr, fmt.Errorf("required tag %q is not a boolean", r))
		}
		f.required = b
	}
	if e := tag.Get("enum"); e != "" {
		for _, v := range strings.Split(e, ",") {
			f.enum = append(f.enum, strings.TrimSpace(v))
		}
	}
	var err error
	if m, ok := tag.Lookup("minimum"); ok {
		if f.min, err = parseBound(f.typ, m); err != nil {
			f.tagErr = errors.Join(f.tagErr, fmt.Errorf("minimum: %w", err))
		}
	}
	if m, ok := tag.Lookup("maximum"); ok {
		if f.max, err = parseBound(f.typ, m); err != nil {
			f.tagErr = errors.Join(f.tagErr, fmt.Errorf("maximum: %w", err))
		}
	}
}

// scalarType is the type a bound or enum applies to: the field type, or
// the element type of a list or map.
func scalarType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t
}

func parseBound(t reflect.Type, s string) (*bound, error) {
	st := scalarType(t)
	if st == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, err
		}
		return &bound{text: s, v: float64(d)}, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, err
	}
	return &bound{text: s, v: v}, nil
}

// isDecoder reports whether *t implements NodeDecoder.
func isDecoder(t reflect.Type) bool {
	return t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(nodeDecoderType)
}

// Check reports mistakes in a config type's tags: unparsable bounds,
// defaults that do not decode, enums on non-strings and unsupported field
// types. Adapter packages call it from a test for every spec.
func Check(t reflect.Type) error {
	if t == nil {
		return nil
	}
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%s: %w", t, errNotStructField)
	}
	return check(t, map[reflect.Type]bool{})
}

func check(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	var errs []error
	for _, f := range infoFor(t).fields {
		if f.tagErr != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", t, f.goName, f.tagErr))
		}
		if len(f.enum) > 0 && scalarType(f.typ).Kind() != reflect.String {
			errs = append(errs, fmt.Errorf("%s.%s: enum on a non-string field", t, f.goName))
		}
		if err := supported(f.typ); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", t, f.goName, err))
		}
		if f.hasDef {
			v := reflect.New(f.typ).Elem()
			if fs := setDefault(f, v, ""); len(fs) > 0 {
				errs = append(errs, fmt.Errorf("%s.%s: default %q: %s", t, f.goName, f.def, fs[0].Message))
			}
		}
		for st := f.typ; ; st = st.Elem() {
			if st.Kind() == reflect.Struct && st != durationType && !isDecoder(st) {
				if err := check(st, seen); err != nil {
					errs = append(errs, err)
				}
				break
			}
			if st.Kind() != reflect.Pointer && st.Kind() != reflect.Slice && st.Kind() != reflect.Map {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func supported(t reflect.Type) error {
	if isDecoder(t) || t == durationType {
		return nil
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Struct:
		return nil
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return nil
		}
	case reflect.Pointer, reflect.Slice:
		return supported(t.Elem())
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("map keys must be strings, got %s", t.Key())
		}
		return supported(t.Elem())
	}
	return fmt.Errorf("unsupported field type %s", t)
}

// Field documents one config key (see Fields).
type Field struct {
	Name string `json:"name"`
	// Type is a human name: string, boolean, integer, number, duration,
	// list of T, map of T, object, any, or the type's own name.
	Type     string   `json:"type"`
	Default  string   `json:"default,omitempty"`
	Required bool     `json:"required,omitempty"`
	Doc      string   `json:"doc,omitempty"`
	Example  string   `json:"example,omitempty"`
	Minimum  string   `json:"minimum,omitempty"`
	Maximum  string   `json:"maximum,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	// Aliases are accepted reference spellings (timeout_seconds …).
	Aliases []string `json:"aliases,omitempty"`
	// Fields are the keys of a nested object (or of a list's objects).
	Fields []Field `json:"fields,omitempty"`
}

// Fields describes the keys of struct type t for documentation.
func Fields(t reflect.Type) []Field {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return fields(t, map[reflect.Type]bool{})
}

func fields(t reflect.Type, active map[reflect.Type]bool) []Field {
	if active[t] {
		return nil
	}
	active[t] = true
	defer delete(active, t)
	info := infoFor(t)
	out := make([]Field, 0, len(info.fields))
	for _, f := range info.fields {
		fd := Field{
			Name: f.name, Type: typeName(f.typ), Required: f.required, Doc: f.doc,
			Example: f.example, Enum: f.enum,
		}
		if f.hasDef {
			fd.Default = f.def
		}
		if f.min != nil {
			fd.Minimum = f.min.text
		}
		if f.max != nil {
			fd.Maximum = f.max.text
		}
		if f.typ == durationType {
			fd.Aliases = []string{f.name + secondsSuffix, f.name + millisSuffix}
		}
		if st := scalarType(f.typ); st.Kind() == reflect.Struct && st != durationType && !isDecoder(st) {
			fd.Fields = fields(st, active)
		}
		out = append(out, fd)
	}
	return out
}

func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	if isDecoder(t) {
		return strings.ToLower(t.Name())
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Struct:
		return "object"
	case reflect.Interface:
		return "any"
	}
	return t.String()
}

// intRange returns the bounds of an integer kind as float64 (for messages
// and range checks; exact for every bound a config would use).
func intRange(k reflect.Kind) (lo, hi float64) {
	switch k {
	case reflect.Int8:
		return math.MinInt8, math.MaxInt8
	case reflect.Int16:
		return math.MinInt16, math.MaxInt16
	case reflect.Int32:
		return math.MinInt32, math.MaxInt32
	case reflect.Int, reflect.Int64:
		return math.MinInt64, math.MaxInt64
	case reflect.Uint8:
		return 0, math.MaxUint8
	case reflect.Uint16:
		return 0, math.MaxUint16
	case reflect.Uint32:
		return 0, math.MaxUint32
	}
	return 0, math.MaxUint64
}
