package nats

import (
	"encoding/base64"
	"strings"

	"github.com/nats-io/nats.go"
)

// NATS headers are HTTP-like: keys are printable ASCII without separators,
// values lose surrounding whitespace and cannot hold line breaks, and keys
// starting with "Nats-" steer the server (deduplication, TTLs). Factflow
// headers are arbitrary strings, so what would not survive travels base64
// encoded behind a marker. Everything Factflow itself writes is plain and
// stays readable in NATS tools.
const (
	encodedKeyPrefix   = "Ff-B64-"
	encodedValuePrefix = "=?b64?"
)

var b64 = base64.RawURLEncoding

// encodeHeaders turns message headers into NATS headers, with id as the
// message id header. One backing array holds every value.
func encodeHeaders(h map[string]string, idKey, id string) nats.Header {
	out := make(nats.Header, len(h)+1)
	vals := make([]string, 0, len(h)+1)
	put := func(k, v string) {
		vals = append(vals, wireValue(v))
		n := len(vals)
		out[wireKey(k)] = vals[n-1 : n : n]
	}
	for k, v := range h {
		if k != idKey {
			put(k, v)
		}
	}
	put(idKey, id)
	return out
}

// decodeHeaders is the inverse of encodeHeaders.
func decodeHeaders(h nats.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		out[plainKey(k)] = plainValue(vs[0])
	}
	return out
}

func wireKey(k string) string {
	if plainKeyOK(k) {
		return k
	}
	return encodedKeyPrefix + b64.EncodeToString([]byte(k))
}

func plainKey(k string) string {
	if rest, ok := strings.CutPrefix(k, encodedKeyPrefix); ok {
		if b, err := b64.DecodeString(rest); err == nil {
			return string(b)
		}
	}
	return k
}

func wireValue(v string) string {
	if plainValueOK(v) {
		return v
	}
	return encodedValuePrefix + b64.EncodeToString([]byte(v))
}

func plainValue(v string) string {
	if rest, ok := strings.CutPrefix(v, encodedValuePrefix); ok {
		if b, err := b64.DecodeString(rest); err == nil {
			return string(b)
		}
	}
	return v
}

// plainKeyOK mirrors what nats.go accepts as a header key, minus the keys
// the server interprets and our own marker.
func plainKeyOK(k string) bool {
	if k == "" || strings.HasPrefix(k, encodedKeyPrefix) || len(k) >= 5 && strings.EqualFold(k[:5], "nats-") {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"()/,:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// plainValueOK: no control characters (line breaks would be replaced), no
// surrounding blanks (they would be trimmed), not our marker.
func plainValueOK(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' || strings.HasPrefix(v, encodedValuePrefix) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
