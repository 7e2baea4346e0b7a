package core

import (
	"context"

	"github.com/factflow/factflow/adapters"
)

func noopSpec() adapters.Spec {
	s := adapters.Define("noop", "core", "Pass the message on unchanged",
		func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
			return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
				return adapters.Pass(in.Payload), nil
			}), nil
		})
	s.Description = "Hands the payload to the next adapter, or publishes it when last. Useful as a " +
		"placeholder and to wire a route that only forwards messages from one queue to others."
	s.Reads = []string{"*"}
	s.Writes = []string{"*"}
	return s
}
