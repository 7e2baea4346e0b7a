package stomp

import "errors"

// Stable error codes of this provider; they appear in API problems, CLI
// output and the docs.
const (
	codeConnect     = "QUEUE_STOMP_CONNECT"
	codeBroker      = "QUEUE_STOMP_BROKER"
	codeManagement  = "QUEUE_STOMP_MANAGEMENT"
	codeInvalidName = "QUEUE_INVALID_NAME"
	codeTooLarge    = "QUEUE_MESSAGE_TOO_LARGE"
	codeClosed      = "QUEUE_CLOSED"
)

// ErrClosed is returned by calls on a closed provider.
var ErrClosed = &Error{Code: codeClosed, Hint: "the provider was closed; create a new one", Err: errors.New("stomp queue provider is closed")}

// Error is a failure with a stable code and a remediation hint.
type Error struct {
	Code string
	Hint string
	Err  error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func codedError(code, hint string, err error) error {
	return &Error{Code: code, Hint: hint, Err: err}
}
