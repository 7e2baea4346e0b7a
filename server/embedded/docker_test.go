package embedded

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// unixHTTP serves handler on a Unix socket in a fresh directory.
func unixHTTP(t *testing.T, handler http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dock") // short: socket paths are limited
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "unix://" + sock
}

func TestPingDocker(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_ping" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("OK"))
	})
	failing := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "daemon is starting", http.StatusInternalServerError)
	})
	tcpOK := httptest.NewServer(ok)
	t.Cleanup(tcpOK.Close)

	// A listener that accepts and never answers: the probe must give up.
	silentDir, err := os.MkdirTemp("", "dock")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(silentDir) })
	silent, err := net.Listen("unix", filepath.Join(silentDir, "s.sock"))
	require.NoError(t, err)
	t.Cleanup(func() { silent.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()

	tests := []struct {
		name     string
		endpoint string
		want     bool
	}{
		{"engine answering on a unix socket", unixHTTP(t, ok), true},
		{"engine answering on tcp", "tcp://" + tcpOK.Listener.Addr().String(), true},
		{"engine answering an error", unixHTTP(t, failing), false},
		{"socket that never answers", "unix://" + filepath.Join(silentDir, "s.sock"), false},
		{"socket file missing", "unix://" + filepath.Join(t.TempDir(), "none.sock"), false},
		{"unsupported scheme", "npipe:////./pipe/docker_engine", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, pingDocker(context.Background(), tt.endpoint, 300*time.Millisecond))
		})
	}
}

func TestProbeDockerPicksTheFirstAnsweringEndpoint(t *testing.T) {
	t.Parallel()
	ok := unixHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) }))
	dead := "unix://" + filepath.Join(t.TempDir(), "dead.sock")

	got, found := probeDocker(context.Background(), []string{dead, ok}, 300*time.Millisecond)
	require.True(t, found)
	require.Equal(t, ok, got)

	_, found = probeDocker(context.Background(), []string{dead}, 300*time.Millisecond)
	require.False(t, found)
	_, found = probeDocker(context.Background(), nil, 300*time.Millisecond)
	require.False(t, found)
}

func TestDockerEndpointsHonourDockerHost(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
	require.Equal(t, []string{"tcp://127.0.0.1:2375"}, dockerEndpoints())

	t.Setenv("DOCKER_HOST", "")
	for _, ep := range dockerEndpoints() {
		// Only socket files that exist are listed, so a machine without
		// Docker has nothing to dial.
		st, err := os.Stat(ep[len("unix://"):])
		require.NoError(t, err)
		require.NotZero(t, st.Mode()&os.ModeSocket)
	}
}
