package stomp

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A management URL that does not parse, or has no host, is reported
// without its password: url.Parse's own error quotes the whole URL, and a
// password holding a reserved character turns into an "invalid port".
func TestManagementURLErrorHidesPassword(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"control character": "http://admin:s3cretpw@host:8161/console\n/jolokia",
		"slash in password": "http://admin:s3cr/etpw@host:8161/console/jolokia",
		"bad escape":        "http://admin:s3cretpw%zz@host:8161/console/jolokia",
		"no host":           "http://admin:s3cretpw@/console/jolokia",
	} {
		_, err := newManagement(raw, FlavorArtemis, http.DefaultClient)
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), "s3cr", name)
		require.Contains(t, err.Error(), "invalid management URL", name)
	}
}
