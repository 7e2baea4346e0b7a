// Package condition evaluates the predicates of pipeline YAML
// (adapters[].condition and outbound[].condition) over message payloads.
package condition
