package pulsar

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The admin URL's password shows neither in the error of a malformed URL
// nor in the hint of an unreachable admin API.
func TestAdminURLErrorsHidePassword(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"control character": "http://admin:s3cretpw@host:8080\n",
		"slash in password": "http://admin:s3cr/etpw@host:8080",
	} {
		_, err := newManagement(raw, "")
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), "s3cr", name)
		require.Contains(t, err.Error(), "invalid admin URL", name)
	}

	// Port 1 on loopback refuses at once.
	m, err := newManagement("http://admin:s3cretpw@127.0.0.1:1", "")
	require.NoError(t, err)
	t.Cleanup(m.close)
	_, err = m.depth(t.Context(), "persistent://public/default/secret-test")
	require.Error(t, err)
	require.Contains(t, err.Error(), "127.0.0.1:1", "the hint names the admin API")
	require.NotContains(t, err.Error(), "s3cretpw")
}
