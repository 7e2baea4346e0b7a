package stomp

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

func TestQueueName(t *testing.T) {
	got, err := queueName(queue.Destination{Execution: "0193-ab_c", Queue: "orders.in"})
	require.NoError(t, err)
	require.Equal(t, "factflow.0193-ab_c.orders.in", got)

	got, err = queueName(queue.Destination{Queue: "shared"})
	require.NoError(t, err)
	require.Equal(t, "factflow._.shared", got, "queues outside any execution")

	for _, exec := range []string{"_", "has.dot", "slash/x", "sp ace"} {
		_, err := queueName(queue.Destination{Execution: exec, Queue: "q"})
		require.Error(t, err, "execution %q", exec)
	}
}

func TestManagementURL(t *testing.T) {
	u, err := url.Parse("stomp://u:p@broker.example:61613")
	require.NoError(t, err)
	require.Equal(t, "http://u:p@broker.example:8161/console/jolokia", managementURL("", u, FlavorArtemis))
	require.Equal(t, "http://u:p@broker.example:8161/api/jolokia", managementURL("", u, FlavorClassic))
	require.Equal(t, "http://x:9/j", managementURL("http://x:9/j", u, FlavorClassic))

	u, err = url.Parse("stomp://u:p@h:1?management=" + url.QueryEscape("http://m:2/jolokia"))
	require.NoError(t, err)
	require.Equal(t, "http://m:2/jolokia", managementURL("", u, FlavorArtemis))
}

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		in    queue.SubscribeOptions
		conns int
		want  []queue.SubscribeOptions
	}{
		{queue.SubscribeOptions{Concurrency: 1, Prefetch: 1, Group: "g"}, 8, []queue.SubscribeOptions{{Concurrency: 1, Prefetch: 1, Group: "g"}}},
		{queue.SubscribeOptions{Concurrency: 1, Prefetch: 10, Group: "g"}, 8, []queue.SubscribeOptions{{Concurrency: 1, Prefetch: 10, Group: "g"}}},
		{queue.SubscribeOptions{Concurrency: 3, Prefetch: 7, Group: "g"}, 2, []queue.SubscribeOptions{
			{Concurrency: 2, Prefetch: 4, Group: "g"}, {Concurrency: 1, Prefetch: 3, Group: "g"}}},
		{queue.SubscribeOptions{Concurrency: 5, Prefetch: 5, Group: "g"}, 0, []queue.SubscribeOptions{{Concurrency: 5, Prefetch: 5, Group: "g"}}},
	} {
		require.Equal(t, tc.want, spread(tc.in, tc.conns), "%+v over %d", tc.in, tc.conns)
	}
	// Whatever the split, the parts add up and none prefetches less than
	// it handles.
	for c := 1; c <= 20; c++ {
		for pf := c; pf <= 40; pf += 3 {
			var sc, sp int
			for _, part := range spread(queue.SubscribeOptions{Concurrency: c, Prefetch: pf}, 8) {
				require.GreaterOrEqual(t, part.Prefetch, part.Concurrency)
				require.Positive(t, part.Concurrency)
				sc, sp = sc+part.Concurrency, sp+part.Prefetch
			}
			require.Equal(t, [2]int{c, pf}, [2]int{sc, sp})
		}
	}
}
