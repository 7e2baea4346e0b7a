package adapters

import (
	"fmt"
	"math"
	"strings"

	"github.com/factflow/factflow/storage"
)

// Field paths are dotted (metadata.lang, segment.text): each segment names a
// key of a nested object. The helpers below are shared by every adapter
// family so that a path means the same thing in each config.

// ValidatePath rejects an empty path and a path with an empty segment.
func ValidatePath(path string) error {
	if path == "" {
		return fmt.Errorf("empty field path")
	}
	for seg := range strings.SplitSeq(path, ".") {
		if seg == "" {
			return fmt.Errorf("field path %q has an empty segment", path)
		}
	}
	return nil
}

// Lookup returns the value at path in p, and whether it is there.
func Lookup(p Payload, path string) (any, bool) {
	var cur any = p
	for seg := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Assign sets the value at path in p, creating the objects missing on the
// way (a nil value counts as missing). A value in the way that is not an
// object is an error: replacing it would lose data silently. p must not be
// nil.
func Assign(p Payload, path string, v any) error {
	segs := strings.Split(path, ".")
	m := p
	for i, seg := range segs[:len(segs)-1] {
		next, exists := m[seg]
		if !exists || next == nil {
			nm := map[string]any{}
			m[seg] = nm
			m = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is a %T, not an object", strings.Join(segs[:i+1], "."), next)
		}
		m = nm
	}
	m[segs[len(segs)-1]] = v
	return nil
}

// Remove deletes the value at path in p and returns it, with whether it was
// there.
func Remove(p Payload, path string) (any, bool) {
	segs := strings.Split(path, ".")
	m := p
	for _, seg := range segs[:len(segs)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	last := segs[len(segs)-1]
	v, ok := m[last]
	delete(m, last)
	return v, ok
}

// StringAt returns the string at path, or "" when it is missing or not a
// string.
func StringAt(p Payload, path string) string {
	v, _ := Lookup(p, path)
	s, _ := v.(string)
	return s
}

// IntOf reads a JSON number that may arrive as int (within a chain) or
// float64 (after a trip through the broker). A float64 counts only when it
// is integral and fits an int.
func IntOf(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		// -2^63 converts exactly; 2^63 would overflow.
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

// DeepCopy copies the maps and lists of a JSON-shaped value so that the
// copy can be edited without touching the original, which may be shared
// with sibling messages of a fan-out. A []map[string]any becomes []any, the
// shape it has after a JSON round trip.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = DeepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = DeepCopy(x)
		}
		return l
	case []map[string]any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = DeepCopy(x)
		}
		return l
	case []string:
		return append([]string(nil), t...)
	}
	return v
}

// ArtefactKey is the standard key of the artefact a stage wrote for a
// message: executions/<execution>/<route>/<stage>/<message><ext>.
func ArtefactKey(m Meta, ext string) string {
	return ArtefactKeyFor(m, m.CorrelationID, ext)
}

// ArtefactKeyFor is ArtefactKey with name in place of the message id, for
// a stage that writes several artefacts per message (a file per path).
func ArtefactKeyFor(m Meta, name, ext string) string {
	return storage.ExecutionKey(keyPart(m.ExecutionID), keyPart(m.Route), keyPart(m.Stage), keyPart(name), ext)
}

// keyPart keeps an artefact key valid when the engine left a part of the
// message's identity empty (an adapter run outside an execution).
func keyPart(s string) string {
	if s == "" {
		return "_"
	}
	return s
}
