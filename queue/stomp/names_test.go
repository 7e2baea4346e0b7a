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
