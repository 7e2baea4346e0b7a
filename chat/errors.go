package chat

import (
	"errors"
	"net/http"

	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
)

// Stable error codes.
const (
	CodeQueryInvalid     = "CHAT_QUERY_INVALID"
	CodeNotConfigured    = "CHAT_NOT_CONFIGURED"
	CodeGenerationFailed = "CHAT_GENERATION_FAILED"
	CodeThreadNotFound   = store.CodeChatThreadNotFound
)

// Error is a chat failure with a stable code, a hint and the HTTP status
// the API answers it with. Unwrap yields the cause (an *llm.Error for a
// failed generation, so its code and class stay reachable).
type Error struct {
	Code   string
	Msg    string
	Hint   string
	Status int
	// Class is the class of a generation failure (terminal otherwise).
	Class llm.Class
	Cause error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Msg
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

func invalid(msg, hint string) error {
	return &Error{Code: CodeQueryInvalid, Msg: msg, Hint: hint, Status: http.StatusBadRequest}
}

func notConfigured(msg, hint string) error {
	return &Error{Code: CodeNotConfigured, Msg: msg, Hint: hint, Status: http.StatusServiceUnavailable}
}

// generationFailed wraps a completion error, keeping its class: rate
// limits answer 429, passing failures 503, the rest 502 (the provider, not
// the client, failed).
func generationFailed(err error) error {
	class := llm.Classify(err)
	e := &Error{Code: CodeGenerationFailed, Msg: "generating the answer failed", Class: class, Cause: err}
	switch class {
	case llm.RateLimited:
		e.Status = http.StatusTooManyRequests
		e.Hint = "the completion provider is rate limiting; retry later"
	case llm.Retryable:
		e.Status = http.StatusServiceUnavailable
		e.Hint = "the completion provider failed transiently; retry"
	default:
		e.Status = http.StatusBadGateway
		e.Hint = "check the completion profile (model, key, endpoint); the cause names the provider's answer"
	}
	return e
}

// ErrorCode returns the stable code of err: its chat, llm or store code,
// or CHAT_FAILED when it carries none.
func ErrorCode(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	if c := llm.Code(err); c != "" {
		return c
	}
	if c := store.Code(err); c != "" {
		return c
	}
	return "CHAT_FAILED"
}
