package adapters

import (
	"errors"
	"fmt"
	"time"
)

// PermanentError marks a failure that no retry can fix: the engine sends the
// message to the dead-letter queue at once.
type PermanentError struct{ Err error }

// Error is the wrapped error's text: the class is recorded separately.
func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Permanentf is Permanent(fmt.Errorf(...)).
func Permanentf(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// RetryAfterError asks the engine to retry no sooner than After (e.g. an
// HTTP 429 with Retry-After). It still counts as a failed attempt.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with a minimum retry delay.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: d}
}

// SkipError stops the chain for this message without failure: it is acked
// and nothing is published. Lineage records it as skipped with the reason.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns a SkipError.
func Skip(reason string) error { return &SkipError{Reason: reason} }

// Class is how the engine treats an adapter error.
type Class string

const (
	ClassNone       Class = ""
	ClassRetryable  Class = "retryable"
	ClassPermanent  Class = "permanent"
	ClassRetryAfter Class = "retry_after"
	ClassSkip       Class = "skip"
)

// Classify sorts an error into its Class; plain errors are retryable.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	var (
		p *PermanentError
		r *RetryAfterError
		s *SkipError
	)
	switch {
	case errors.As(err, &s):
		return ClassSkip
	case errors.As(err, &p):
		return ClassPermanent
	case errors.As(err, &r):
		return ClassRetryAfter
	}
	return ClassRetryable
}

// CodedError carries a stable error code and a remediation hint so that a
// failure reads the same in lineage, the CLI and the API.
type CodedError struct {
	Code string
	Hint string
	Err  error
}

func (e *CodedError) Error() string {
	s := e.Code + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}
func (e *CodedError) Unwrap() error { return e.Err }

// Coded wraps err with a code and hint (nil stays nil).
func Coded(code, hint string, err error) error {
	if err == nil {
		return nil
	}
	return &CodedError{Code: code, Hint: hint, Err: err}
}

// PermanentCoded is Permanent(Coded(code, hint, err)): the usual shape of
// a failure no retry can fix.
func PermanentCoded(code, hint string, err error) error {
	return Permanent(Coded(code, hint, err))
}
