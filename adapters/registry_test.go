package adapters_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

type limitConfig struct {
	Max int `json:"max" default:"7"`
}

func TestBuildWithoutConfigAppliesTheTagDefaults(t *testing.T) {
	reg := adapters.NewRegistry()
	var got limitConfig
	reg.MustRegister(adapters.Define("limit", "test", "records its config",
		func(cfg limitConfig, _ adapters.Deps) (adapters.Adapter, error) {
			got = cfg
			return adapters.Func(func(context.Context, *adapters.Input) (*adapters.Result, error) { return nil, nil }), nil
		}))
	_, err := reg.Build("limit", nil, adapters.Deps{})
	require.NoError(t, err)
	require.Equal(t, 7, got.Max)

	_, err = reg.Build("nope", nil, adapters.Deps{})
	require.ErrorContains(t, err, `unknown adapter type "nope"`)
	require.Error(t, reg.Register(adapters.Define("limit", "test", "again",
		func(limitConfig, adapters.Deps) (adapters.Adapter, error) { return nil, nil })), "duplicate types are refused")
}
