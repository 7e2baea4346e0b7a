package markdown

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/configspec"
)

func TestSpecsAreComplete(t *testing.T) {
	want := []string{"storage_retriever", "html_to_markdown", "markdown_storage_writer", "smart_segmenter", "segment_publisher"}
	var got []string
	for _, s := range Specs() {
		got = append(got, s.Type)
		t.Run(s.Type, func(t *testing.T) {
			require.Equal(t, "markdown", s.Category)
			require.NotEmpty(t, s.Summary)
			require.NotEmpty(t, s.Description)
			require.NotEmpty(t, s.Reads)
			require.NotEmpty(t, s.Writes)
			require.NotNil(t, s.Config)
			require.NoError(t, configspec.Check(s.Config), "config tags")
			// The defaults alone must make a valid config.
			if v, ok := configspec.Defaults(s.Config).(interface{ Validate() error }); ok {
				require.NoError(t, v.Validate())
			}
		})
	}
	require.Equal(t, want, got)
}
