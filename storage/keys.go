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
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q has an empty, '.' or '..' segment", ErrInvalidKey, key)
		}
		// A folder named like a sidecar would collide on disk with the
		// sidecar of its sibling object (a.meta.json/b next to a).
		if strings.HasSuffix(seg, MetaSuffix) {
			return fmt.Errorf("%w: segment %q of %q ends with the reserved suffix %s", ErrInvalidKey, seg, key, MetaSuffix)
		}
	}
	if path.Clean(key) != key {
		return fmt.Errorf("%w: %q is not a clean path", ErrInvalidKey, key)
	}
	return nil
}

// ValidatePrefix accepts "" or a key prefix that could not escape the root:
// every complete segment (up to the last slash) must be valid in a key, and
// the trailing partial segment, which only narrows names, must hold no
// forbidden characters. So "a/b", "a/b/" and ".." (matching "..x") pass,
// while "../", "/a" and "a//" do not.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLength {
		return fmt.Errorf("%w: prefix is %d bytes; the limit is %d", ErrInvalidKey, len(prefix), MaxKeyLength)
	}
	partial := prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if err := ValidateKey(prefix[:i]); err != nil {
			return fmt.Errorf("prefix %q: %w", prefix, err)
		}
		partial = prefix[i+1:]
	}
	if !utf8.ValidString(partial) {
		return fmt.Errorf("%w: prefix %q is not valid UTF-8", ErrInvalidKey, prefix)
	}
	for _, r := range partial {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: prefix %q holds a control character or backslash", ErrInvalidKey, prefix)
		}
	}
	return nil
}

// MetaSuffix marks the filesystem provider's metadata sidecars; it is
// reserved in every provider so keys stay portable.
const MetaSuffix = ".meta.json"

// ExecutionKey builds the standard artefact key
// executions/<execution>/<route>/<stage>/<message>[ext].
func ExecutionKey(execution, route, stage, message, ext string) string {
	return "executions/" + execution + "/" + route + "/" + stage + "/" + message + ext
}
