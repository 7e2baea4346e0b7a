// Package search answers queries over the segments the pipelines indexed:
// semantic (pgvector cosine), hybrid (a weighted blend of cosine and
// full-text rank), RRF (reciprocal rank fusion of one or more vector
// lists and the full-text list) and multi-model (several embedding slots
// at once, with each slot's score kept).
//
// A query is embedded with the LLM profile recorded for the slot it
// searches, never with whatever profile happens to be the default: vectors
// of one slot are only comparable with vectors made the same way. When a
// request names no slot, the configured default is used, else the only
// slot there is; with several slots and no default the caller must choose.
//
// Errors a caller can act on are *store.Error values with SEARCH_* codes
// (invalid arguments, unknown slots); PGVECTOR_UNAVAILABLE from the store
// passes through unchanged.
package search
