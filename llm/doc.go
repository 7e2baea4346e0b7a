// Package llm gives the rest of Factflow embedding and completion clients
// by profile name, as configured in the app config's llm.providers[].
//
// A Registry validates the profiles once and hands out one client per
// profile, so every caller of a profile shares its concurrency limiter:
//
//   - openai, azure and openai_compatible profiles talk to OpenAI-style
//     HTTP APIs through go-openai and can both embed and complete;
//   - hashing is an offline embedder: deterministic feature hashing of
//     words. It is lexical, not semantic: texts that share words are near,
//     synonyms are not;
//   - extractive is an offline completer: it answers by quoting the
//     passages that best overlap the question, each with its citation.
//
// The offline profiles "hashing" and "extractive" always exist (unless the
// config defines profiles of those names) and are the defaults, so search
// and chat work with no keys and no network.
//
// Remote calls go through an AIMD limiter per profile (additive increase on
// success, halving on HTTP 429) and are retried with full-jitter
// exponential backoff when the failure is retryable or rate limited.
// Every failure is an *Error with a stable code and a hint; its text never
// contains the profile's API key.
package llm
