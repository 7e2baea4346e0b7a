package pipeline

import (
	"reflect"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline/condition"
)

// Schema returns the JSON Schema (2020-12) of a pipeline document. Every
// adapter type of cat contributes its config schema, selected by type with
// if/then, so editors can complete and check adapter configs. Reference
// spellings that the loader accepts with a warning are described as
// deprecated properties.
func Schema(cat Catalog) map[string]any {
	sub := func(t reflect.Type) map[string]any { return configspec.SubSchema(t) }
	cond := condition.Condition{}.JSONSchema()

	queueName := map[string]any{
		"type":        "string",
		"pattern":     `^(/queue/)?[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$`,
		"maxLength":   200,
		"description": "Logical, broker-neutral queue name (a leading /queue/ is accepted and stripped).",
	}
	ident := map[string]any{"type": "string", "pattern": identRe.String()}

	errorHandling := sub(reflect.TypeFor[errorHandlingSpec]())
	backpressure := sub(reflect.TypeFor[backpressureSpec]())
	breaker := sub(reflect.TypeFor[circuitBreakerSpec]())
	timeoutProps := sub(reflect.TypeFor[timeoutSpec]())["properties"].(map[string]any)

	var types []string
	if cat != nil {
		types = cat.Types()
	}
	typeSchema := map[string]any{"type": "string", "description": "Registered adapter type."}
	if len(types) > 0 {
		enum := make([]any, len(types))
		for i, t := range types {
			enum[i] = t
		}
		typeSchema["enum"] = enum
	}
	step := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"type":      typeSchema,
			"name":      withDoc(ident, "Step name (storage stage name); defaults to the type."),
			"config":    map[string]any{"type": "object", "description": "Adapter configuration (see the adapter's schema)."},
			"condition": withDoc(cond, "Skip the adapter for messages that do not match."),
		},
		"required":             []any{"type"},
		"additionalProperties": false,
	}
	var branches []any
	for _, t := range types {
		ct, _ := cat.ConfigType(t)
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": t}}, "required": []any{"type"}},
			"then": map[string]any{"properties": map[string]any{"config": sub(ct)}},
		})
	}
	if len(branches) > 0 {
		step["allOf"] = branches
	}
	stepOrName := map[string]any{"anyOf": []any{step, withDoc(typeSchema, "Shorthand for {type: …}.")}}

	outboundEntry := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"queue":     queueName,
			"condition": withDoc(cond, "Publish only messages that match."),
		},
		"required":             []any{"queue"},
		"additionalProperties": false,
	}
	outbound := map[string]any{
		"description": "Queues the route publishes to: a list of {queue, condition} or queue names, one entry, or one queue name.",
		"anyOf": []any{
			map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{outboundEntry, queueName}}},
			outboundEntry,
			queueName,
		},
	}

	inbound := sub(reflect.TypeFor[inboundSpec]())
	inbound["properties"].(map[string]any)["queue"] = withDoc(queueName, "Queue the route consumes.")

	routeProps := map[string]any{
		"name":        map[string]any{"type": "string", "description": "Human-readable label."},
		"description": map[string]any{"type": "string"},
		"inbound":     map[string]any{"anyOf": []any{inbound, queueName}},
		"adapters": map[string]any{
			"type": "array", "minItems": 1, "items": stepOrName,
			"description": "Adapters run in order on every message.",
		},
		"outbound":        outbound,
		"error_handling":  errorHandling,
		"backpressure":    backpressure,
		"circuit_breaker": breaker,
	}
	for k, v := range timeoutProps {
		routeProps[k] = v
	}
	for k, v := range sub(reflect.TypeFor[orderingSpec]())["properties"].(map[string]any) {
		routeProps[k] = v
	}
	route := map[string]any{
		"type":                 "object",
		"properties":           routeProps,
		"required":             []any{"inbound", "adapters"},
		"additionalProperties": false,
	}

	defaultsProps := map[string]any{
		"error_handling":  errorHandling,
		"backpressure":    backpressure,
		"circuit_breaker": breaker,
	}
	for k, v := range timeoutProps {
		defaultsProps[k] = v
	}

	return map[string]any{
		"$schema":     configspec.SchemaDialect,
		"title":       "Factflow pipeline",
		"description": "A pipeline: routes wired by queue, each running a chain of adapters.",
		"type":        "object",
		"properties": map[string]any{
			"version":     map[string]any{"const": SchemaVersion, "description": `Schema version; "1.0".`},
			"description": map[string]any{"type": "string"},
			"defaults": map[string]any{
				"type": "object", "properties": defaultsProps, "additionalProperties": false,
				"description": "Settings every route inherits; each key can be overridden per route.",
			},
			"routes": map[string]any{
				"type": "object", "minProperties": 1,
				"propertyNames":        ident,
				"additionalProperties": route,
				"description":          "Routes by route key.",
			},
			"init_message": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"route":   map[string]any{"type": "string", "description": "Route key whose inbound queue receives the seed."},
					"payload": map[string]any{"type": "object", "description": "First message body."},
				},
				"required":             []any{"route"},
				"additionalProperties": false,
			},
			"allow_cycles": map[string]any{"type": "boolean", "default": false, "description": "Allow routes to publish back to earlier routes."},
			"execution":    sub(reflect.TypeFor[executionSpec]()),
			"tests":        map[string]any{"description": "Pipeline tests (run by factflow config test)."},
			"error_handling": withDeprecated(errorHandling,
				"Reference spelling of defaults.error_handling."),
			"backpressure": withDeprecated(backpressure,
				"Reference spelling of defaults.backpressure."),
		},
		"required":             []any{"version", "routes"},
		"additionalProperties": false,
	}
}

// withDoc returns a shallow copy of s with a description.
func withDoc(s map[string]any, doc string) map[string]any {
	out := make(map[string]any, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	out["description"] = doc
	return out
}

func withDeprecated(s map[string]any, doc string) map[string]any {
	out := withDoc(s, doc)
	out["deprecated"] = true
	return out
}
