// Package adapters holds the adapter contract and registry.
//
// An Adapter owns only its business logic: Process(ctx, in) returns a Result
// or an error. The engine owns everything else — concurrency, retries,
// breakers, dead-lettering, acks and lineage. Errors are retryable unless
// marked with Permanent, RetryAfter or Skip.
//
// Each adapter type is described by a Spec whose config struct tags drive
// parsing, defaults, validation, docs and JSON Schema. Built-in families
// live in sub-packages (core, web, markdown, embeddings, llm), each exposing Specs().
package adapters
