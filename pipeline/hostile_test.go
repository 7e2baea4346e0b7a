package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/pipeline"
)

func TestHostileDocuments(t *testing.T) {
	t.Parallel()
	var bomb strings.Builder
	bomb.WriteString("version: \"1.0\"\nx-a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&bomb, "x-a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	bomb.WriteString("routes: { a: { inbound: q.a, adapters: [noop] } }\ninit_message: { route: a, payload: { p: *a8 } }\n")

	cases := map[string]struct {
		src  string
		code string
	}{
		"alias bomb":           {bomb.String(), "E008"},
		"recursive alias":      {"version: \"1.0\"\nroutes: &x { a: *x }\n", "E008"},
		"deep nesting":         {"version: \"1.0\"\ninit_message: { route: a, payload: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + " }\n", "E001"},
		"binary route":         {"version: \"1.0\"\nroutes:\n  a: !!binary aGVsbG8=\n", "E005"},
		"complex mapping key":  {"version: \"1.0\"\n? [a, b]\n: c\nroutes: { a: { inbound: q.a, adapters: [noop] } }\ninit_message: { route: a }\n", "E004"},
		"null everywhere":      {"version:\nroutes:\ninit_message:\n", "E003"},
		"numbers for strings":  {"version: \"1.0\"\nroutes:\n  1: { inbound: 2, adapters: [3] }\ninit_message: { route: 1 }\n", "E101"},
		"merge of nothing":     {"version: \"1.0\"\nroutes:\n  a: { <<: 5, inbound: q.a, adapters: [noop] }\ninit_message: { route: a }\n", ""},
		"overflowing numbers":  {"version: \"1.0\"\nroutes:\n  a: { inbound: { queue: q.a, concurrency: 1e400 }, adapters: [noop] }\ninit_message: { route: a }\n", "E208"},
		"duplicate route keys": {"version: \"1.0\"\nroutes:\n  a: { inbound: q.a, adapters: [noop] }\n  a: { inbound: q.b, adapters: [noop] }\ninit_message: { route: a }\n", "E007"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, r := load(t, tc.src)
			if tc.code == "" {
				require.True(t, r.Valid(), "%v", r.Findings)
				return
			}
			require.True(t, r.Has(tc.code), "want %s, got %v", tc.code, r.Findings)
		})
	}
}

// TestDocumentSizeLimit proves an oversized document is refused before it
// is parsed (a pipeline of valid YAML, or one whose padding would not even
// parse, gets E009 alone) and that a document at the limit is parsed.
func TestDocumentSizeLimit(t *testing.T) {
	t.Parallel()
	head := "version: \"1.0\"\nroutes: { a: { inbound: q.a, adapters: [noop] } }\ninit_message: { route: a }\n"
	pad := func(n int, c string) string { return "#" + strings.Repeat(c, n-len(head)-2) + "\n" }

	atLimit := head + pad(pipeline.MaxDocumentSize, "x")
	require.Len(t, atLimit, pipeline.MaxDocumentSize)
	p, r := load(t, atLimit)
	require.NotNil(t, p)
	require.True(t, r.Valid(), "%v", r.Findings)

	for name, src := range map[string]string{
		"one byte over":   head + pad(pipeline.MaxDocumentSize+1, "x"),
		"broken and huge": head + "{[" + strings.Repeat("\t:", pipeline.MaxDocumentSize),
	} {
		p, r := load(t, src)
		require.Nil(t, p, name)
		require.Len(t, r.Findings, 1, "%s: %v", name, r.Findings)
		f := r.Findings[0]
		require.Equal(t, "E009", f.Code, name)
		require.Equal(t, 1, f.Line)
		require.Contains(t, f.Message, "1024 KiB")
		require.NotEmpty(t, f.Remediation)
	}
}

// TestLoadFileSizeLimit proves LoadFile refuses a huge file with E009.
func TestLoadFileSizeLimit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "huge.yaml")
	require.NoError(t, os.WriteFile(path, []byte("version: \"1.0\"\n#"+strings.Repeat("x", 2*pipeline.MaxDocumentSize)), 0o600))
	p, r, err := pipeline.LoadFile(path, nil)
	require.NoError(t, err)
	require.Nil(t, p)
	require.True(t, r.Has("E009"), "%v", r.Findings)
}

// TestAliasBombNotExpanded uses anchors that would expand to 10^30 nodes:
// the test can only finish if the loader refuses them without expanding,
// wherever the alias is used.
func TestAliasBombNotExpanded(t *testing.T) {
	t.Parallel()
	var anchors strings.Builder
	anchors.WriteString("x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&anchors, "x-a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	for name, use := range map[string]string{
		"in the payload":        "routes: { a: { inbound: q.a, adapters: [noop] } }\ninit_message: { route: a, payload: { p: *a29 } }\n",
		"in an adapter config":  "routes: { a: { inbound: q.a, adapters: [{ type: filter, config: *a29 }] } }\ninit_message: { route: a }\n",
		"as the routes mapping": "routes: *a29\ninit_message: { route: a }\n",
	} {
		_, r := load(t, "version: \"1.0\"\n"+anchors.String()+use)
		require.True(t, r.Has("E008"), "%s: %v", name, r.Findings)
	}
}
