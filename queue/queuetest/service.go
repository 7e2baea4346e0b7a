package queuetest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue/brokerlock"
)

// Service is a broker that scripts/services.sh runs on this machine, which
// restart tests may stop and start.
type Service struct {
	// Script is the path of scripts/services.sh from the test's package.
	Script string
	// Name is the service's name in the script, which is also its broker
	// lock's name.
	Name string
	// EnvVar is the variable the script exports the broker's URL as.
	EnvVar string
}

// Manages reports whether u is the broker the script runs (and not some
// other broker the test was pointed at, which it must not stop).
func (s Service) Manages(t testing.TB, u string) bool {
	t.Helper()
	out, err := exec.Command(s.Script, "env").Output()
	if err != nil {
		t.Logf("%s env: %v", s.Script, err)
		return false
	}
	return strings.Contains(string(out), s.EnvVar+"='"+u+"'")
}

// Restart stops the broker (a clean shutdown) and starts it again on the
// same data. It holds the broker's lock exclusively for the rest of the
// test, so no test of another package that uses the broker is cut.
func (s Service) Restart(t testing.TB) {
	t.Helper()
	brokerlock.Hold(t, s.Name, true)
	for _, cmd := range []string{"down", "up"} {
		out, err := exec.Command(s.Script, cmd, s.Name).CombinedOutput()
		require.NoError(t, err, "%s %s %s: %s", s.Script, cmd, s.Name, out)
	}
}

// RequireManaged fails the test unless u is the broker the script runs. A
// test that stops and starts the broker must not stop one it does not own,
// and must not pass without running either.
func (s Service) RequireManaged(t testing.TB, u string) {
	t.Helper()
	if !s.Manages(t, u) {
		t.Fatalf("%s is not the broker %s runs; this test stops and starts the broker: start it with `%s up %s` and use its environment",
			s.EnvVar, s.Script, s.Script, s.Name)
	}
}
