// Package pipeline loads and validates pipeline YAML (version "1.0").
//
// Load parses a document into a Pipeline and a Report of findings with
// stable codes, line/column, path and remediation. Defaults inherit from the
// top-level `defaults` block into every route; the reference system's
// spellings (top-level error_handling/backpressure, /queue/ prefixes,
// *_seconds/*_ms integer keys, dead_letter_queue strings) load unchanged.
// Routes are wired by queue: an edge A→B exists when an outbound queue of A
// is B's inbound queue.
package pipeline
