package pulsar

import (
	"errors"

	"github.com/factflow/factflow/queue"
)

// Stable error codes of this provider; they appear in API problems, CLI
// output and the docs.
const (
	codeConnect     = "QUEUE_PULSAR_CONNECT"
	codeBroker      = "QUEUE_PULSAR_BROKER"
	codeManagement  = "QUEUE_PULSAR_MANAGEMENT"
	codeInvalidName = "QUEUE_INVALID_NAME"
	codeTooLarge    = "QUEUE_MESSAGE_TOO_LARGE"
	codeClosed      = "QUEUE_CLOSED"
)

// ErrClosed is returned by calls on a closed provider.
var ErrClosed = &Error{Code: codeClosed, Hint: "the provider was closed; create a new one", Err: errors.New("pulsar queue provider is closed")}

// Error is the providers' shared coded error.
type Error = queue.Error

func codedError(code, hint string, err error) error { return queue.Coded(code, hint, err) }
