package pipeline_test

import (
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline"
)

// compileSchema round-trips the schema through JSON (as it is served) and
// compiles it with an independent JSON Schema 2020-12 implementation.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := json.Marshal(pipeline.Schema(testCatalog(t)))
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytesReader(raw))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("pipeline.json", doc))
	s, err := c.Compile("pipeline.json")
	require.NoError(t, err)
	return s
}

// asJSON converts YAML to the JSON value an editor would validate.
func asJSON(t *testing.T, src string) any {
	t.Helper()
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &n))
	v, fs := configspec.Value(&n, "")
	require.Empty(t, fs)
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	out, err := jsonschema.UnmarshalJSON(bytesReader(raw))
	require.NoError(t, err)
	return out
}

func TestSchemaAcceptsValidPipelines(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	require.NoError(t, s.Validate(asJSON(t, specExample)))
	for _, c := range pipeline.Catalogue() {
		if c.Severity != configspec.SeverityWarning || c.Code == "W401" {
			continue
		}
		// Warnings do not make a pipeline invalid, and the schema must
		// not reject what the loader accepts (W401's value is the
		// exception: the schema does not model per-operator values).
		require.NoError(t, s.Validate(asJSON(t, c.Example)), c.Code)
	}
}

func TestSchemaRejectsWhatTheLoaderRejects(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	for _, code := range []string{"E003", "E004", "E005", "E006", "E101", "E102", "E103", "E204", "E208", "E301", "E302", "E303", "E304", "E401", "E402", "E405", "E406", "E501", "E502", "E503", "E504"} {
		for _, c := range pipeline.Catalogue() {
			if c.Code == code {
				require.Error(t, s.Validate(asJSON(t, c.Example)), "the schema accepts the example of %s", code)
			}
		}
	}
}

func TestSchemaShape(t *testing.T) {
	t.Parallel()
	s := pipeline.Schema(testCatalog(t))
	require.Equal(t, configspec.SchemaDialect, s["$schema"])
	props := s["properties"].(map[string]any)
	for _, k := range []string{"version", "description", "defaults", "routes", "init_message", "allow_cycles", "execution", "tests", "error_handling", "backpressure"} {
		require.Contains(t, props, k)
	}
	require.Equal(t, true, props["error_handling"].(map[string]any)["deprecated"])
	route := props["routes"].(map[string]any)["additionalProperties"].(map[string]any)
	step := route["properties"].(map[string]any)["adapters"].(map[string]any)["items"].(map[string]any)["anyOf"].([]any)[0].(map[string]any)
	require.Len(t, step["allOf"], len(testCatalog(t).Types()), "one if/then branch per adapter type")
	require.Len(t, pipeline.Schema(nil)["properties"], len(props), "a nil catalogue still yields the document schema")
}
