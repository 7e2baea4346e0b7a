package oidc

// Stable error codes. The API reports them unchanged, so callers and
// operators can act on them without parsing messages.
const (
	// CodeTokenMalformed: the string is not a well-formed JWT, or a claim
	// this package needs (exp, sub) is missing or has the wrong type.
	CodeTokenMalformed = "AUTH_TOKEN_MALFORMED"
	// CodeTokenExpired: exp lies in the past beyond the leeway.
	CodeTokenExpired = "AUTH_TOKEN_EXPIRED"
	// CodeTokenNotYetValid: nbf or iat lies in the future beyond the leeway.
	CodeTokenNotYetValid = "AUTH_TOKEN_NOT_YET_VALID"
	// CodeTokenSignatureInvalid: the signature does not verify with the key
	// the token names.
	CodeTokenSignatureInvalid = "AUTH_TOKEN_SIGNATURE_INVALID"
	// CodeTokenIssuerMismatch: iss is missing or not the configured issuer.
	CodeTokenIssuerMismatch = "AUTH_TOKEN_ISSUER_MISMATCH"
	// CodeTokenAudienceMismatch: aud is missing or names none of the
	// configured audiences.
	CodeTokenAudienceMismatch = "AUTH_TOKEN_AUDIENCE_MISMATCH"
	// CodeTokenKeyUnknown: the issuer's key set has no key for the token.
	CodeTokenKeyUnknown = "AUTH_TOKEN_KEY_UNKNOWN"
	// CodeTokenAlgorithmRefused: alg is not on the allow-list or does not
	// fit the key it names.
	CodeTokenAlgorithmRefused = "AUTH_TOKEN_ALGORITHM_REFUSED"
	// CodeJWKSUnavailable: the issuer's keys could not be fetched and none
	// are cached; the token may be fine, retrying later may succeed.
	CodeJWKSUnavailable = "AUTH_JWKS_UNAVAILABLE"
)

// Error is a refused token or an unreachable key set. Msg and Hint are safe
// to show to the caller: they never contain the token itself.
type Error struct {
	Code string
	Msg  string
	Hint string
	Err  error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func newError(code, msg, hint string, err error) *Error {
	return &Error{Code: code, Msg: msg, Hint: hint, Err: err}
}
