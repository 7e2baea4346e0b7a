package amqp

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/factflow/factflow/queue"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestBucketFor(t *testing.T) {
	for _, tc := range []struct{ wait, want time.Duration }{
		{0, 10 * time.Millisecond},
		{3 * time.Millisecond, 10 * time.Millisecond},
		{10 * time.Millisecond, 10 * time.Millisecond},
		{600 * time.Millisecond, 500 * time.Millisecond},
		{time.Second, time.Second},
		{90 * time.Second, time.Minute},
		{48 * time.Hour, 6 * time.Hour},
	} {
		require.Equal(t, tc.want, bucketFor(tc.wait), "bucket for %s", tc.wait)
	}
	for _, b := range delayBuckets {
		require.Equal(t, b, durationOf(delayName(b)))
	}
}

func TestNames(t *testing.T) {
	n, err := namesFor(queue.Destination{Execution: "0190-ab", Queue: "orders.in"})
	require.NoError(t, err)
	require.Equal(t, names{scope: "0190-ab", queue: "factflow.0190-ab.orders.in", manifest: "factflow-scope.0190-ab"}, n)

	n, err = namesFor(queue.Destination{Queue: "shared"})
	require.NoError(t, err)
	require.Equal(t, "factflow._.shared", n.queue)

	long := make([]byte, queue.MaxNameLength)
	for i := range long {
		long[i] = 'q'
	}
	exec := make([]byte, maxExecutionLength)
	for i := range exec {
		exec[i] = 'e'
	}
	n, err = namesFor(queue.Destination{Execution: string(exec), Queue: string(long)})
	require.NoError(t, err)
	require.LessOrEqual(t, len(n.queue), 255, "AMQP queue names are short strings")

	for _, bad := range []string{"_", "has.dot", "sp ace", string(exec) + "e"} {
		_, err := namesFor(queue.Destination{Execution: bad, Queue: "q"})
		var coded *Error
		require.True(t, errors.As(err, &coded), "execution %q: %v", bad, err)
		require.Equal(t, codeInvalidName, coded.Code)
	}
}

func TestPublishTooLarge(t *testing.T) {
	cfg := testConfig(brokerURL(t))
	cfg.MaxMessageSize = 1024
	p, err := New(testCtx(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(testCtx(t))) })

	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "big"}
	err = p.Publish(testCtx(t), dst, queue.Message{Body: make([]byte, 2048)})
	require.ErrorIs(t, err, queue.ErrMessageTooLarge)
	var coded *Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, codeTooLarge, coded.Code)
	require.NoError(t, p.Publish(testCtx(t), dst, queue.Message{Body: make([]byte, 512)}), "a message within the limit")
}

func TestNewFailsFast(t *testing.T) {
	_, err := New(testCtx(t), Config{})
	require.Error(t, err, "no URL")

	// Nothing listens on port 1: the first connection must fail, not retry.
	_, err = New(testCtx(t), Config{URL: "amqp://guest:guest@127.0.0.1:1/"})
	var coded *Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, codeConnect, coded.Code)
}

func TestRedact(t *testing.T) {
	require.Equal(t, "amqp://user@host:5672/vh", redact("amqp://user:secret@host:5672/vh"))
}
