package core

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

func TestFailModes(t *testing.T) {
	in := func(corr string, attempt int, p adapters.Payload) *adapters.Input {
		return &adapters.Input{Payload: p, Meta: adapters.Meta{CorrelationID: corr, Attempt: attempt}}
	}
	t.Run("always", func(t *testing.T) {
		a := build(t, "fail", "", adapters.Deps{})
		_, err := a.Process(t.Context(), in("m1", 1, adapters.Payload{}))
		requireCode(t, err, "FAIL_INDUCED", adapters.ClassRetryable)
		require.ErrorContains(t, err, "induced failure")
	})
	t.Run("permanent with message", func(t *testing.T) {
		a := build(t, "fail", "{permanent: true, message: boom}", adapters.Deps{})
		_, err := a.Process(t.Context(), in("m1", 1, adapters.Payload{}))
		requireCode(t, err, "FAIL_INDUCED", adapters.ClassPermanent)
		require.ErrorContains(t, err, "boom")
	})
	t.Run("first_n lets a retried message through", func(t *testing.T) {
		a := build(t, "fail", "{mode: first_n, times: 2}", adapters.Deps{})
		for _, corr := range []string{"m1", "m2"} {
			for attempt := 1; attempt <= 4; attempt++ {
				res, err := a.Process(t.Context(), in(corr, attempt, adapters.Payload{"x": corr}))
				if attempt <= 2 {
					requireCode(t, err, "FAIL_INDUCED", adapters.ClassRetryable)
					continue
				}
				require.NoError(t, err)
				require.Equal(t, corr, res.Message["x"])
			}
		}
		// An unset attempt counts as the first.
		_, err := a.Process(t.Context(), in("m3", 0, adapters.Payload{}))
		require.Error(t, err)
	})
	t.Run("ratio is deterministic and near its share", func(t *testing.T) {
		a := build(t, "fail", "{mode: ratio, ratio: 0.3}", adapters.Deps{})
		failed := map[string]bool{}
		for i := range 2000 {
			corr := fmt.Sprintf("msg-%d", i)
			_, err := a.Process(t.Context(), in(corr, 1, adapters.Payload{}))
			failed[corr] = err != nil
		}
		n := 0
		for _, f := range failed {
			if f {
				n++
			}
		}
		require.InDelta(t, 600, n, 90)
		// A rerun fails exactly the same messages.
		for corr, f := range failed {
			_, err := a.Process(t.Context(), in(corr, 1, adapters.Payload{}))
			require.Equal(t, f, err != nil, corr)
		}
		// Retries of a failed message get new draws, so most eventually pass.
		passedLater := 0
		for corr, f := range failed {
			if !f {
				continue
			}
			for attempt := 2; attempt <= 6; attempt++ {
				if _, err := a.Process(t.Context(), in(corr, attempt, adapters.Payload{})); err == nil {
					passedLater++
					break
				}
			}
		}
		require.Greater(t, passedLater, n*9/10)
		for _, r := range []string{"0", "1"} {
			b := build(t, "fail", "{mode: ratio, ratio: "+r+"}", adapters.Deps{})
			_, err := b.Process(t.Context(), in("x", 1, adapters.Payload{}))
			require.Equal(t, r == "1", err != nil)
		}
	})
	t.Run("field", func(t *testing.T) {
		a := build(t, "fail", "{mode: field, field: test.poison}", adapters.Deps{})
		tests := []struct {
			v    any
			fail bool
		}{
			{true, true}, {false, false}, {nil, false}, {"yes", true}, {"false", false}, {"0", false}, {"", false},
			{1.0, true}, {0.0, false}, {[]any{1}, true}, {[]any{}, false}, {map[string]any{"a": 1}, true},
		}
		for _, tt := range tests {
			_, err := a.Process(t.Context(), in("m", 1, adapters.Payload{"test": map[string]any{"poison": tt.v}}))
			require.Equal(t, tt.fail, err != nil, "value %#v", tt.v)
		}
		_, err := a.Process(t.Context(), in("m", 1, adapters.Payload{}))
		require.NoError(t, err, "a missing field is falsy")
	})
}

func TestFailConfigValidation(t *testing.T) {
	_, fs := decode(t, "fail", "{mode: sometimes}")
	require.Contains(t, findingCodes(fs), "E304")
	_, fs = decode(t, "fail", "{mode: field}")
	require.Contains(t, findingCodes(fs), "E305", "field mode needs a field")
	_, fs = decode(t, "fail", "{mode: ratio, ratio: 1.5}")
	require.Contains(t, findingCodes(fs), "E304")
}
