package configspec

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SchemaDialect is the JSON Schema version of every schema produced here.
const SchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// DurationPattern matches what time.ParseDuration accepts: "0" or one or
// more decimal numbers each with a unit (ns, us, µs, ms, s, m, h), with an
// optional sign.
const DurationPattern = `^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// DurationSchema is the schema of a duration value.
func DurationSchema() map[string]any {
	return map[string]any{
		"type":    "string",
		"pattern": DurationPattern,
		"format":  "duration-go",
	}
}

// Schema returns a standalone JSON Schema (2020-12) for values of type t:
// types, defaults, bounds, enums, required keys, descriptions and examples,
// with additionalProperties false on every object so that unknown keys are
// flagged as the decoder flags them. A nil t describes an empty object.
func Schema(t reflect.Type) map[string]any {
	s := SubSchema(t)
	s["$schema"] = SchemaDialect
	return s
}

// SubSchema is Schema without the "$schema" keyword, for embedding in a
// larger schema.
func SubSchema(t reflect.Type) map[string]any {
	if t == nil {
		return map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false}
	}
	return typeSchema(t, map[reflect.Type]bool{})
}

func typeSchema(t reflect.Type, active map[reflect.Type]bool) map[string]any {
	if t.Kind() != reflect.Interface && t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(schemaProvType) {
		if sp, ok := reflect.New(t).Interface().(SchemaProvider); ok {
			return sp.JSONSchema()
		}
	}
	if t == durationType {
		return DurationSchema()
	}
	if isDecoder(t) {
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Int8, reflect.Int16, reflect.Int32,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		lo, hi := intRange(t.Kind())
		s := map[string]any{"type": "integer", "minimum": lo}
		if t.Kind() != reflect.Uint && t.Kind() != reflect.Uint64 {
			s["maximum"] = hi
		}
		return s
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Pointer:
		return typeSchema(t.Elem(), active)
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem(), active)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem(), active)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if active[t] {
			return map[string]any{"type": "object"}
		}
		active[t] = true
		defer delete(active, t)
		return structSchema(t, active)
	}
	return map[string]any{}
}

func structSchema(t reflect.Type, active map[reflect.Type]bool) map[string]any {
	info := infoFor(t)
	props := map[string]any{}
	var required []string
	for _, f := range info.fields {
		s := typeSchema(f.typ, active)
		target := s
		if f.typ.Kind() == reflect.Slice && len(f.enum) > 0 {
			if items, ok := s["items"].(map[string]any); ok {
				target = items
			}
		}
		if len(f.enum) > 0 {
			enum := make([]any, len(f.enum))
			for i, e := range f.enum {
				enum[i] = e
			}
			target["enum"] = enum
		}
		desc := f.doc
		if scalarType(f.typ) == durationType {
			desc = strings.TrimSpace(desc + " Go duration such as 30s, 500ms or 1h30m.")
			if f.min != nil {
				desc += " At least " + f.min.text + "."
			}
			if f.max != nil {
				desc += " At most " + f.max.text + "."
			}
		} else {
			if f.min != nil {
				target["minimum"] = f.min.v
			}
			if f.max != nil {
				target["maximum"] = f.max.v
			}
		}
		if desc != "" {
			s["description"] = desc
		}
		if f.hasDef {
			if dv, ok := jsonDefault(f); ok {
				s["default"] = dv
			}
		}
		if f.example != "" {
			s["examples"] = []any{exampleValue(f)}
		}
		props[f.name] = s
		if f.required {
			required = append(required, f.name)
		}
		if f.typ == durationType {
			props[f.name+secondsSuffix] = map[string]any{
				"type": "number", "minimum": 0, "deprecated": true,
				"description": "Reference spelling of " + f.name + " in seconds.",
			}
			props[f.name+millisSuffix] = map[string]any{
				"type": "number", "minimum": 0, "deprecated": true,
				"description": "Reference spelling of " + f.name + " in milliseconds.",
			}
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// jsonDefault renders a field's default as a JSON value.
func jsonDefault(f *fieldInfo) (any, bool) {
	if f.typ.Kind() == reflect.String || scalarType(f.typ) == durationType && f.typ.Kind() != reflect.Slice {
		return f.def, true
	}
	n, err := defaultNode(f)
	if err != nil {
		return nil, false
	}
	v, fs := Value(n, "")
	if len(fs) > 0 {
		return nil, false
	}
	if v == nil {
		if f.typ.Kind() == reflect.Slice {
			return []any{}, true
		}
		return nil, false
	}
	return v, true
}

func exampleValue(f *fieldInfo) any {
	if st := scalarType(f.typ); st.Kind() == reflect.String || st == durationType {
		if f.typ.Kind() != reflect.Slice {
			return f.example
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(f.example), &n); err != nil {
		return f.example
	}
	v, fs := Value(&n, "")
	if len(fs) > 0 || v == nil {
		return f.example
	}
	return v
}
