package orchestrator

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/pipeline"
)

func drained(l Ledger) bool {
	select {
	case <-l.Drained():
		return true
	default:
		return false
	}
}

func TestLedgerDrainsOnlyWhenSeededAndEmpty(t *testing.T) {
	l := newMemLedger()
	require.False(t, drained(l), "not seeded")
	l.Add("init")
	l.Seed()
	require.False(t, drained(l))
	l.Add("a", "b")
	require.True(t, l.Settle("init"))
	require.False(t, drained(l), "children outstanding")
	require.True(t, l.Known("a"))
	require.True(t, l.Settle("a"))
	require.False(t, l.Settle("a"), "settling twice is refused")
	require.False(t, l.Known("a"), "a settled message is a duplicate when redelivered")
	require.True(t, l.Settle("b"))
	require.True(t, drained(l))
	require.Zero(t, l.Outstanding())
}

func TestLedgerCancelUndoesAFailedPublish(t *testing.T) {
	l := newMemLedger()
	l.Add("init")
	l.Seed()
	l.Add("x")
	l.Cancel("x")
	require.False(t, l.Known("x"))
	require.Equal(t, 1, l.Outstanding())
	l.Settle("init")
	require.True(t, drained(l))
}

func TestLedgerRestoredDrainsOnlyWhenTheBrokerIsEmpty(t *testing.T) {
	ctx := context.Background()
	l := newMemLedger()
	l.Restore(2)
	l.Seed()
	require.True(t, l.Known("anything"), "after a restart every delivery may be outstanding")
	require.True(t, l.Settle("p"))
	require.True(t, l.Settle("q"))
	require.True(t, l.Settle("r"), "the broker count was a snapshot: more may come")
	require.False(t, drained(l), "settling the counted messages is not proof the broker is empty")

	brokerHolds := 1
	count := func(context.Context) (int, error) { return brokerHolds, nil }
	done, err := l.Reconcile(ctx, count)
	require.NoError(t, err)
	require.False(t, done)
	require.Equal(t, 1, l.Outstanding(), "the broker's count is shown")

	l.Add("child")
	brokerHolds = 0
	done, err = l.Reconcile(ctx, count)
	require.NoError(t, err)
	require.False(t, done, "a message published since the restore is outstanding")
	l.Settle("child")

	// A publish while the broker is being asked: its count cannot be trusted.
	done, err = l.Reconcile(ctx, func(context.Context) (int, error) { l.Add("late"); return 0, nil })
	require.NoError(t, err)
	require.False(t, done)
	l.Settle("late")

	_, err = l.Reconcile(ctx, func(context.Context) (int, error) { return 0, errors.New("broker down") })
	require.ErrorContains(t, err, "broker down")
	require.False(t, drained(l))

	done, err = l.Reconcile(ctx, count)
	require.NoError(t, err)
	require.True(t, done)
	require.True(t, drained(l))
	done, err = l.Reconcile(ctx, func(context.Context) (int, error) { t.Fatal("asked after draining"); return 0, nil })
	require.NoError(t, err)
	require.True(t, done)
}

func TestLedgerReconcileIgnoresLiveExecutions(t *testing.T) {
	l := newMemLedger()
	l.Add("init")
	l.Seed()
	done, err := l.Reconcile(context.Background(), func(context.Context) (int, error) { t.Fatal("asked the broker"); return 0, nil })
	require.NoError(t, err)
	require.False(t, done, "an execution that never restarted drains by its own accounting")
}

func TestLedgerConcurrentUse(t *testing.T) {
	l := newMemLedger()
	l.Add("root")
	l.Seed()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				id := string(rune('a'+w)) + string(rune(i))
				l.Add(id)
				l.Known(id)
				l.Settle(id)
			}
		}()
	}
	wg.Wait()
	require.False(t, drained(l))
	l.Settle("root")
	require.True(t, drained(l))
}

func TestRetryDelay(t *testing.T) {
	fixed := pipeline.ErrorHandling{RetryDelay: time.Second, Backoff: pipeline.BackoffFixed}
	require.Equal(t, time.Second, retryDelay(fixed, 1, 0))
	require.Equal(t, time.Second, retryDelay(fixed, 5, 0))
	require.Equal(t, 3*time.Second, retryDelay(fixed, 1, 3*time.Second), "RetryAfter is a floor")

	exp := pipeline.ErrorHandling{RetryDelay: 100 * time.Millisecond, Backoff: pipeline.BackoffExponential, MaxDelay: time.Second}
	require.Equal(t, 100*time.Millisecond, retryDelay(exp, 1, 0))
	require.Equal(t, 200*time.Millisecond, retryDelay(exp, 2, 0))
	require.Equal(t, 400*time.Millisecond, retryDelay(exp, 3, 0))
	require.Equal(t, time.Second, retryDelay(exp, 10, 0), "capped")
	require.Equal(t, time.Second, retryDelay(exp, 1000, 0), "no overflow")

	jit := exp
	jit.Jitter = 0.5
	for range 100 {
		d := retryDelay(jit, 2, 0)
		require.GreaterOrEqual(t, d, 100*time.Millisecond)
		require.LessOrEqual(t, d, 300*time.Millisecond)
	}
}

func TestPayloadCodec(t *testing.T) {
	b, err := EncodePayload(map[string]any{"a": "<b>"}, 100)
	require.NoError(t, err)
	require.Equal(t, `{"a":"<b>"}`, string(b))
	_, err = EncodePayload(map[string]any{"a": make([]byte, 200)}, 100)
	require.ErrorContains(t, err, "PAYLOAD_TOO_LARGE")
	_, err = EncodePayload(map[string]any{"f": func() {}}, 0)
	require.ErrorContains(t, err, "PAYLOAD_NOT_JSON")

	p, err := decodePayload([]byte(`{"x": 1}`))
	require.NoError(t, err)
	require.EqualValues(t, 1, p["x"])
	for _, bad := range []string{`not json`, `[1,2]`, `"s"`, ``} {
		_, err := decodePayload([]byte(bad))
		require.ErrorContains(t, err, "PAYLOAD_INVALID", bad)
	}
	p, err = decodePayload([]byte(`null`))
	require.NoError(t, err)
	require.NotNil(t, p)
}
