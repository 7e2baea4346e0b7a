// Package condition evaluates the predicates of pipeline YAML
// (adapters[].condition, outbound[].condition and adapter configs such as
// the filter adapter's) over message payloads.
//
// A condition is a test {field, operator, value} or a group {all: [...]} /
// {any: [...]}. Parse reads one from YAML with findings (codes E401–E406,
// W401) and compiles it; Match evaluates it against a JSON-object payload
// and never panics, whatever the payload holds.
package condition
