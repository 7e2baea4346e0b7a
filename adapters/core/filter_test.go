package core

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

func TestFilter(t *testing.T) {
	docs := []adapters.Payload{
		{"url": "https://docs.acme.test/a", "status_code": 200.0, "meta": map[string]any{"lang": "en"}, "tokens": 120},
		{"url": "https://docs.acme.test/b", "status_code": 404.0, "meta": map[string]any{"lang": "en"}},
		{"url": "http://docs.acme.test/c", "status_code": 200.0, "meta": map[string]any{"lang": "de"}, "tokens": 5},
		{"url": "https://blog.acme.test/d", "status_code": 200.0},
	}
	tests := []struct {
		name string
		cfg  string
		pass []int
	}{
		{"leaf", `condition: {field: url, operator: matches, value: "^https://"}`, []int{0, 1, 3}},
		{"all", `
condition:
  all:
    - {field: status_code, operator: equals, value: 200}
    - {field: meta.lang, operator: in, value: [en, fr]}
`, []int{0}},
		{"any", `
condition:
  any:
    - {field: status_code, operator: gte, value: 400}
    - {field: meta.lang, operator: equals, value: de}
`, []int{1, 2}},
		{"nested all in any", `
condition:
  any:
    - all:
        - {field: tokens, operator: exists}
        - {field: tokens, operator: lt, value: 10}
    - {field: url, operator: contains, value: blog}
`, []int{2, 3}},
		{"invert", `
invert: true
condition: {field: meta.lang, operator: exists}
`, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := build(t, "filter", tt.cfg, adapters.Deps{})
			var got []int
			for i, d := range docs {
				res, err := a.Process(t.Context(), &adapters.Input{Payload: d})
				require.NoError(t, err)
				if res != nil {
					require.Equal(t, d, res.Message)
					got = append(got, i)
				}
			}
			if tt.name == "invert" {
				// invert drops what matches: only the payload without meta
				// passes.
				require.Equal(t, []int{3}, got)
				return
			}
			require.Equal(t, tt.pass, got)
		})
	}
}

func TestFilterConfigErrors(t *testing.T) {
	_, fs := decode(t, "filter", "{}")
	require.Contains(t, findingCodes(fs), "E302", "condition is required")
	_, fs = decode(t, "filter", `condition: {field: url, operator: resembles, value: x}`)
	require.Contains(t, findingCodes(fs), "E401")
	_, fs = decode(t, "filter", `condition: {field: url, operator: matches, value: "(["}`)
	require.Contains(t, findingCodes(fs), "E404")
}

func TestFilterConcurrent(t *testing.T) {
	a := build(t, "filter", `condition: {field: url, operator: matches, value: "^https://docs\\."}`, adapters.Deps{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			u := "https://docs.acme.test/x"
			if i%2 == 1 {
				u = "https://blog.acme.test/x"
			}
			res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"url": u}})
			if err != nil || (res != nil) != (i%2 == 0) {
				t.Errorf("message %d: result %v, error %v", i, res, err)
			}
		})
	}
	wg.Wait()
}
