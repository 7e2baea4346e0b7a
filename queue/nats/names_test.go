package nats

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

func TestNamesFor(t *testing.T) {
	tests := []struct {
		dst     queue.Destination
		subject string
		stream  string
		wantErr bool
	}{
		{queue.Destination{Execution: "0190a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b", Queue: "crawl.pages"},
			"factflow.0190a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b.crawl.pages", "FACTFLOW_0190a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b", false},
		{queue.Destination{Queue: "shared"}, "factflow._.shared", "FACTFLOW__", false},
		{queue.Destination{Execution: "e1", Queue: "a:b-c_d"}, "factflow.e1.a:b-c_d", "FACTFLOW_e1", false},
		{queue.Destination{Execution: "e.1", Queue: "q"}, "", "", true},
		{queue.Destination{Execution: "e*", Queue: "q"}, "", "", true},
		{queue.Destination{Execution: "_", Queue: "q"}, "", "", true},
		{queue.Destination{Execution: strings.Repeat("e", maxExecutionLength+1), Queue: "q"}, "", "", true},
		{queue.Destination{Execution: "e", Queue: "a..b"}, "", "", true},
		{queue.Destination{Execution: "e", Queue: "a>"}, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.dst.String(), func(t *testing.T) {
			n, err := namesFor(tc.dst)
			if tc.wantErr {
				var coded *Error
				require.ErrorAs(t, err, &coded)
				require.Equal(t, codeInvalidName, coded.Code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.subject, n.subject)
			require.Equal(t, tc.stream, n.stream)
		})
	}
}

func TestConsumerName(t *testing.T) {
	names := map[string]bool{}
	for _, pair := range [][2]string{{"a.b", "g"}, {"a_b", "g"}, {"a:b", "g"}, {"a.b", "h"}, {strings.Repeat("q", 200), "g"}} {
		n := consumerName(pair[0], pair[1])
		require.False(t, names[n], "%v collides", pair)
		names[n] = true
		require.LessOrEqual(t, len(n), 80)
		require.Equal(t, sanitize(n), n, "durable names hold no dots or wildcards")
		require.Equal(t, n, consumerName(pair[0], pair[1]), "stable across calls")
	}
}
