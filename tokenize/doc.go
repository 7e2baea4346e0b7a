// Package tokenize counts and splits text in BPE tokens with the
// cl100k_base vocabulary, the one used by current OpenAI chat and embedding
// models.
//
// The vocabulary is compiled into the binary, so counting works offline:
// nothing is downloaded at run time. The encoder is built once, on first
// use, and is safe for concurrent use.
package tokenize
