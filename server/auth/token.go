package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// TokenPrefix starts every API token, so secret scanners and people can
// tell a Factflow token from a JWT or a password.
const TokenPrefix = "fft_"

// displayPrefixLen is how much of a token listings show.
const displayPrefixLen = len(TokenPrefix) + 6

// NewToken returns a new random API token, its hash and the prefix shown
// in listings.
func NewToken() (plain string, hash []byte, prefix string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, "", fmt.Errorf("generating a token: %w", err)
	}
	plain = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plain, HashToken(plain), plain[:displayPrefixLen], nil
}

// HashToken is the stored form of a token.
func HashToken(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// DisplayPrefix is the part of a token listings show: enough to tell
// tokens apart, far too little to guess the rest. Operator-chosen
// bootstrap tokens, which may be shorter, show only four characters.
func DisplayPrefix(plain string) string {
	if strings.HasPrefix(plain, TokenPrefix) && len(plain) > displayPrefixLen {
		return plain[:displayPrefixLen]
	}
	return plain[:min(4, len(plain))]
}

// ParseAuthorization reads an Authorization header value. It returns ""
// and no error when the header is absent, the bearer credential when it is
// "Bearer <credential>" (scheme case-insensitive), and an error otherwise,
// so a caller that sent something unusable is told rather than treated
// as anonymous.
func ParseAuthorization(header string) (string, error) {
	if header == "" {
		return "", nil
	}
	if len(header) > 8192 {
		return "", unauthorized(CodeAuthHeaderInvalid, "the Authorization header is too long",
			"send \"Authorization: Bearer <token>\"")
	}
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", unauthorized(CodeAuthHeaderInvalid, "the Authorization header is not a Bearer credential",
			"send \"Authorization: Bearer <token>\"")
	}
	cred = strings.Trim(cred, " \t")
	if cred == "" || strings.ContainsAny(cred, " \t\r\n") || !printableASCII(cred) {
		return "", unauthorized(CodeAuthHeaderInvalid, "the bearer credential is empty or holds spaces or control characters",
			"send \"Authorization: Bearer <token>\" with the token exactly as issued")
	}
	return cred, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
