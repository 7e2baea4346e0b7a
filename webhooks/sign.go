package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is the replay window Verify uses when given none.
const DefaultTolerance = 5 * time.Minute

// SignaturePrefix starts every X-Factflow-Signature value.
const SignaturePrefix = "sha256="

// Sign returns the X-Factflow-Signature value of body sent at timestamp
// (unix seconds, as in X-Factflow-Timestamp).
func Sign(secret, timestamp string, body []byte) string {
	return SignaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received webhook: signature must be the HMAC of
// timestamp + "." + body under secret, and timestamp (unix seconds) within
// tolerance of now (DefaultTolerance when tolerance <= 0), which bounds
// replays of a captured request. Every failure matches ErrSignature.
func Verify(secret, timestamp string, body []byte, signature string, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return signatureError("timestamp %q is not unix seconds", timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return signatureError("timestamp is %s away from now, outside the %s tolerance", d.Round(time.Second), tolerance)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), SignaturePrefix)
	if !ok {
		return signatureError("signature does not start with %q", SignaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return signatureError("signature is not hex")
	}
	if !hmac.Equal(got, mac(secret, timestamp, body)) {
		return signatureError("signature does not match the body")
	}
	return nil
}
