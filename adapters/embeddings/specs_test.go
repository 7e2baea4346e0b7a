package embeddings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters/embeddings"
	"github.com/factflow/factflow/configspec"
)

func TestSpecIsComplete(t *testing.T) {
	specs := embeddings.Specs()
	require.Len(t, specs, 1)
	s := specs[0]
	require.Equal(t, "embedding_generator", s.Type)
	require.Equal(t, "embeddings", s.Category)
	require.NotEmpty(t, s.Summary)
	require.NotEmpty(t, s.Description)
	require.NotEmpty(t, s.Reads)
	require.NotEmpty(t, s.Writes)
	require.NoError(t, configspec.Check(s.Config), "config tags")
	cfg := configspec.Defaults(s.Config).(embeddings.GeneratorConfig)
	require.NoError(t, cfg.Validate(), "the defaults alone make a valid config")
	require.Equal(t, "segment.text", cfg.SourceField)
	require.Equal(t, "english", cfg.Language)
	require.Equal(t, 64, cfg.BatchSize)
	require.Equal(t, 50*time.Millisecond, cfg.BatchWait)
	require.Empty(t, cfg.Models)
}

func TestConfigValidation(t *testing.T) {
	base := configspec.Defaults(embeddings.Specs()[0].Config).(embeddings.GeneratorConfig)
	for name, tc := range map[string]struct {
		edit func(*embeddings.GeneratorConfig)
		want string
	}{
		"source path":   {func(c *embeddings.GeneratorConfig) { c.SourceField = "segment..text" }, "source_field"},
		"language":      {func(c *embeddings.GeneratorConfig) { c.Language = "english; drop" }, "language"},
		"metadata path": {func(c *embeddings.GeneratorConfig) { c.MetadataFields = []string{"ok", ""} }, "metadata_fields[1]"},
		"duplicate slot": {func(c *embeddings.GeneratorConfig) {
			c.Models = []embeddings.SlotConfig{{Profile: "a"}, {ModelName: "a"}}
		}, "appears twice"},
	} {
		t.Run(name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			require.ErrorContains(t, c.Validate(), tc.want)
		})
	}
}
