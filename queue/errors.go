package queue

// Error is a provider failure with a stable code (QUEUE_…) and a
// remediation hint, shared by every provider so that callers read them one
// way.
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

// CodeInvalidName: a queue, topic or execution name that some broker
// could not carry.
const CodeInvalidName = "QUEUE_INVALID_NAME"

// Coded wraps err with a code and a hint.
func Coded(code, hint string, err error) error {
	return &Error{Code: code, Hint: hint, Err: err}
}
