package markdown

import (
	"math"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
)

// lookup returns the value at a dotted path (segment.text) of p.
func lookup(p map[string]any, path string) (any, bool) {
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

// assign sets the value at a dotted path, creating maps on the way and
// replacing a non-map value that stands in the way.
func assign(p map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	m := p
	for _, seg := range segs[:len(segs)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	m[segs[len(segs)-1]] = v
}

// remove deletes the value at a dotted path.
func remove(p map[string]any, path string) {
	segs := strings.Split(path, ".")
	m := p
	for _, seg := range segs[:len(segs)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, segs[len(segs)-1])
}

// stringAt returns the string at path, or "" when it is missing or not a
// string.
func stringAt(p map[string]any, path string) string {
	v, _ := lookup(p, path)
	s, _ := v.(string)
	return s
}

// intOf reads a JSON number that may arrive as int (within a chain) or
// float64 (after a trip through the broker).
func intOf(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

// keyPart keeps an artefact key valid when the engine left a part of the
// message's identity empty (an adapter run outside an execution).
func keyPart(s string) string {
	if s == "" {
		return "_"
	}
	return s
}

// artefactKey is the standard key of the artefact a stage wrote for a
// message.
func artefactKey(m adapters.Meta, ext string) string {
	return storage.ExecutionKey(keyPart(m.ExecutionID), keyPart(m.Route), keyPart(m.Stage), keyPart(m.CorrelationID), ext)
}

// deepCopy copies the maps and lists of a JSON-shaped value so that the
// copy can be edited without touching the original.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	case []map[string]any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	case []string:
		return append([]string(nil), t...)
	}
	return v
}
