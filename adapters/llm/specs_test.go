package llmadapters_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	llmadapters "github.com/factflow/factflow/adapters/llm"
	"github.com/factflow/factflow/configspec"
)

func TestSpecsAreComplete(t *testing.T) {
	var got []string
	for _, s := range llmadapters.Specs() {
		got = append(got, s.Type)
		t.Run(s.Type, func(t *testing.T) {
			require.Equal(t, "llm", s.Category)
			require.NotEmpty(t, s.Summary)
			require.NotEmpty(t, s.Description)
			require.NotEmpty(t, s.Reads)
			require.NotEmpty(t, s.Writes)
			require.NoError(t, configspec.Check(s.Config), "config tags")
		})
	}
	require.Equal(t, []string{"llm_transform", "llm_translator"}, got)
}
