// Package chat answers questions from the indexed segments (retrieval-
// augmented generation) and keeps conversations in threads.
//
// A turn retrieves passages from one or more sources (embedding slots,
// optionally narrowed to executions or metadata), numbers them, and asks a
// completion profile to answer only from them, citing [n]. Citations in the
// answer map to Answer.Sources[n-1], which carries the segment, document,
// execution and storage keys, so a client can open what was cited.
//
// Retrieval strategies: merge queries every source in parallel and keeps
// the best weighted hits; sequential takes sources in order until enough
// hits are collected; ensemble fuses vector and full-text ranks (RRF) per
// source before merging.
//
// The default similarity threshold is 0, not the 0.7 some RAG stacks use:
// the offline hashing embeddings are lexical, and a passage sharing a few
// words with the question scores far below 0.7. Hits with no similarity at
// all (cosine <= 0) are never used. Set a threshold per source when the
// slot holds semantic embeddings.
//
// Streams emit "sources" first, then "text" deltas, then "done". An error
// after the first event is also emitted as an "error" event; an error
// before it (invalid request, unknown slot) is only returned, so the
// caller can still answer with a plain error response.
package chat
