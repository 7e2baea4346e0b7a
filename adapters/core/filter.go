package core

import (
	"context"
	"fmt"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline/condition"
)

// FilterConfig configures filter.
type FilterConfig struct {
	Condition condition.Condition `json:"condition" required:"true" doc:"Messages matching this condition pass on; others are dropped. Same syntax as adapters[].condition: {field, operator, value} or all/any lists."`
	Invert    bool                `json:"invert" default:"false" doc:"Drop the matching messages instead and pass the others."`
}

func filterSpec() adapters.Spec {
	s := adapters.Define("filter", "core", "Drop messages that do not match a condition",
		func(cfg FilterConfig, _ adapters.Deps) (adapters.Adapter, error) {
			c := cfg.Condition
			if err := c.Compile(); err != nil {
				return nil, fmt.Errorf("condition: %w", err)
			}
			return &filterAdapter{cond: &c, invert: cfg.Invert}, nil
		})
	s.Description = "Passes a message on when it matches `condition` and drops it otherwise: the " +
		"chain stops and nothing is published, which is a normal outcome, not a failure. " +
		"`invert: true` drops the matching messages instead.\n\n" +
		"Unlike `adapters[].condition`, which skips one adapter but lets the message continue, " +
		"`filter` ends the message's journey in this route."
	s.Reads = []string{"*"}
	s.Writes = []string{"*"}
	return s
}

type filterAdapter struct {
	cond   *condition.Condition
	invert bool
}

func (a *filterAdapter) Process(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
	if a.cond.Match(in.Payload) != a.invert {
		return adapters.Pass(in.Payload), nil
	}
	return nil, nil
}
