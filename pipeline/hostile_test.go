package pipeline_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
