package llmadapters

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/llm"
)

// Stable error codes of the LLM adapters (the registry's own LLM_* codes
// pass through unchanged).
const (
	CodeLLMNotConfigured   = "LLM_NOT_CONFIGURED"
	CodePromptFieldMissing = "PROMPT_FIELD_MISSING"
	CodeSourceMissing      = "LLM_SOURCE_MISSING"
	CodeInvalidJSON        = "LLM_OUTPUT_INVALID_JSON"
	CodePathConflict       = "PAYLOAD_PATH_CONFLICT"
)

// defaultRetryAfter is the pause asked for when a provider rate-limited
// the call without saying for how long.
const defaultRetryAfter = time.Second

// NotConfigured is the build error of an adapter that needs LLM profiles
// on a server that has none.
func NotConfigured(adapter string) error {
	return adapters.Coded(CodeLLMNotConfigured,
		"this server was started without an LLM registry; run it through the factflow server, which always provides the offline profiles (hashing, extractive) plus those of app config llm.providers",
		errors.New(adapter+" needs LLM profiles, and this server has none"))
}

// Outcome turns the error of an LLM call into the outcome the engine acts
// on: a rate limit waits for the limiter's pause, a retryable failure is
// retried, a terminal one (bad key, rejected request) is dead-lettered at
// once. Errors that are not the registry's are returned unchanged, which
// makes them retryable.
func Outcome(err error) error {
	if err == nil {
		return nil
	}
	var le *llm.Error
	if !errors.As(err, &le) {
		return err
	}
	coded := Recode(le.Code, le.Hint, err)
	if le.Code == llm.CodeCanceled || le.Code == llm.CodeTimeout ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The registry calls a cancelled or timed-out call terminal
		// because retrying it inside the same context is pointless; for
		// the engine it is a stopped route or a message timeout, and the
		// message must stay retryable.
		return coded
	}
	switch llm.Classify(err) {
	case llm.RateLimited:
		after := le.RetryAfter
		if after <= 0 {
			after = defaultRetryAfter
		}
		return adapters.RetryAfter(coded, after)
	case llm.Retryable:
		return coded
	default:
		return adapters.Permanent(coded)
	}
}

// Recode wraps err, which holds a coded error of another package (the LLM
// registry's or the store's), as an adapters.CodedError with that code and
// hint, so that lineage and the API show them. The inner error's own text
// repeats the code and the hint; they are dropped from the message once.
func Recode(code, hint string, err error) error {
	text := strings.Replace(err.Error(), code+": ", "", 1)
	if hint != "" {
		text = strings.Replace(text, " (hint: "+hint+")", "", 1)
	}
	return adapters.Coded(code, hint, &textError{text: text, err: err})
}

// textError is err with another text; errors.As and errors.Is still reach
// err's chain.
type textError struct {
	text string
	err  error
}

func (e *textError) Error() string { return e.text }
func (e *textError) Unwrap() error { return e.err }
