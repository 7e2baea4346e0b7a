// Package llmadapters holds the adapters that call a completion profile of
// the LLM registry: llm_transform (a prompt template over payload fields)
// and llm_translator (translation that keeps the Markdown structure).
//
// Adapters never talk to a provider themselves: they name a profile of the
// app config (llm.providers[]) and get a client from adapters.Deps.LLM, so
// the rate limiter, retries and secrets stay in one place. Outcome maps the
// registry's error classes onto the engine's: rate limited becomes a
// retry-after, retryable stays retryable, terminal goes to the dead-letter
// queue at once.
package llmadapters
