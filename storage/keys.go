package storage

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// MaxKeyLength is the longest key accepted (S3's limit).
const MaxKeyLength = 1024

// ValidateKey rejects keys that could escape a store's root or that some
// provider cannot hold: empty, absolute, "." or ".." segments, backslashes,
// NUL and other control characters, invalid UTF-8, and the reserved
// metadata sidecar suffix.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeyLength:
		return fmt.Errorf("%w: key is %d bytes; the limit is %d", ErrInvalidKey, len(key), MaxKeyLength)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key is not valid UTF-8", ErrInvalidKey)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: %q is absolute", ErrInvalidKey, key)
	case strings.HasSuffix(key, "/"):
		return fmt.Errorf("%w: %q ends with a slash", ErrInvalidKey, key)
	case strings.HasSuffix(key, MetaSuffix):
		return fmt.Errorf("%w: %q ends with the reserved suffix %s", ErrInvalidKey, key, MetaSuffix)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: %q holds a control character or backslash", ErrInvalidKey, key)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q has an empty, '.' or '..' segment", ErrInvalidKey, key)
		}
	}
	if path.Clean(key) != key {
		return fmt.Errorf("%w: %q is not a clean path", ErrInvalidKey, key)
	}
	return nil
}

// ValidatePrefix accepts "" or a key prefix that could not escape the root.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/") + "x")
}

// MetaSuffix marks the filesystem provider's metadata sidecars; it is
// reserved in every provider so keys stay portable.
const MetaSuffix = ".meta.json"

// ExecutionKey builds the standard artefact key
// executions/<execution>/<route>/<stage>/<message>[ext].
func ExecutionKey(execution, route, stage, message, ext string) string {
	return "executions/" + execution + "/" + route + "/" + stage + "/" + message + ext
}
