package configspec_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/configspec"
)

func TestSchema(t *testing.T) {
	t.Parallel()
	s := configspec.Schema(sampleType)
	// The schema must be plain JSON.
	raw, err := json.Marshal(s)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))

	require.Equal(t, configspec.SchemaDialect, doc["$schema"])
	require.Equal(t, "object", doc["type"])
	require.Equal(t, false, doc["additionalProperties"])
	require.Equal(t, []any{"url"}, doc["required"])
	props := doc["properties"].(map[string]any)

	url := props["url"].(map[string]any)
	require.Equal(t, "string", url["type"])
	require.Equal(t, "Page to fetch", url["description"])
	require.Equal(t, []any{"https://example.org"}, url["examples"])

	mode := props["mode"].(map[string]any)
	require.Equal(t, []any{"fast", "thorough"}, mode["enum"])
	require.Equal(t, "fast", mode["default"])

	depth := props["depth"].(map[string]any)
	require.Equal(t, "integer", depth["type"])
	require.Equal(t, 0.0, depth["minimum"])
	require.Equal(t, 10.0, depth["maximum"])
	require.Equal(t, 3.0, depth["default"])

	require.Equal(t, true, props["enabled"].(map[string]any)["default"])
	require.Equal(t, 0.5, props["ratio"].(map[string]any)["default"])

	timeout := props["timeout"].(map[string]any)
	require.Equal(t, "string", timeout["type"])
	require.Equal(t, configspec.DurationPattern, timeout["pattern"])
	require.Equal(t, "30s", timeout["default"])
	require.Contains(t, timeout["description"], "At least 1s")
	alias := props["timeout_seconds"].(map[string]any)
	require.Equal(t, true, alias["deprecated"])
	require.Contains(t, props, "timeout_ms")

	formats := props["formats"].(map[string]any)
	require.Equal(t, "array", formats["type"])
	require.Equal(t, []any{"md", "html", "txt"}, formats["items"].(map[string]any)["enum"])
	require.Equal(t, []any{"md", "html"}, formats["default"])

	headers := props["headers"].(map[string]any)
	require.Equal(t, map[string]any{"type": "string"}, headers["additionalProperties"])

	inner := props["inner"].(map[string]any)
	require.Equal(t, []any{"name"}, inner["required"])
	require.Equal(t, false, inner["additionalProperties"])
	optional := props["optional"].(map[string]any)
	require.Equal(t, "object", optional["type"])

	require.Equal(t, map[string]any{}, props["extra"])
	require.Contains(t, props, "tag", "embedded fields are flattened")
	require.Equal(t, 0.0, props["count"].(map[string]any)["minimum"])

	empty := configspec.Schema(nil)
	require.Equal(t, false, empty["additionalProperties"])
}

type recursive struct {
	Name     string       `json:"name"`
	Children []*recursive `json:"children"`
}

func TestSchemaRecursiveTypeTerminates(t *testing.T) {
	t.Parallel()
	s := configspec.SubSchema(reflectTypeOf[recursive]())
	items := s["properties"].(map[string]any)["children"].(map[string]any)["items"].(map[string]any)
	require.Equal(t, map[string]any{"type": "object"}, items)
	require.NotContains(t, s, "$schema")
	require.NotEmpty(t, configspec.Fields(reflectTypeOf[recursive]()))
}
