// Package pipeline loads and validates pipeline YAML (version "1.0").
//
// Load parses a document into a Pipeline and a Report of findings with
// stable codes, line/column, path and remediation. Defaults inherit from the
// top-level `defaults` block into every route; the reference system's
// spellings (top-level error_handling/backpressure, /queue/ prefixes,
// *_seconds/*_ms integer keys, dead_letter_queue strings) load unchanged,
// with W001 warnings naming the current spelling. Adapter configs are
// decoded by package configspec against the config types of a Catalog
// (*adapters.Registry), conditions by package condition.
//
// Routes are wired by queue: an edge A→B exists when an outbound queue of A
// is B's inbound queue (Edges). The loader checks the wiring: duplicate
// inbound queues, outbound queues nobody consumes, self-loops and cycles
// without allow_cycles, and routes the init message cannot reach.
//
// Catalogue lists every code with an example that the tests load, and
// docsite/pipeline-validation.md is generated from it; Schema exports the
// JSON Schema of the whole document for editors; ValidatePath validates a
// file or a directory of pipelines.
package pipeline
