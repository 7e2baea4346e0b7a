package webhooks

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/netguard"
)

// TestTransportErrorHidesURL: a receiver's URL may carry a token in its
// path or query; a failed delivery's message (logged and stored) must not
// repeat it.
func TestTransportErrorHidesURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	c := netguard.NewHTTPClient(netguard.Guard{AllowPrivate: true}, netguard.ClientOptions{})
	t.Cleanup(c.CloseIdleConnections)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		"http://"+addr+"/services/T0/B0/pathsecret?token=querysecret", strings.NewReader("{}"))
	require.NoError(t, err)
	_, err = c.Do(req)
	require.Error(t, err)
	require.Contains(t, err.Error(), "querysecret", "the raw error repeats the URL, which is why it is rewritten")

	msg := transportError(err)
	require.NotEmpty(t, msg)
	require.NotContains(t, msg, "pathsecret")
	require.NotContains(t, msg, "querysecret")
}
