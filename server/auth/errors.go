package auth

import "net/http"

// Stable error codes.
const (
	// CodeAuthRequired: the operation needs credentials and none came.
	CodeAuthRequired = "AUTH_REQUIRED"
	// CodeAuthHeaderInvalid: the Authorization header is not "Bearer <token>".
	CodeAuthHeaderInvalid = "AUTH_HEADER_INVALID"
	// CodeTokenInvalid: no API token matches.
	CodeTokenInvalid = "AUTH_TOKEN_INVALID"
	// CodeTokenExpired: the API token is past its expiry.
	CodeTokenExpired = "AUTH_TOKEN_EXPIRED"
	// CodeTokenRevoked: the API token was revoked.
	CodeTokenRevoked = "AUTH_TOKEN_REVOKED"
	// CodeUntrustedProxy: identity headers came from outside the proxy networks.
	CodeUntrustedProxy = "AUTH_UNTRUSTED_PROXY"
	// CodeScopeInsufficient: the caller is known but lacks the scope.
	CodeScopeInsufficient = "AUTH_SCOPE_INSUFFICIENT"
	// CodeScopeInvalid: a scope name is not read, write or admin.
	CodeScopeInvalid = "AUTH_SCOPE_INVALID"
	// CodeUnavailable: credentials could not be checked (database or
	// identity provider down); retrying later may succeed.
	CodeUnavailable = "AUTH_UNAVAILABLE"
	// CodeConfigInvalid: the auth section of the app config is wrong.
	CodeConfigInvalid = "AUTH_CONFIG_INVALID"
)

// Error is an authentication or authorization failure with the HTTP status
// it answers with.
type Error struct {
	Code   string
	Status int
	Msg    string
	Hint   string
	Err    error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Msg
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func unauthorized(code, msg, hint string) *Error {
	return &Error{Code: code, Status: http.StatusUnauthorized, Msg: msg, Hint: hint}
}
