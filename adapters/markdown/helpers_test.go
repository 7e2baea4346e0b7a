package markdown

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
)

// decodeConfig decodes a YAML config the way the pipeline loader does, with
// the spec's defaults, and fails on any error finding.
func decodeConfig[C any](t *testing.T, src string) C {
	t.Helper()
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &node))
	var n *yaml.Node
	if len(node.Content) > 0 {
		n = node.Content[0]
	}
	v, fs := configspec.Decode(n, reflect.TypeFor[C](), "config")
	require.False(t, configspec.HasErrors(fs), "findings: %v", fs)
	return v.(C)
}

// build builds the adapter typ of the family from a YAML config.
func build(t *testing.T, typ, cfg string, deps adapters.Deps) adapters.Adapter {
	t.Helper()
	r := adapters.NewRegistry()
	r.MustRegister(Specs()...)
	spec, ok := r.Lookup(typ)
	require.True(t, ok, "adapter %s not registered", typ)
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(cfg), &node))
	var n *yaml.Node
	if len(node.Content) > 0 {
		n = node.Content[0]
	}
	v, fs := configspec.Decode(n, spec.Config, "config")
	require.False(t, configspec.HasErrors(fs), "findings: %v", fs)
	a, err := r.Build(typ, v, deps)
	require.NoError(t, err)
	return a
}

func newStore(t *testing.T) storage.Store {
	t.Helper()
	s, err := fs.New(t.TempDir(), fs.WithSync(false))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func testMeta(stage string) adapters.Meta {
	return adapters.Meta{
		ExecutionID:   "0197a1b2-0000-7000-8000-000000000001",
		Route:         "convert",
		CorrelationID: "0197a1b2-0000-7000-8000-0000000000aa",
		Attempt:       1,
		Stage:         stage,
	}
}

// roundTrip sends a payload through JSON as a broker would.
func roundTrip(t *testing.T, p adapters.Payload) adapters.Payload {
	t.Helper()
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var out adapters.Payload
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func requireCode(t *testing.T, err error, code string, class adapters.Class) {
	t.Helper()
	require.Error(t, err)
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, code, ce.Code)
	require.NotEmpty(t, ce.Hint)
	require.Equal(t, class, adapters.Classify(err))
}

func readFixtureB(b *testing.B, name string) string {
	b.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}
