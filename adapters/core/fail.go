package core

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/factflow/factflow/adapters"
)

// Failure modes of the fail adapter.
const (
	FailAlways = "always"
	FailFirstN = "first_n"
	FailRatio  = "ratio"
	FailField  = "field"
)

// FailConfig configures fail.
type FailConfig struct {
	Mode      string  `json:"mode" default:"always" enum:"always,first_n,ratio,field" doc:"When to fail: always; on the first times attempts of each message (first_n); for a share of messages (ratio); or when a payload field is truthy (field)."`
	Times     int     `json:"times" default:"1" minimum:"0" maximum:"1000" doc:"first_n: the number of attempts of each message that fail; attempt times+1 succeeds."`
	Ratio     float64 `json:"ratio" default:"0.5" minimum:"0" maximum:"1" doc:"ratio: the share of attempts that fail, chosen by a hash of the correlation id and attempt, so a rerun fails the same ones."`
	Field     string  `json:"field" doc:"field: the payload field (dotted path) whose truthy value makes the message fail."`
	Permanent bool    `json:"permanent" default:"false" doc:"Fail permanently (straight to the dead-letter queue) instead of retryably."`
	Message   string  `json:"message" default:"induced failure" doc:"Error message reported."`
}

// Validate checks what tags cannot express.
func (c FailConfig) Validate() error {
	switch c.Mode {
	case FailAlways, FailFirstN, FailRatio:
	case FailField:
		if err := adapters.ValidatePath(c.Field); err != nil {
			return fmt.Errorf("field: mode field needs a field path: %w", err)
		}
	default:
		return fmt.Errorf("mode: %q is not one of always, first_n, ratio, field", c.Mode)
	}
	if c.Ratio < 0 || c.Ratio > 1 {
		return fmt.Errorf("ratio: %v is outside [0, 1]", c.Ratio)
	}
	if c.Times < 0 {
		return fmt.Errorf("times: %d is negative", c.Times)
	}
	return nil
}

func failSpec() adapters.Spec {
	s := adapters.Define("fail", "core", "Fail messages on purpose (for tests)",
		func(cfg FailConfig, _ adapters.Deps) (adapters.Adapter, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			return &failAdapter{cfg: cfg}, nil
		})
	s.Description = "Fails messages to exercise retries, dead-lettering, circuit breakers and " +
		"failure reporting; messages it lets through pass on unchanged.\n\n" +
		"Every mode is deterministic, so a test can predict the outcome: `first_n` fails attempts " +
		"1…`times` of each message (the engine's attempt counter survives restarts), so a message " +
		"succeeds once `max_retries` ≥ `times`; `ratio` fails an attempt when a hash of its " +
		"correlation id and attempt falls below `ratio`; `field` fails messages whose payload " +
		"field is truthy (true, a non-zero number, a non-empty string other than \"false\" or " +
		"\"0\", a non-empty list or object).\n\n" +
		"Errors carry the code `FAIL_INDUCED`; with `permanent: true` they skip retries."
	s.Reads = []string{"*"}
	s.Writes = []string{"*"}
	return s
}

type failAdapter struct {
	cfg FailConfig
}

func (a *failAdapter) Process(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
	if !a.shouldFail(in) {
		return adapters.Pass(in.Payload), nil
	}
	err := adapters.Coded("FAIL_INDUCED", "the fail adapter fails messages on purpose; remove it from the route outside tests",
		fmt.Errorf("%s (mode %s, attempt %d)", a.cfg.Message, a.cfg.Mode, max(in.Meta.Attempt, 1)))
	if a.cfg.Permanent {
		return nil, adapters.Permanent(err)
	}
	return nil, err
}

func (a *failAdapter) shouldFail(in *adapters.Input) bool {
	attempt := max(in.Meta.Attempt, 1) // attempts are 1-based; 0 means unset
	switch a.cfg.Mode {
	case FailFirstN:
		return attempt <= a.cfg.Times
	case FailRatio:
		// A cryptographic hash mixes well enough that neighbouring
		// attempts of one message draw independently.
		sum := sha256.Sum256(strconv.AppendInt([]byte(in.Meta.CorrelationID+"\x00"), int64(attempt), 10))
		// The top 53 bits give a uniform float in [0, 1).
		return float64(binary.BigEndian.Uint64(sum[:8])>>11)/(1<<53) < a.cfg.Ratio
	case FailField:
		v, _ := adapters.Lookup(in.Payload, a.cfg.Field)
		return truthy(v)
	}
	return true
}

// truthy follows the usual reading of JSON values as booleans.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != "" && t != "false" && t != "0"
	case float64:
		return t != 0
	case float32:
		return t != 0
	case int:
		return t != 0
	case int64:
		return t != 0
	case int32:
		return t != 0
	case uint64:
		return t != 0
	case json.Number:
		f, err := t.Float64()
		return err != nil || f != 0
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}
