package webhooks

import (
	"errors"
	"fmt"

	"github.com/factflow/factflow/store"
)

// Stable error codes of this package (store codes such as
// WEBHOOK_NOT_FOUND come from the store).
const (
	CodeURLInvalid       = "WEBHOOK_URL_INVALID"
	CodeTargetForbidden  = "WEBHOOK_TARGET_FORBIDDEN"
	CodeEventTypeInvalid = "WEBHOOK_EVENT_TYPE_INVALID"
	CodeKeyInvalid       = "WEBHOOK_KEY_INVALID"
	CodeSecretUnreadable = "WEBHOOK_SECRET_UNREADABLE"
	CodeSignatureInvalid = "WEBHOOK_SIGNATURE_INVALID"
)

// ErrSignature is matched (errors.Is) by every Verify failure.
var ErrSignature = errors.New("webhook signature verification failed")

func invalid(code, msg, hint string) error {
	return &store.Error{Code: code, Kind: store.ErrInvalidArgument, Msg: msg, Hint: hint}
}

func signatureError(format string, args ...any) error {
	return &store.Error{Code: CodeSignatureInvalid, Kind: ErrSignature, Msg: fmt.Sprintf(format, args...),
		Hint: "check the shared secret and that the body is verified byte for byte as received"}
}
