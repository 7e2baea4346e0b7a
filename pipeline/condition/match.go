package condition

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Match reports whether payload satisfies the condition. A nil or empty
// condition matches everything; all requires every member to match, any
// at least one.
//
// Field is a dotted path into nested maps; a numeric part indexes a list
// (segments.0.text, negative counts from the end). Numbers compare
// numerically whatever their Go type (int, float64, json.Number …); for
// gt/gte/lt/lte a numeric string in the payload counts as a number.
// A missing field (or a null value) never satisfies equals, matches, in,
// contains or the comparisons, and each negated operator (not_equals,
// not_matches, not_in, not_exists) is exactly the negation of its
// positive form, so it is satisfied by a missing field. contains tests a
// substring of a string, an element of a list, or a key of a map.
//
// Match never panics and is safe for concurrent use once the condition
// is compiled.
func (c *Condition) Match(payload map[string]any) bool {
	if c == nil {
		return true
	}
	return c.match(payload, 0)
}

func (c *Condition) match(payload map[string]any, depth int) bool {
	if depth > MaxDepth {
		return false
	}
	for i := range c.All {
		if !c.All[i].match(payload, depth+1) {
			return false
		}
	}
	if len(c.Any) > 0 {
		hit := false
		for i := range c.Any {
			if c.Any[i].match(payload, depth+1) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	if c.Field == "" && c.Operator == "" {
		return true
	}
	p, _ := c.compiled.(*prepared)
	var segs []string
	if p != nil {
		segs = p.segs
	} else {
		segs = strings.Split(c.Field, ".")
	}
	v, found := lookup(payload, segs)
	if found && v == nil {
		found = false
	}
	switch c.Operator {
	case OpExists:
		return found
	case OpNotExists:
		return !found
	case OpEquals:
		return equalsOp(v, found, c.Value)
	case OpNotEquals:
		return !equalsOp(v, found, c.Value)
	case OpMatches:
		return found && matches(c, p, v)
	case OpNotMatches:
		return !(found && matches(c, p, v))
	case OpIn:
		return found && in(v, c.Value)
	case OpNotIn:
		return !(found && in(v, c.Value))
	case OpContains:
		return found && contains(v, c.Value)
	case OpGT, OpGTE, OpLT, OpLTE:
		if !found {
			return false
		}
		a, ok := asNumber(v, true)
		if !ok {
			return false
		}
		b, ok := asNumber(c.Value, false)
		if !ok {
			return false
		}
		cmp, ok := compareNumbers(a, b)
		if !ok {
			return false
		}
		switch c.Operator {
		case OpGT:
			return cmp > 0
		case OpGTE:
			return cmp >= 0
		case OpLT:
			return cmp < 0
		default:
			return cmp <= 0
		}
	}
	return false
}

// equalsOp compares; value nil (written `value: null`) matches a missing
// or null field.
func equalsOp(v any, found bool, want any) bool {
	if want == nil {
		return !found
	}
	return found && equal(v, want, 0)
}

func matches(c *Condition, p *prepared, v any) bool {
	s, ok := scalarText(v)
	if !ok {
		return false
	}
	re := (*regexp.Regexp)(nil)
	if p != nil {
		re = p.re
	}
	if re == nil {
		pattern, ok := c.Value.(string)
		if !ok {
			return false
		}
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			return false
		}
	}
	return re.MatchString(s)
}

func in(v, list any) bool {
	l, ok := asList(list)
	if !ok {
		return false
	}
	for _, e := range l {
		if equal(v, e, 0) {
			return true
		}
	}
	return false
}

func contains(v, want any) bool {
	switch x := v.(type) {
	case string:
		s, ok := scalarText(want)
		return ok && strings.Contains(x, s)
	}
	if l, ok := asList(v); ok {
		for _, e := range l {
			if equal(e, want, 0) {
				return true
			}
		}
		return false
	}
	if m, ok := asMap(v); ok {
		k, isStr := want.(string)
		if !isStr {
			return false
		}
		_, has := m[k]
		return has
	}
	return false
}

// lookup walks segs through nested maps and lists. A map key that itself
// contains dots is found too (the longest remaining path is tried when
// the single part is absent).
func lookup(root map[string]any, segs []string) (any, bool) {
	var cur any = root
	for i := 0; i < len(segs); i++ {
		if m, ok := asMap(cur); ok {
			v, has := m[segs[i]]
			if !has {
				for j := len(segs); j > i+1; j-- {
					if v2, ok := m[strings.Join(segs[i:j], ".")]; ok {
						v, has, i = v2, true, j-1
						break
					}
				}
			}
			if !has {
				return nil, false
			}
			cur = v
			continue
		}
		if l, ok := asList(cur); ok {
			idx, err := strconv.Atoi(segs[i])
			if err != nil {
				return nil, false
			}
			if idx < 0 {
				idx += len(l)
			}
			if idx < 0 || idx >= len(l) {
				return nil, false
			}
			cur = l[idx]
			continue
		}
		return nil, false
	}
	return cur, true
}

// asMap returns v as a string-keyed map (any map whose keys are strings).
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		out[iter.Key().String()] = iter.Value().Interface()
	}
	return out, true
}

// asList returns v as a list (any slice or array except bytes).
func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case nil, []byte, json.RawMessage:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// number is a numeric value kept exact for integers.
type number struct {
	isInt bool
	i     int64
	f     float64
}

// asNumber converts Go numeric types and json.Number; with fromString, a
// numeric string too.
func asNumber(v any, fromString bool) (number, bool) {
	switch x := v.(type) {
	case int:
		return number{isInt: true, i: int64(x)}, true
	case int8:
		return number{isInt: true, i: int64(x)}, true
	case int16:
		return number{isInt: true, i: int64(x)}, true
	case int32:
		return number{isInt: true, i: int64(x)}, true
	case int64:
		return number{isInt: true, i: x}, true
	case uint:
		return fromUint(uint64(x)), true
	case uint8:
		return number{isInt: true, i: int64(x)}, true
	case uint16:
		return number{isInt: true, i: int64(x)}, true
	case uint32:
		return number{isInt: true, i: int64(x)}, true
	case uint64:
		return fromUint(x), true
	case float32:
		return fromFloat(float64(x))
	case float64:
		return fromFloat(x)
	case json.Number:
		return parseNumber(string(x))
	case string:
		if fromString {
			return parseNumber(strings.TrimSpace(x))
		}
	}
	return number{}, false
}

func fromUint(u uint64) number {
	if u > math.MaxInt64 {
		return number{f: float64(u)}
	}
	return number{isInt: true, i: int64(u)}
}

func fromFloat(f float64) (number, bool) {
	if math.IsNaN(f) {
		return number{}, false
	}
	return number{f: f}, true
}

func parseNumber(s string) (number, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return number{isInt: true, i: i}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return number{}, false
	}
	return fromFloat(f)
}

// compareNumbers returns -1, 0 or 1; integers compare exactly.
func compareNumbers(a, b number) (int, bool) {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1, true
		case a.i > b.i:
			return 1, true
		}
		return 0, true
	}
	x, y := a.f, b.f
	if a.isInt {
		x = float64(a.i)
	}
	if b.isInt {
		y = float64(b.i)
	}
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return 0, false
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// equal is deep equality in which numbers compare numerically and lists
// and maps of any Go type compare element-wise.
func equal(a, b any, depth int) bool {
	if depth > 64 {
		return false
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if x, ok := asNumber(a, false); ok {
		y, ok := asNumber(b, false)
		if !ok {
			return false
		}
		cmp, ok := compareNumbers(x, y)
		return ok && cmp == 0
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	if la, ok := asList(a); ok {
		lb, ok := asList(b)
		if !ok || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !equal(la[i], lb[i], depth+1) {
				return false
			}
		}
		return true
	}
	if ma, ok := asMap(a); ok {
		mb, ok := asMap(b)
		if !ok || len(ma) != len(mb) {
			return false
		}
		for k, va := range ma {
			vb, has := mb[k]
			if !has || !equal(va, vb, depth+1) {
				return false
			}
		}
		return true
	}
	// Other types (named strings, structs): same type and value.
	ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
	if ra.Kind() == reflect.String && rb.Kind() == reflect.String {
		return ra.String() == rb.String()
	}
	if ra.Type() != rb.Type() || !ra.Type().Comparable() {
		return false
	}
	return safeEqual(ra, rb)
}

// safeEqual compares comparable values; interface-typed struct fields can
// still hold incomparable values, which would panic.
func safeEqual(a, b reflect.Value) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a.Equal(b)
}

// scalarText renders a string, number or boolean as text (for matches and
// substring tests).
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return string(x), true
	}
	if n, ok := asNumber(v, false); ok {
		if n.isInt {
			return strconv.FormatInt(n.i, 10), true
		}
		return strconv.FormatFloat(n.f, 'f', -1, 64), true
	}
	if rv := reflect.ValueOf(v); rv.IsValid() && rv.Kind() == reflect.String {
		return rv.String(), true
	}
	return "", false
}

// String renders the condition compactly (for logs and graph labels).
func (c *Condition) String() string {
	if c == nil {
		return "always"
	}
	var parts []string
	group := func(name string, cs []Condition) {
		items := make([]string, len(cs))
		for i := range cs {
			items[i] = cs[i].String()
		}
		parts = append(parts, name+"("+strings.Join(items, ", ")+")")
	}
	if len(c.All) > 0 {
		group("all", c.All)
	}
	if len(c.Any) > 0 {
		group("any", c.Any)
	}
	if c.Field != "" || c.Operator != "" {
		s := c.Field + " " + c.Operator
		if c.Operator != OpExists && c.Operator != OpNotExists {
			s += " " + formatValue(c.Value)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "always"
	}
	return strings.Join(parts, " and ")
}

func formatValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
