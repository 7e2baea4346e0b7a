package core

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/configspec"
)

func TestSpecsAreComplete(t *testing.T) {
	want := []string{"noop", "fail", "filter", "transform", "file_source"}
	var got []string
	for _, s := range Specs() {
		got = append(got, s.Type)
		t.Run(s.Type, func(t *testing.T) {
			require.Equal(t, "core", s.Category)
			require.NotEmpty(t, s.Summary)
			require.NotEmpty(t, s.Description)
			require.NotEmpty(t, s.Reads)
			require.NotEmpty(t, s.Writes)
			require.NotNil(t, s.Config)
			require.NoError(t, configspec.Check(s.Config))
			require.NotEmpty(t, configspec.Schema(s.Config))
		})
	}
	require.Equal(t, want, got)
	// Registering the family next to itself would collide; once is fine.
	r := adapters.NewRegistry()
	require.NotPanics(t, func() { r.MustRegister(Specs()...) })
}

func TestNoop(t *testing.T) {
	a := build(t, "noop", "", adapters.Deps{})
	p := adapters.Payload{"a": 1.0, "b": map[string]any{"c": "d"}}
	res, err := a.Process(t.Context(), &adapters.Input{Payload: p})
	require.NoError(t, err)
	require.Equal(t, p, res.Message)
	require.Empty(t, res.Emitted)
	_, fs := decode(t, "noop", "{unexpected: 1}")
	require.Contains(t, findingCodes(fs), "E301")
}
