package adapters_test

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

func TestValidatePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path    string
		wantErr string
	}{
		{"title", ""},
		{"metadata.lang", ""},
		{"a.b.c", ""},
		{"", "empty field path"},
		{"a..b", `field path "a..b" has an empty segment`},
		{".a", "empty segment"},
		{"a.", "empty segment"},
		{".", "empty segment"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			err := adapters.ValidatePath(tt.path)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	p := adapters.Payload{
		"title": "Guide",
		"empty": nil,
		"meta":  map[string]any{"lang": "en", "deep": map[string]any{"n": 3}},
		"list":  []any{map[string]any{"x": 1}},
	}
	tests := []struct {
		path   string
		want   any
		wantOK bool
	}{
		{"title", "Guide", true},
		{"empty", nil, true},
		{"meta.lang", "en", true},
		{"meta.deep.n", 3, true},
		{"meta.deep", map[string]any{"n": 3}, true},
		{"missing", nil, false},
		{"meta.missing", nil, false},
		{"title.x", nil, false},
		{"empty.x", nil, false},
		{"list.0", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			got, ok := adapters.Lookup(p, tt.path)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAssign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      adapters.Payload
		path    string
		want    adapters.Payload
		wantErr string
	}{
		{"top level", adapters.Payload{}, "a", adapters.Payload{"a": 1}, ""},
		{"replaces a leaf", adapters.Payload{"a": "old"}, "a", adapters.Payload{"a": 1}, ""},
		{"replaces a map leaf", adapters.Payload{"a": map[string]any{"b": 2}}, "a", adapters.Payload{"a": 1}, ""},
		{"creates objects", adapters.Payload{}, "a.b.c", adapters.Payload{"a": map[string]any{"b": map[string]any{"c": 1}}}, ""},
		{"into an existing object", adapters.Payload{"a": map[string]any{"x": 0}}, "a.b",
			adapters.Payload{"a": map[string]any{"x": 0, "b": 1}}, ""},
		{"nil counts as missing", adapters.Payload{"a": nil}, "a.b", adapters.Payload{"a": map[string]any{"b": 1}}, ""},
		{"string in the way", adapters.Payload{"a": "text"}, "a.b", adapters.Payload{"a": "text"}, "a is a string, not an object"},
		{"deep conflict", adapters.Payload{"a": map[string]any{"b": []any{1}}}, "a.b.c",
			adapters.Payload{"a": map[string]any{"b": []any{1}}}, "a.b is a []interface {}, not an object"},
		{"number in the way", adapters.Payload{"a": 3.0}, "a.b.c", adapters.Payload{"a": 3.0}, "a is a float64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := adapters.Assign(tt.in, tt.path, 1)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			// On a conflict the payload is left as it was.
			require.Equal(t, tt.want, tt.in)
		})
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     adapters.Payload
		path   string
		want   any
		wantOK bool
		after  adapters.Payload
	}{
		{"top level", adapters.Payload{"a": 1, "b": 2}, "a", 1, true, adapters.Payload{"b": 2}},
		{"nested", adapters.Payload{"a": map[string]any{"b": "x", "c": 2}}, "a.b", "x", true,
			adapters.Payload{"a": map[string]any{"c": 2}}},
		{"a whole object", adapters.Payload{"a": map[string]any{"b": 1}}, "a", map[string]any{"b": 1}, true, adapters.Payload{}},
		{"missing leaf", adapters.Payload{"a": map[string]any{}}, "a.b", nil, false, adapters.Payload{"a": map[string]any{}}},
		{"missing parent", adapters.Payload{"x": 1}, "a.b", nil, false, adapters.Payload{"x": 1}},
		{"through a non-object", adapters.Payload{"a": "text"}, "a.b", nil, false, adapters.Payload{"a": "text"}},
		{"nil value", adapters.Payload{"a": nil}, "a", nil, true, adapters.Payload{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := adapters.Remove(tt.in, tt.path)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.after, tt.in)
		})
	}
}

func TestStringAt(t *testing.T) {
	t.Parallel()
	p := adapters.Payload{"title": "Guide", "n": 3, "doc": map[string]any{"url": "https://a.test/"}}
	tests := []struct {
		path string
		want string
	}{
		{"title", "Guide"},
		{"doc.url", "https://a.test/"},
		{"n", ""},
		{"doc", ""},
		{"missing", ""},
		{"title.x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, adapters.StringAt(p, tt.path))
		})
	}
}

func TestIntOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     any
		want   int
		wantOK bool
	}{
		{"int", 7, 7, true},
		{"negative int", -2, -2, true},
		{"int64", int64(1 << 40), 1 << 40, true},
		{"integral float", 12.0, 12, true},
		{"negative zero", math.Copysign(0, -1), 0, true},
		{"fractional float", 1.5, 0, false},
		{"NaN", math.NaN(), 0, false},
		{"+Inf", math.Inf(1), 0, false},
		{"-Inf", math.Inf(-1), 0, false},
		{"float beyond int64", 1e19, 0, false},
		{"2^63", math.Exp2(63), 0, false},
		{"-2^63", -math.Exp2(63), math.MinInt64, true},
		{"string", "12", 0, false},
		{"nil", nil, 0, false},
		{"bool", true, 0, false},
		{"int32", int32(3), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := adapters.IntOf(tt.in)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDeepCopy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"scalar", "x", "x"},
		{"nil", nil, nil},
		{"map", map[string]any{"a": map[string]any{"b": []any{1, "x"}}}, map[string]any{"a": map[string]any{"b": []any{1, "x"}}}},
		{"list of maps becomes []any", []map[string]any{{"a": 1}}, []any{map[string]any{"a": 1}}},
		{"strings", []string{"a", "b"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, adapters.DeepCopy(tt.in))
		})
	}
}

func TestDeepCopyIsIndependent(t *testing.T) {
	t.Parallel()
	orig := func() map[string]any {
		return map[string]any{
			"title":   "Guide",
			"meta":    map[string]any{"lang": "en"},
			"list":    []any{map[string]any{"x": 1}, "y"},
			"typed":   []map[string]any{{"z": 1}},
			"strings": []string{"a"},
		}
	}
	src := orig()
	cp := adapters.DeepCopy(src).(map[string]any)
	cp["title"] = "changed"
	cp["meta"].(map[string]any)["lang"] = "de"
	cp["list"].([]any)[0].(map[string]any)["x"] = 2
	cp["list"].([]any)[1] = "changed"
	cp["typed"].([]any)[0].(map[string]any)["z"] = 2
	cp["strings"].([]string)[0] = "changed"
	require.Equal(t, orig(), src, "editing the copy reached the original")

	src["meta"].(map[string]any)["lang"] = "fr"
	require.Equal(t, "de", cp["meta"].(map[string]any)["lang"], "editing the original reached the copy")
}

// TestDeepCopyConcurrent copies one shared payload from many goroutines and
// edits every copy, as fan-out siblings do; -race reports any sharing.
func TestDeepCopyConcurrent(t *testing.T) {
	t.Parallel()
	shared := map[string]any{
		"meta":     map[string]any{"lang": "en", "tags": []any{"a", "b"}},
		"segments": []map[string]any{{"text": "one"}, {"text": "two"}},
		"names":    []string{"x", "y"},
	}
	const workers = 16
	var wg sync.WaitGroup
	copies := make([]map[string]any, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			cp := adapters.DeepCopy(shared).(map[string]any)
			meta := cp["meta"].(map[string]any)
			meta["lang"] = strings.Repeat("x", i)
			meta["tags"].([]any)[0] = i
			cp["segments"].([]any)[1].(map[string]any)["text"] = i
			cp["names"].([]string)[0] = "changed"
			errs[i] = adapters.Assign(cp, "meta.worker", i)
			copies[i] = cp
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, "en", shared["meta"].(map[string]any)["lang"])
	require.Equal(t, []any{"a", "b"}, shared["meta"].(map[string]any)["tags"])
	require.Equal(t, "two", shared["segments"].([]map[string]any)[1]["text"])
	require.Equal(t, []string{"x", "y"}, shared["names"])
	for i, cp := range copies {
		v, ok := adapters.Lookup(cp, "meta.worker")
		require.True(t, ok)
		require.Equal(t, i, v)
		require.Equal(t, i, cp["segments"].([]any)[1].(map[string]any)["text"])
	}
}

func TestArtefactKey(t *testing.T) {
	t.Parallel()
	full := adapters.Meta{ExecutionID: "e1", Route: "convert", Stage: "writer", CorrelationID: "m1"}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"message key", adapters.ArtefactKey(full, ".md"), "executions/e1/convert/writer/m1.md"},
		{"no extension", adapters.ArtefactKey(full, ""), "executions/e1/convert/writer/m1"},
		{"empty parts", adapters.ArtefactKey(adapters.Meta{}, ".md"), "executions/_/_/_/_.md"},
		{"empty route only", adapters.ArtefactKey(adapters.Meta{ExecutionID: "e1", Stage: "s", CorrelationID: "m"}, ".html"),
			"executions/e1/_/s/m.html"},
		{"named artefact", adapters.ArtefactKeyFor(full, "docs/a.md", ""), "executions/e1/convert/writer/docs/a.md"},
		{"named artefact, empty meta", adapters.ArtefactKeyFor(adapters.Meta{}, "docs/a.md", ".x"), "executions/_/_/_/docs/a.md.x"},
		{"empty name", adapters.ArtefactKeyFor(full, "", ".md"), "executions/e1/convert/writer/_.md"},
		{"name ignores the message id", adapters.ArtefactKeyFor(full, "f", ""), "executions/e1/convert/writer/f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.got)
		})
	}
}
