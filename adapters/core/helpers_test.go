package core

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/configspec"
)

// decode decodes a YAML adapter config as the pipeline loader does.
func decode(t *testing.T, typ, cfg string) (any, []configspec.Finding) {
	t.Helper()
	r := adapters.NewRegistry()
	r.MustRegister(Specs()...)
	ct, ok := r.ConfigType(typ)
	require.True(t, ok, "adapter %s not registered", typ)
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(cfg), &node))
	var n *yaml.Node
	if len(node.Content) > 0 {
		n = node.Content[0]
	}
	return configspec.Decode(n, ct, "config")
}

// build builds adapter typ from a YAML config, failing on error findings.
func build(t *testing.T, typ, cfg string, deps adapters.Deps) adapters.Adapter {
	t.Helper()
	v, fs := decode(t, typ, cfg)
	require.False(t, configspec.HasErrors(fs), "findings: %v", fs)
	r := adapters.NewRegistry()
	r.MustRegister(Specs()...)
	a, err := r.Build(typ, v, deps)
	require.NoError(t, err)
	return a
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

func findingCodes(fs []configspec.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}
