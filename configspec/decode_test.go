package configspec_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
)

type inner struct {
	Name  string `json:"name" required:"true" example:"alpha"`
	Level int    `json:"level" default:"2" minimum:"1" maximum:"5"`
}

type Common struct {
	Tag string `json:"tag" default:"base"`
}

type sample struct {
	Common
	URL       string            `json:"url" required:"true" doc:"Page to fetch" example:"https://example.org"`
	Mode      string            `json:"mode" default:"fast" enum:"fast,thorough"`
	Enabled   bool              `json:"enabled" default:"true"`
	Depth     int               `json:"depth" default:"3" minimum:"0" maximum:"10"`
	Small     int8              `json:"small"`
	Count     uint32            `json:"count"`
	Ratio     float64           `json:"ratio" default:"0.5" minimum:"0" maximum:"1"`
	Timeout   time.Duration     `json:"timeout" default:"30s" minimum:"1s" maximum:"10m"`
	Wait      time.Duration     `json:"wait"`
	Formats   []string          `json:"formats" default:"md,html" enum:"md,html,txt"`
	Headers   map[string]string `json:"headers"`
	Inner     inner             `json:"inner"`
	Optional  *inner            `json:"optional"`
	Items     []inner           `json:"items"`
	Extra     any               `json:"extra"`
	Hidden    string            `json:"-"`
	CamelCase string
	private   string //nolint:unused // proves unexported fields are ignored
}

var sampleType = reflect.TypeFor[sample]()

func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &n))
	return &n
}

func codes(fs []configspec.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func TestCheckAcceptsSampleSpec(t *testing.T) {
	t.Parallel()
	require.NoError(t, configspec.Check(sampleType))
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	got := configspec.Defaults(sampleType).(sample)
	require.Equal(t, "base", got.Tag)
	require.Equal(t, "fast", got.Mode)
	require.True(t, got.Enabled)
	require.Equal(t, 3, got.Depth)
	require.Equal(t, 0.5, got.Ratio)
	require.Equal(t, 30*time.Second, got.Timeout)
	require.Equal(t, []string{"md", "html"}, got.Formats)
	require.Equal(t, 2, got.Inner.Level, "nested struct defaults apply")
	require.Nil(t, got.Optional)
}

func TestDecodeValid(t *testing.T) {
	t.Parallel()
	src := `
url: https://example.org
mode: thorough
enabled: false
depth: 0
small: -5
count: 4000000000
ratio: 1
timeout: 1m30s
formats: [txt]
headers: {X-A: b}
inner: {name: a, level: 5}
optional: {name: b}
items:
  - name: c
extra: {a: [1, 2.5, true, null, x]}
tag: override
camel_case: yes please
`
	v, fs := configspec.Decode(node(t, src), sampleType, "cfg")
	require.Empty(t, fs)
	got := v.(sample)
	require.Equal(t, "https://example.org", got.URL)
	require.Equal(t, "thorough", got.Mode)
	require.False(t, got.Enabled)
	require.Equal(t, 0, got.Depth)
	require.Equal(t, int8(-5), got.Small)
	require.Equal(t, uint32(4000000000), got.Count)
	require.Equal(t, 1.0, got.Ratio)
	require.Equal(t, 90*time.Second, got.Timeout)
	require.Equal(t, []string{"txt"}, got.Formats)
	require.Equal(t, map[string]string{"X-A": "b"}, got.Headers)
	require.Equal(t, inner{Name: "a", Level: 5}, got.Inner)
	require.Equal(t, &inner{Name: "b", Level: 2}, got.Optional, "pointer structs get their defaults")
	require.Equal(t, []inner{{Name: "c", Level: 2}}, got.Items, "list elements get their defaults")
	require.Equal(t, map[string]any{"a": []any{1, 2.5, true, nil, "x"}}, got.Extra)
	require.Equal(t, "override", got.Tag)
	require.Equal(t, "yes please", got.CamelCase)
}

func TestDecodeFindings(t *testing.T) {
	t.Parallel()
	base := "url: https://x\n"
	cases := []struct {
		name, src string
		code      string
		path      string
		line, col int
		contains  string
	}{
		{"unknown field with suggestion", base + "depht: 3\n", "E301", "cfg.depht", 2, 1, `did you mean "depth"?`},
		{"unknown field without suggestion", base + "zzzzzz: 3\n", "E301", "cfg.zzzzzz", 2, 1, `unknown field "zzzzzz"`},
		{"missing required", "mode: fast\n", "E302", "cfg.url", 1, 1, `missing required field "url"`},
		{"empty required", "url:\n", "E302", "cfg.url", 1, 1, "is empty"},
		{"nested required", base + "inner: {level: 2}\n", "E302", "cfg.inner.name", 2, 8, `"name"`},
		{"bool for int", base + "depth: true\n", "E303", "cfg.depth", 2, 8, "expected an integer, got boolean true"},
		{"quoted int", base + "depth: \"3\"\n", "E303", "cfg.depth", 2, 8, `got string "3"`},
		{"fraction for int", base + "depth: 1.5\n", "E303", "cfg.depth", 2, 8, "expected an integer"},
		{"string for bool", base + "enabled: yes\n", "E303", "cfg.enabled", 2, 10, "expected true or false"},
		{"bool for string", base + "mode: true\n", "E303", "cfg.mode", 2, 7, "expected a string"},
		{"mapping for string", base + "mode: {a: b}\n", "E303", "cfg.mode", 2, 7, "got a mapping"},
		{"scalar for list", base + "formats: md\n", "E303", "cfg.formats", 2, 10, "expected a list"},
		{"list for map", base + "headers: [a]\n", "E303", "cfg.headers", 2, 10, "expected a mapping, got a list"},
		{"scalar for struct", base + "inner: 3\n", "E303", "cfg.inner", 2, 8, "expected a mapping"},
		{"bad duration", base + "timeout: soon\n", "E303", "cfg.timeout", 2, 10, "expected a duration"},
		{"duration without unit", base + "timeout: \"30\"\n", "E303", "cfg.timeout", 2, 10, "expected a duration"},
		{"string for float", base + "ratio: half\n", "E303", "cfg.ratio", 2, 8, "expected a number"},
		{"above maximum", base + "depth: 11\n", "E304", "cfg.depth", 2, 8, "above the maximum 10"},
		{"below minimum", base + "depth: -1\n", "E304", "cfg.depth", 2, 8, "below the minimum 0"},
		{"int8 overflow", base + "small: 300\n", "E304", "cfg.small", 2, 8, "out of range"},
		{"uint negative", base + "count: -1\n", "E304", "cfg.count", 2, 8, "out of range"},
		{"huge int", base + "depth: 99999999999999999999999\n", "E304", "cfg.depth", 2, 8, "too large"},
		{"float above maximum", base + "ratio: 1.5\n", "E304", "cfg.ratio", 2, 8, "above the maximum 1"},
		{"infinite float", base + "ratio: .inf\n", "E304", "cfg.ratio", 2, 8, "not a usable number"},
		{"duration below minimum", base + "timeout: 10ms\n", "E304", "cfg.timeout", 2, 10, "below the minimum 1s"},
		{"duration above maximum", base + "timeout: 1h\n", "E304", "cfg.timeout", 2, 10, "above the maximum 10m"},
		{"negative duration", base + "wait: -1s\n", "E304", "cfg.wait", 2, 7, "below the minimum 0s"},
		{"enum with suggestion", base + "mode: fsat\n", "E304", "cfg.mode", 2, 7, `did you mean "fast"?`},
		{"enum in list", base + "formats: [md, pdf]\n", "E304", "cfg.formats[1]", 2, 15, `"pdf" is not one of md, html, txt`},
		{"nested range", base + "items:\n  - {name: a, level: 9}\n", "E304", "cfg.items[0].level", 3, 22, "above the maximum 5"},
		{"duplicate key", base + "depth: 1\ndepth: 2\n", "E007", "cfg.depth", 3, 1, "more than once (first at line 2)"},
		{"alias and canonical", base + "timeout: 5s\ntimeout_seconds: 5\n", "E007", "cfg.timeout_seconds", 3, 1, "sets the same field as timeout"},
		{"alias not a number", base + "timeout_seconds: soon\n", "E303", "cfg.timeout_seconds", 2, 18, "expected a number"},
		{"alias out of range", base + "timeout_ms: 5\n", "E304", "cfg.timeout_ms", 2, 13, "below the minimum 1s"},
		{"not a mapping", "[1, 2]\n", "E303", "cfg", 1, 1, "expected a mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, fs := configspec.Decode(node(t, tc.src), sampleType, "cfg")
			var hit *configspec.Finding
			for i := range fs {
				if fs[i].Code == tc.code && fs[i].Path == tc.path {
					hit = &fs[i]
					break
				}
			}
			require.NotNil(t, hit, "want %s at %s, got %v", tc.code, tc.path, fs)
			require.Equal(t, tc.line, hit.Line, "line of %v", hit)
			require.Equal(t, tc.col, hit.Column, "column of %v", hit)
			require.Contains(t, hit.Message, tc.contains)
			require.NotEmpty(t, hit.Remediation)
			if tc.code[0] == 'E' {
				require.Equal(t, configspec.SeverityError, hit.Severity)
			}
		})
	}
}

func TestDecodeKeepsDefaultsOnErrors(t *testing.T) {
	t.Parallel()
	v, fs := configspec.Decode(node(t, "url: x\ndepth: 99\ntimeout: nope\n"), sampleType, "")
	require.Equal(t, []string{"E304", "E303"}, codes(fs))
	got := v.(sample)
	require.Equal(t, 3, got.Depth)
	require.Equal(t, 30*time.Second, got.Timeout)
	require.Equal(t, "depth", fs[0].Path, "an empty base path yields bare keys")
}

func TestDurationAliases(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src  string
		want time.Duration
		warn bool
	}{
		{"timeout: 1500ms", 1500 * time.Millisecond, false},
		{"timeout: 2m30s", 150 * time.Second, false},
		{"timeout_seconds: 45", 45 * time.Second, true},
		{"timeout_seconds: 1.5", 1500 * time.Millisecond, true},
		{"timeout_ms: 2500", 2500 * time.Millisecond, true},
		{"timeout: 30", 30 * time.Second, true},
		{"wait: 0", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			v, fs := configspec.Decode(node(t, "url: x\n"+tc.src+"\n"), sampleType, "c")
			require.False(t, configspec.HasErrors(fs), "%v", fs)
			got := v.(sample)
			d := got.Timeout
			if strings.HasPrefix(tc.src, "wait") {
				d = got.Wait
			}
			require.Equal(t, tc.want, d)
			if tc.warn {
				require.Len(t, fs, 1)
				require.Equal(t, "W001", fs[0].Code)
				require.Equal(t, configspec.SeverityWarning, fs[0].Severity)
				require.Contains(t, fs[0].Remediation, tc.want.String())
			} else {
				require.Empty(t, fs)
			}
		})
	}
}

func TestDecodeNilNode(t *testing.T) {
	t.Parallel()
	v, fs := configspec.Decode(nil, sampleType, "routes.a.adapters[0].config")
	require.Equal(t, []string{"E302"}, codes(fs))
	require.Equal(t, "routes.a.adapters[0].config.url", fs[0].Path)
	require.Equal(t, "fast", v.(sample).Mode)

	type opt struct {
		N int `json:"n" default:"7"`
	}
	v, fs = configspec.Decode(node(t, "~"), reflect.TypeFor[opt](), "")
	require.Empty(t, fs)
	require.Equal(t, opt{N: 7}, v)
}

func TestDecodeNoConfigType(t *testing.T) {
	t.Parallel()
	v, fs := configspec.Decode(node(t, "a: 1\nb: 2\n"), nil, "cfg")
	require.Nil(t, v)
	require.Equal(t, []string{"E301", "E301"}, codes(fs))
	require.Contains(t, fs[0].Message, "takes no fields")
	v, fs = configspec.Decode(nil, nil, "cfg")
	require.Nil(t, v)
	require.Empty(t, fs)
}

type ranged struct {
	Lo int `json:"lo" default:"1"`
	Hi int `json:"hi" default:"10"`
}

func (r ranged) Validate() error {
	if r.Lo > r.Hi {
		return errors.New("lo must not exceed hi")
	}
	return nil
}

func TestValidateHook(t *testing.T) {
	t.Parallel()
	_, fs := configspec.Decode(node(t, "lo: 20\n"), reflect.TypeFor[ranged](), "cfg")
	require.Equal(t, []string{"E305"}, codes(fs))
	require.Contains(t, fs[0].Message, "lo must not exceed hi")
	require.Equal(t, 1, fs[0].Line)

	// Validate does not run on top of other errors (no cascades).
	_, fs = configspec.Decode(node(t, "lo: x\n"), reflect.TypeFor[ranged](), "cfg")
	require.Equal(t, []string{"E303"}, codes(fs))
}

// selfDecoding records the node it was handed, proving DecodeYAMLNode is
// used for fields whose pointer implements NodeDecoder.
type selfDecoding struct{ Text string }

func (s *selfDecoding) DecodeYAMLNode(n *yaml.Node, path string) []configspec.Finding {
	if n.Kind != yaml.ScalarNode {
		return []configspec.Finding{configspec.Error("E999", path, n, "scalar wanted", "write a scalar")}
	}
	s.Text = "decoded:" + n.Value
	return nil
}

func (selfDecoding) JSONSchema() map[string]any {
	return map[string]any{"type": "string", "title": "self"}
}

type withDecoders struct {
	Value selfDecoding    `json:"value"`
	Ptr   *selfDecoding   `json:"ptr"`
	List  []selfDecoding  `json:"list"`
	Pairs map[string]bool `json:"pairs"`
}

func TestNodeDecoderFields(t *testing.T) {
	t.Parallel()
	v, fs := configspec.Decode(node(t, "value: a\nptr: b\nlist: [c]\n"), reflect.TypeFor[withDecoders](), "x")
	require.Empty(t, fs)
	got := v.(withDecoders)
	require.Equal(t, "decoded:a", got.Value.Text)
	require.Equal(t, "decoded:b", got.Ptr.Text)
	require.Equal(t, "decoded:c", got.List[0].Text)

	_, fs = configspec.Decode(node(t, "ptr: {a: 1}\n"), reflect.TypeFor[withDecoders](), "x")
	require.Equal(t, []string{"E999"}, codes(fs))
	require.Equal(t, "x.ptr", fs[0].Path)

	s := configspec.Schema(reflect.TypeFor[withDecoders]())
	props := s["properties"].(map[string]any)
	require.Equal(t, "self", props["value"].(map[string]any)["title"])
	require.Equal(t, "self", props["list"].(map[string]any)["items"].(map[string]any)["title"])
}

func TestDecodeIntoLayers(t *testing.T) {
	t.Parallel()
	v := configspec.Defaults(sampleType).(sample)
	fs := configspec.DecodeInto(node(t, "url: a\ndepth: 7\n"), &v, "")
	require.Empty(t, fs)
	fs = configspec.DecodeInto(node(t, "url: b\nmode: thorough\n"), &v, "")
	require.Empty(t, fs)
	require.Equal(t, 7, v.Depth, "keys absent from the second layer keep the first layer's value")
	require.Equal(t, "thorough", v.Mode)
	require.Equal(t, "b", v.URL)

	require.Equal(t, "E305", configspec.DecodeInto(nil, v, "")[0].Code, "a non-pointer is a caller bug, reported not panicked")
}

func TestMergeKeysAndAliases(t *testing.T) {
	t.Parallel()
	src := `
base: &base {name: shared, level: 4}
url: x
inner:
  <<: *base
  level: 1
optional: *base
`
	type doc struct {
		sample `json:",inline"`
		Base   any `json:"base"`
	}
	v, fs := configspec.Decode(node(t, src), reflect.TypeFor[doc](), "")
	require.Empty(t, fs)
	got := v.(doc)
	require.Equal(t, inner{Name: "shared", Level: 1}, got.Inner, "explicit keys override merged ones")
	require.Equal(t, &inner{Name: "shared", Level: 4}, got.Optional)
}

func TestAliasBombsAreRejected(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	type anyDoc struct {
		A8 any `json:"a8"`
	}
	_, fs := configspec.Decode(node(t, b.String()), reflect.TypeFor[map[string]any](), "")
	require.Equal(t, []string{"E008"}, codes(fs))

	_, fs = configspec.Decode(node(t, "a8: &x [*x]\n"), reflect.TypeFor[anyDoc](), "")
	require.Equal(t, []string{"E008"}, codes(fs))
	require.Contains(t, fs[0].Message, "contains it")
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	opts := []string{"max_retries", "retry_delay", "backoff", "dead_letter", "url"}
	cases := map[string]string{
		"max_retrys":  "max_retries",
		"retyr_delay": "retry_delay",
		"Backoff":     "backoff",
		"backof":      "backoff",
		"ulr":         "url",
		"timeout":     "",
		"x":           "",
	}
	for got, want := range cases {
		require.Equal(t, want, configspec.Suggest(got, opts), got)
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	fs := configspec.Fields(sampleType)
	byName := map[string]configspec.Field{}
	for _, f := range fs {
		byName[f.Name] = f
	}
	require.NotContains(t, byName, "Hidden")
	require.NotContains(t, byName, "private")
	require.Contains(t, byName, "tag", "embedded struct fields are flattened")
	require.Equal(t, configspec.Field{
		Name: "timeout", Type: "duration", Default: "30s", Minimum: "1s", Maximum: "10m",
		Aliases: []string{"timeout_seconds", "timeout_ms"},
	}, byName["timeout"])
	require.Equal(t, "list of string", byName["formats"].Type)
	require.Equal(t, []string{"md", "html", "txt"}, byName["formats"].Enum)
	require.True(t, byName["url"].Required)
	require.Equal(t, "Page to fetch", byName["url"].Doc)
	require.Equal(t, "object", byName["inner"].Type)
	require.Len(t, byName["items"].Fields, 2)
	require.Equal(t, "map of string", byName["headers"].Type)
	require.Equal(t, "any", byName["extra"].Type)
}

func TestCheckReportsSpecBugs(t *testing.T) {
	t.Parallel()
	type bad struct {
		A int           `json:"a" default:"many"`
		B time.Duration `json:"b" default:"soon"`
		C int           `json:"c" minimum:"low"`
		D int           `json:"d" enum:"1,2"`
		E chan int      `json:"e"`
		F bool          `json:"f" required:"maybe"`
	}
	err := configspec.Check(reflect.TypeFor[bad]())
	require.Error(t, err)
	for _, want := range []string{"bad.A", "bad.B", "bad.C", "bad.D", "bad.E", "bad.F"} {
		require.Contains(t, err.Error(), want)
	}
	require.Error(t, configspec.Check(reflect.TypeFor[int]()))
	require.NoError(t, configspec.Check(nil))
}

func TestDurationPatternAgreesWithParseDuration(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(configspec.DurationPattern)
	for _, s := range []string{"0", "1s", "500ms", "1h30m", "1.5h", ".5s", "-3s", "+2m", "10us", "10µs", "3ns", "1h2m3s4ms5us6ns",
		"", "s", "10", "1d", "1 s", "--1s", "1.2.3s", "ms", "1sm"} {
		_, err := time.ParseDuration(s)
		require.Equal(t, err == nil, re.MatchString(s), "%q", s)
	}
}

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
