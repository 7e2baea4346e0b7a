package core

import (
	"fmt"
	"strings"
)

// lookup returns the value at a dotted path (metadata.lang) of p.
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

// assign sets the value at a dotted path, creating maps on the way. A
// non-map value in the way is an error: overwriting it would lose data
// silently.
func assign(p map[string]any, path string, v any) error {
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

// remove deletes the value at a dotted path and returns it.
func remove(p map[string]any, path string) (any, bool) {
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

// validPath rejects a dotted field path with empty segments.
func validPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty field path")
	}
	for seg := range strings.SplitSeq(p, ".") {
		if seg == "" {
			return fmt.Errorf("field path %q has an empty segment", p)
		}
	}
	return nil
}

// deepCopy copies the maps and lists of a JSON-shaped value so that the
// copy can be edited without touching the original, which may be shared
// with sibling messages of a fan-out.
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
