package condition_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline/condition"
)

func parse(t *testing.T, src string) (*condition.Condition, []configspec.Finding) {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &n))
	return condition.Parse(&n, "condition")
}

func mustParse(t *testing.T, src string) *condition.Condition {
	t.Helper()
	c, fs := parse(t, src)
	require.Empty(t, fs, "parsing %s", src)
	require.NotNil(t, c)
	return c
}

func payload(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &m))
	return m
}

const doc = `{
  "url": "https://docs.example.org/a",
  "status_code": 200,
  "ratio": 0.75,
  "big": "12",
  "draft": false,
  "nothing": null,
  "tags": ["go", "yaml", 3],
  "metadata": {"lang": "en", "depth": 2, "a.b": "dotted"},
  "segments": [{"text": "first", "tokens": 10}, {"text": "second", "tokens": 30}]
}`

func TestMatchOperators(t *testing.T) {
	t.Parallel()
	p := payload(t, doc)
	cases := []struct {
		cond string
		want bool
	}{
		{"{field: url, operator: equals, value: 'https://docs.example.org/a'}", true},
		{"{field: url, operator: equals, value: other}", false},
		{"{field: status_code, operator: equals, value: 200}", true},
		{"{field: status_code, operator: equals, value: 200.0}", true},
		{"{field: status_code, operator: equals, value: '200'}", false},
		{"{field: draft, operator: equals, value: false}", true},
		{"{field: tags, operator: equals, value: [go, yaml, 3]}", true},
		{"{field: metadata, operator: equals, value: {lang: en, depth: 2.0, a.b: dotted}}", true},
		{"{field: missing, operator: equals, value: null}", true},
		{"{field: nothing, operator: equals, value: null}", true},
		{"{field: url, operator: equals, value: null}", false},
		{"{field: missing, operator: equals, value: x}", false},
		{"{field: url, operator: not_equals, value: other}", true},
		{"{field: url, operator: not_equals, value: 'https://docs.example.org/a'}", false},
		{"{field: missing, operator: not_equals, value: x}", true},
		{"{field: url, operator: matches, value: '^https://docs\\.'}", true},
		{"{field: url, operator: matches, value: '^http://'}", false},
		{"{field: status_code, operator: matches, value: '^2\\d\\d$'}", true},
		{"{field: tags, operator: matches, value: go}", false},
		{"{field: missing, operator: matches, value: '.*'}", false},
		{"{field: url, operator: not_matches, value: '\\.pdf$'}", true},
		{"{field: url, operator: not_matches, value: example}", false},
		{"{field: missing, operator: not_matches, value: x}", true},
		{"{field: url, operator: exists}", true},
		{"{field: nothing, operator: exists}", false},
		{"{field: missing, operator: exists}", false},
		{"{field: missing, operator: not_exists}", true},
		{"{field: nothing, operator: not_exists}", true},
		{"{field: url, operator: not_exists}", false},
		{"{field: metadata.lang, operator: in, value: [en, de]}", true},
		{"{field: metadata.lang, operator: in, value: [fr, de]}", false},
		{"{field: status_code, operator: in, value: [200.0, 201]}", true},
		{"{field: missing, operator: in, value: [x]}", false},
		{"{field: metadata.lang, operator: not_in, value: [fr, de]}", true},
		{"{field: metadata.lang, operator: not_in, value: [en]}", false},
		{"{field: missing, operator: not_in, value: [x]}", true},
		{"{field: url, operator: contains, value: example}", true},
		{"{field: url, operator: contains, value: nope}", false},
		{"{field: tags, operator: contains, value: yaml}", true},
		{"{field: tags, operator: contains, value: 3.0}", true},
		{"{field: tags, operator: contains, value: rust}", false},
		{"{field: metadata, operator: contains, value: lang}", true},
		{"{field: metadata, operator: contains, value: title}", false},
		{"{field: status_code, operator: contains, value: 2}", false},
		{"{field: status_code, operator: gt, value: 199}", true},
		{"{field: status_code, operator: gt, value: 200}", false},
		{"{field: status_code, operator: gte, value: 200}", true},
		{"{field: status_code, operator: gte, value: 200.5}", false},
		{"{field: ratio, operator: lt, value: 1}", true},
		{"{field: ratio, operator: lt, value: 0.75}", false},
		{"{field: ratio, operator: lte, value: 0.75}", true},
		{"{field: ratio, operator: lte, value: 0.5}", false},
		{"{field: big, operator: gt, value: 9}", true},
		{"{field: url, operator: gt, value: 1}", false},
		{"{field: missing, operator: lt, value: 1}", false},
		{"{field: metadata.depth, operator: equals, value: 2}", true},
		{"{field: metadata.a.b, operator: equals, value: dotted}", true},
		{"{field: segments.1.text, operator: equals, value: second}", true},
		{"{field: segments.-1.tokens, operator: gt, value: 20}", true},
		{"{field: segments.2.text, operator: exists}", false},
		{"{field: segments.x.text, operator: exists}", false},
		{"{field: url.host, operator: exists}", false},
		{"{all: [{field: url, operator: exists}, {field: status_code, operator: lt, value: 300}]}", true},
		{"{all: [{field: url, operator: exists}, {field: status_code, operator: lt, value: 200}]}", false},
		{"{any: [{field: missing, operator: exists}, {field: draft, operator: equals, value: false}]}", true},
		{"{any: [{field: missing, operator: exists}, {field: draft, operator: equals, value: true}]}", false},
		{"{all: [{any: [{field: a, operator: exists}, {field: url, operator: exists}]}, {field: tags, operator: contains, value: go}]}", true},
	}
	for _, tc := range cases {
		t.Run(tc.cond, func(t *testing.T) {
			t.Parallel()
			c := mustParse(t, tc.cond)
			require.Equal(t, tc.want, c.Match(p))

			// The same condition after a JSON round trip (as stored in a
			// config snapshot), compiled or not, gives the same answer.
			raw, err := json.Marshal(c)
			require.NoError(t, err)
			var back condition.Condition
			require.NoError(t, json.Unmarshal(raw, &back))
			require.Equal(t, tc.want, back.Match(p), "uncompiled after JSON round trip")
			require.NoError(t, back.Compile())
			require.Equal(t, tc.want, back.Match(p), "compiled after JSON round trip")
		})
	}
}

func TestMatchNumberTypes(t *testing.T) {
	t.Parallel()
	gt := mustParse(t, "{field: n, operator: gt, value: 2}")
	eq := mustParse(t, "{field: n, operator: equals, value: 3}")
	for _, v := range []any{3, int8(3), int64(3), uint(3), uint64(3), float32(3), 3.0, json.Number("3"), json.Number("3.0")} {
		p := map[string]any{"n": v}
		require.True(t, gt.Match(p), "%T", v)
		require.True(t, eq.Match(p), "%T", v)
	}
	// Integers beyond float64 precision still compare exactly.
	exact := mustParse(t, "{field: n, operator: equals, value: 9007199254740993}")
	require.True(t, exact.Match(map[string]any{"n": int64(9007199254740993)}))
	require.False(t, exact.Match(map[string]any{"n": int64(9007199254740992)}))

	dec := json.NewDecoder(strings.NewReader(`{"n": 3, "l": [1, 2]}`))
	dec.UseNumber()
	var p map[string]any
	require.NoError(t, dec.Decode(&p))
	require.True(t, gt.Match(p))
	require.True(t, mustParse(t, "{field: l, operator: contains, value: 2}").Match(p))
	require.True(t, mustParse(t, "{field: l.1, operator: in, value: [2]}").Match(p))
}

func TestMatchGoTypes(t *testing.T) {
	t.Parallel()
	p := map[string]any{
		"labels": map[string]string{"env": "prod"},
		"names":  []string{"a", "b"},
		"rows":   []map[string]any{{"id": 7}},
	}
	require.True(t, mustParse(t, "{field: labels.env, operator: equals, value: prod}").Match(p))
	require.True(t, mustParse(t, "{field: names, operator: contains, value: b}").Match(p))
	require.True(t, mustParse(t, "{field: names.0, operator: equals, value: a}").Match(p))
	require.True(t, mustParse(t, "{field: rows.0.id, operator: gte, value: 7}").Match(p))
	require.True(t, mustParse(t, "{field: names, operator: equals, value: [a, b]}").Match(p))
}

func TestNilAndEmptyConditionsMatch(t *testing.T) {
	t.Parallel()
	var c *condition.Condition
	require.True(t, c.Match(nil))
	require.True(t, (&condition.Condition{}).Match(map[string]any{"a": 1}))
	parsed, fs := parse(t, "~")
	require.Nil(t, parsed)
	require.Empty(t, fs)
	require.Equal(t, "always", c.String())
}

func TestParseFindings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src, code, path string
		line, col       int
		contains        string
	}{
		{"{field: url, operator: matchs, value: x}", "E401", "condition.operator", 1, 24, `did you mean "matches"?`},
		{"{field: url, operator: '==', value: x}", "E401", "condition.operator", 1, 24, `did you mean "equals"?`},
		{"{field: url, value: x}", "E401", "condition.operator", 1, 1, "no operator"},
		{"{field: url, operator: [a]}", "E401", "condition.operator", 1, 24, "must be a string"},
		{"{operator: exists}", "E402", "condition.field", 1, 1, "no field"},
		{"{field: 'a..b', operator: exists}", "E402", "condition.field", 1, 9, "empty part"},
		{"{field: {a: 1}, operator: exists}", "E402", "condition.field", 1, 9, "dotted path"},
		{"{field: tags, operator: in, value: go}", "E403", "condition.value", 1, 36, "needs a list"},
		{"{field: tags, operator: in}", "E403", "condition.value", 1, 1, "needs a list"},
		{"{field: n, operator: gt, value: '5'}", "E403", "condition.value", 1, 33, "needs a number"},
		{"{field: n, operator: lte, value: .nan}", "E403", "condition.value", 1, 34, "needs a number"},
		{"{field: n, operator: equals}", "E403", "condition.value", 1, 1, "value to compare"},
		{"{field: n, operator: contains, value: [a]}", "E403", "condition.value", 1, 39, "string, number or boolean"},
		{"{field: n, operator: matches}", "E403", "condition.value", 1, 1, "regular expression"},
		{"{field: n, operator: matches, value: '(a'}", "E404", "condition.value", 1, 38, "missing closing )"},
		{"{field: n, operator: matches, value: '(?=x)'}", "E404", "condition.value", 1, 38, "invalid regular expression"},
		{"{field: n, operator: exists, all: [{field: a, operator: exists}]}", "E405", "condition", 1, 1, "not both"},
		{"{all: []}", "E405", "condition.all", 1, 7, "empty group"},
		{"{any: x}", "E405", "condition.any", 1, 7, "must be a list"},
		{"{all: [x]}", "E405", "condition.all[0]", 1, 8, "must be a mapping"},
		{"{all: [{field: a, operator: exists}], any: [{field: b, operator: exists}]}", "E405", "condition", 1, 1, "both all and any"},
		{"{}", "E405", "condition", 1, 1, "empty"},
		{"url matches x", "E405", "condition", 1, 1, "must be a mapping"},
		{"{field: a, operator: exists, valeu: 1}", "E406", "condition.valeu", 1, 30, `did you mean "value"?`},
		{"{field: a, operator: exists, value: 1}", "W401", "condition.value", 1, 30, "takes no value"},
		{"{field: a, field: b, operator: exists}", "E007", "condition.field", 1, 12, "more than once"},
		{"{all: [{any: [{field: a, operator: nope, value: 1}]}]}", "E401", "condition.all[0].any[0].operator", 1, 36, "unknown operator"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			_, fs := parse(t, tc.src)
			var hit *configspec.Finding
			for i := range fs {
				if fs[i].Code == tc.code {
					hit = &fs[i]
					break
				}
			}
			require.NotNil(t, hit, "want %s, got %v", tc.code, fs)
			require.Equal(t, tc.path, hit.Path)
			require.Equal(t, tc.line, hit.Line, "%v", hit)
			require.Equal(t, tc.col, hit.Column, "%v", hit)
			require.Contains(t, hit.Message, tc.contains)
			require.NotEmpty(t, hit.Remediation)
		})
	}
}

func TestParseDepthLimit(t *testing.T) {
	t.Parallel()
	src := strings.Repeat("{all: [", condition.MaxDepth+2) + "{field: a, operator: exists}" + strings.Repeat("]}", condition.MaxDepth+2)
	_, fs := parse(t, src)
	require.True(t, configspec.HasErrors(fs))
	require.Equal(t, "E405", fs[0].Code)
}

func TestCompile(t *testing.T) {
	t.Parallel()
	require.NoError(t, (&condition.Condition{Field: "a", Operator: condition.OpMatches, Value: "^x"}).Compile())
	require.ErrorContains(t, (&condition.Condition{Field: "a", Operator: condition.OpMatches, Value: "("}).Compile(), "missing closing")
	require.ErrorContains(t, (&condition.Condition{Field: "a", Operator: "like"}).Compile(), "unknown operator")
	require.ErrorContains(t, (&condition.Condition{Field: "a", Operator: condition.OpIn, Value: "x"}).Compile(), "needs a list")
	require.ErrorContains(t, (&condition.Condition{Field: "a", Operator: condition.OpGT, Value: "x"}).Compile(), "needs a number")
	require.ErrorContains(t, (&condition.Condition{Operator: condition.OpExists}).Compile(), "field is empty")
	nested := &condition.Condition{Any: []condition.Condition{{Field: "a", Operator: "bad"}}}
	require.ErrorContains(t, nested.Compile(), "condition.any[0]")
}

func TestConcurrentMatch(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "{any: [{field: url, operator: matches, value: '^https'}, {field: n, operator: gt, value: 1}]}")
	p := payload(t, doc)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if !c.Match(p) {
					t.Error("expected a match")
					return
				}
			}
		})
	}
	wg.Wait()
}

// holder is an adapter-style config with a condition field.
type holder struct {
	Condition condition.Condition  `json:"condition" required:"true"`
	Optional  *condition.Condition `json:"optional"`
}

func TestDecodeInsideAdapterConfig(t *testing.T) {
	t.Parallel()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("condition: {field: lang, operator: in, value: [en]}\noptional: {field: x, operator: nope}\n"), &n))
	v, fs := configspec.Decode(&n, reflectType[holder](), "config")
	require.Len(t, fs, 1)
	require.Equal(t, "E401", fs[0].Code)
	require.Equal(t, "config.optional.operator", fs[0].Path)
	h := v.(holder)
	require.True(t, h.Condition.Match(map[string]any{"lang": "en"}))
	require.False(t, h.Condition.Match(map[string]any{"lang": "de"}))

	_, fs = configspec.Decode(nil, reflectType[holder](), "config")
	require.Equal(t, "E302", fs[0].Code)

	s := configspec.Schema(reflectType[holder]())
	cond := s["properties"].(map[string]any)["condition"].(map[string]any)
	require.Len(t, cond["oneOf"], 3)
	_, err := json.Marshal(s)
	require.NoError(t, err)
}

func TestString(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "{all: [{field: url, operator: matches, value: '^https'}, {field: n, operator: in, value: [1, 2]}, {field: x, operator: exists}]}")
	require.Equal(t, `all(url matches "^https", n in [1,2], x exists)`, c.String())
}
