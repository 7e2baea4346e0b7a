package condition

// schemaDepth is how many levels of all/any nesting the JSON Schema spells
// out; deeper groups are accepted as plain objects (the loader still
// checks them). A fixed expansion keeps the schema free of $ref, so it can
// be embedded anywhere.
const schemaDepth = 3

// JSONSchema describes a condition as JSON Schema 2020-12 (used by package
// configspec for adapter configs and by the pipeline schema).
func (Condition) JSONSchema() map[string]any {
	return conditionSchema(schemaDepth)
}

func conditionSchema(depth int) map[string]any {
	ops := make([]any, len(operators))
	for i, o := range operators {
		ops[i] = o
	}
	leaf := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"field":    map[string]any{"type": "string", "minLength": 1, "description": "Dotted path into the payload, e.g. metadata.lang or segments.0.text."},
			"operator": map[string]any{"enum": ops},
			"value":    map[string]any{"description": "Operand: a list for in/not_in, a number for gt/gte/lt/lte, an RE2 expression for matches/not_matches, none for exists/not_exists."},
		},
		"required":             []any{"field", "operator"},
		"additionalProperties": false,
	}
	if depth == 0 {
		return map[string]any{"type": "object", "description": "A condition (nesting beyond this depth is not spelled out)."}
	}
	member := conditionSchema(depth - 1)
	group := func(name string) map[string]any {
		return map[string]any{
			"type":                 "object",
			"properties":           map[string]any{name: map[string]any{"type": "array", "minItems": 1, "items": member}},
			"required":             []any{name},
			"additionalProperties": false,
		}
	}
	return map[string]any{
		"description": "A test {field, operator, value} or a group {all: [...]} / {any: [...]}.",
		"oneOf":       []any{leaf, group("all"), group("any")},
	}
}
