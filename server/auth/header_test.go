package auth_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/factflow/factflow/server/auth"
)

// asAuthError asserts err is an *auth.Error with status and code.
func asAuthError(t *testing.T, err error, status int, code string) *auth.Error {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("error = %d %s (%v), want %d %s", ae.Status, ae.Code, ae, status, code)
	}
	return ae
}

func TestParseAuthorization(t *testing.T) {
	long := "Bearer " + strings.Repeat("a", 8193)
	atLimit := "Bearer " + strings.Repeat("b", 8192-len("Bearer "))
	tests := []struct {
		name, header, want string
		fails              bool
	}{
		{name: "absent", header: "", want: ""},
		{name: "bearer", header: "Bearer fft_abc", want: "fft_abc"},
		{name: "lower scheme", header: "bearer fft_abc", want: "fft_abc"},
		{name: "upper scheme", header: "BEARER fft_abc", want: "fft_abc"},
		{name: "mixed scheme", header: "bEaReR fft_abc", want: "fft_abc"},
		{name: "extra spaces", header: "Bearer    fft_abc   ", want: "fft_abc"},
		{name: "tabs around", header: "Bearer \t fft_abc\t\t", want: "fft_abc"},
		{name: "jwt", header: "Bearer aaa.bbb.ccc", want: "aaa.bbb.ccc"},
		{name: "token68 padding", header: "Bearer abc+/==", want: "abc+/=="},
		{name: "at the length limit", header: atLimit, want: strings.Repeat("b", 8192-len("Bearer "))},
		{name: "basic", header: "Basic c2VjcmV0Y3JlZA==", fails: true},
		{name: "bearer alone", header: "Bearer", fails: true},
		{name: "bearer and space", header: "Bearer ", fails: true},
		{name: "bearer and blanks", header: "Bearer  \t ", fails: true},
		{name: "no space after scheme", header: "Bearersecretcred", fails: true},
		{name: "tab after scheme", header: "Bearer\tsecretcred", fails: true},
		{name: "inner space", header: "Bearer secret cred", fails: true},
		{name: "inner tab", header: "Bearer secret\tcred", fails: true},
		{name: "newline", header: "Bearer secret\ncred", fails: true},
		{name: "carriage return", header: "Bearer secret\rcred", fails: true},
		{name: "nul", header: "Bearer secret\x00cred", fails: true},
		{name: "del", header: "Bearer secret\x7fcred", fails: true},
		{name: "escape", header: "Bearer secret\x1bcred", fails: true},
		{name: "non-ascii", header: "Bearer secrétcred", fails: true},
		{name: "invalid utf-8", header: "Bearer secret\xffcred", fails: true},
		{name: "too long", header: long, fails: true},
		{name: "only a credential", header: "secretcred", fails: true},
		{name: "leading space", header: " Bearer secretcred", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.ParseAuthorization(tt.header)
			if !tt.fails {
				if err != nil || got != tt.want {
					t.Fatalf("ParseAuthorization(%q) = %q, %v; want %q", tt.header, got, err, tt.want)
				}
				return
			}
			if got != "" {
				t.Errorf("credential %q returned with an error", got)
			}
			if _, ok := err.(*auth.Error); !ok {
				t.Fatalf("error %v is %T, want *auth.Error", err, err)
			}
			ae := asAuthError(t, err, http.StatusUnauthorized, auth.CodeAuthHeaderInvalid)
			for _, secret := range []string{"secret", "c2VjcmV0Y3JlZA", "aaaa"} {
				if strings.Contains(ae.Error(), secret) || strings.Contains(ae.Hint, secret) {
					t.Errorf("error %q leaks the credential", ae.Error())
				}
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	plain, hash, prefix, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, auth.TokenPrefix) || auth.TokenPrefix != "fft_" {
		t.Errorf("token %q lacks the fft_ prefix", plain)
	}
	// 32 random bytes in unpadded base64url are 43 characters.
	if len(plain) != len("fft_")+43 {
		t.Errorf("token length = %d, want %d", len(plain), len("fft_")+43)
	}
	if _, err := auth.ParseAuthorization("Bearer " + plain); err != nil {
		t.Errorf("a new token is not a valid bearer credential: %v", err)
	}
	if strings.Contains(plain, ".") {
		t.Errorf("token %q has a dot and would pass for a JWT", plain)
	}
	want := sha256.Sum256([]byte(plain))
	if string(hash) != string(want[:]) {
		t.Errorf("hash is not the SHA-256 of the token")
	}
	if prefix != plain[:10] || prefix != auth.DisplayPrefix(plain) {
		t.Errorf("prefix = %q, want %q", prefix, plain[:10])
	}
	other, otherHash, _, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if other == plain || string(otherHash) == string(hash) {
		t.Errorf("two new tokens are the same: %q", plain)
	}
}

func TestHashToken(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 test vector.
	const want = "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23" +
		"\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10\xff\x61\xf2\x00\x15\xad"
	if got := auth.HashToken("abc"); string(got) != want {
		t.Errorf("HashToken(abc) = %x", got)
	}
	if string(auth.HashToken("a")) == string(auth.HashToken("b")) {
		t.Error("different tokens hash alike")
	}
}

func TestDisplayPrefix(t *testing.T) {
	tests := []struct{ plain, want string }{
		{"fft_abcdefghijklmnop", "fft_abcdef"},
		{"fft_abcdefg", "fft_abcdef"},
		{"fft_abcdef", "fft_"}, // no longer than the display prefix: show only four
		{"0123456789abcdef0123456789abcdef", "0123"},
		{"abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := auth.DisplayPrefix(tt.plain); got != tt.want {
			t.Errorf("DisplayPrefix(%q) = %q, want %q", tt.plain, got, tt.want)
		}
	}
}
