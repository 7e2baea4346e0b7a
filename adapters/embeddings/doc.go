// Package embeddings holds embedding_generator, the adapter that makes
// segments searchable: it embeds each segment's text with one or more LLM
// embedding profiles (slots) and stores the segment, its document and its
// vectors through adapters.Deps.Segments.
//
// A route runs several messages at once, and embedding providers are far
// cheaper per text in batches, so the adapter gathers the segments of
// concurrent Process calls into micro-batches: one Embed call per slot and
// one Save per batch, each caller then getting its own answer. A batch
// fails or succeeds as a whole; the engine retries its messages one by one
// like any other failure.
package embeddings
