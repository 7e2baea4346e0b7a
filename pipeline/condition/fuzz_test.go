package condition_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline/condition"
)

var fuzzPayload = map[string]any{
	"url": "https://example.org", "n": 3, "f": 2.5, "tags": []any{"a", 1},
	"m": map[string]any{"k": "v", "l": []any{map[string]any{"x": nil}}},
}

// FuzzParse: Parse, Compile, Match and String never panic, and whatever
// Parse accepts without errors compiles.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"{field: url, operator: matches, value: '^https'}",
		"{all: [{field: n, operator: gt, value: 1}, {any: [{field: tags, operator: contains, value: a}]}]}",
		"{field: m.l.0.x, operator: not_exists}",
		"{field: n, operator: in, value: [1, 2, 3]}",
		"a: &a [*a]",
		"{field: x, operator: equals, value: {a: [1, {b: c}]}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var n yaml.Node
		if yaml.Unmarshal(data, &n) != nil {
			return
		}
		c, fs := condition.Parse(&n, "c")
		_ = c.String()
		c.Match(fuzzPayload)
		c.Match(nil)
		if c != nil && !configspec.HasErrors(fs) {
			if err := c.Compile(); err != nil {
				t.Fatalf("accepted condition does not compile: %v", err)
			}
		}
	})
}

// FuzzMatch: Match never panics on any payload, answers the same twice,
// and a JSON round trip of the condition does not change the answer.
func FuzzMatch(f *testing.F) {
	f.Add("{field: a.b, operator: equals, value: 1}", []byte(`{"a": {"b": 1.0}}`))
	f.Add("{field: a, operator: contains, value: x}", []byte(`{"a": ["x", "y"]}`))
	f.Add("{field: a.0, operator: matches, value: '^[0-9]+$'}", []byte(`{"a": [12]}`))
	f.Add("{any: [{field: a, operator: lt, value: 0.5}, {field: b, operator: not_in, value: [null]}]}", []byte(`{"a": "0.1", "b": null}`))
	f.Add("{field: a, operator: gte, value: 1e308}", []byte(`{"a": 1e309}`))
	f.Fuzz(func(t *testing.T, cond string, js []byte) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(cond), &n) != nil {
			return
		}
		c, fs := condition.Parse(&n, "c")
		if c == nil || configspec.HasErrors(fs) {
			return
		}
		for _, useNumber := range []bool{false, true} {
			dec := json.NewDecoder(bytes.NewReader(js))
			if useNumber {
				dec.UseNumber()
			}
			var p map[string]any
			if dec.Decode(&p) != nil {
				return
			}
			got := c.Match(p)
			if c.Match(p) != got {
				t.Fatal("Match is not deterministic")
			}
			raw, err := json.Marshal(c)
			if err != nil {
				return // e.g. values JSON cannot carry
			}
			var back condition.Condition
			if json.Unmarshal(raw, &back) != nil {
				t.Fatalf("condition JSON does not round trip: %s", raw)
			}
			_ = back.Match(p)
		}
	})
}
