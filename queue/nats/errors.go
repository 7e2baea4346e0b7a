package nats

import (
	"errors"

	"github.com/factflow/factflow/queue"
)

// Stable error codes of this provider; they appear in API problems, CLI
// output and the docs.
const (
	codeConnect       = "QUEUE_NATS_CONNECT"
	codeJetStream     = "QUEUE_NATS_JETSTREAM"
	codeInvalidName   = "QUEUE_INVALID_NAME"
	codeGroupConflict = "QUEUE_GROUP_CONFLICT"
	codeTooLarge      = "QUEUE_MESSAGE_TOO_LARGE"
	codeClosed        = "QUEUE_CLOSED"
	codeServer        = "QUEUE_NATS_SERVER"
)

// ErrClosed is returned by calls on a closed provider.
var ErrClosed = &Error{Code: codeClosed, Hint: "the provider was closed; create a new one", Err: errors.New("nats queue provider is closed")}

// Error is the providers' shared coded error.
type Error = queue.Error

func codedError(code, hint string, err error) error { return queue.Coded(code, hint, err) }
