package nats

import (
	"context"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
)

// startAuthServer runs a TCP server in this process with the given options
// on a free loopback port.
func startAuthServer(t *testing.T, opts server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, true, true
	if opts.JetStream {
		opts.StoreDir = t.TempDir()
	}
	ns, err := server.NewServer(&opts)
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	require.True(t, ns.ReadyForConnections(testTimeout))
	return ns
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	var coded *Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, code, coded.Code, "error: %v", err)
}

func TestNewCredentialsInURL(t *testing.T) {
	userSrv := startAuthServer(t, server.Options{JetStream: true, Username: "flow", Password: "s3cret"})
	tokenSrv := startAuthServer(t, server.Options{JetStream: true, Authorization: "t0ken"})
	userHost := userSrv.Addr().String()
	tokenHost := tokenSrv.Addr().String()

	tests := []struct {
		name, url string
		code      string // "" when New succeeds
	}{
		{"user and password", "nats://flow:s3cret@" + userHost, ""},
		{"wrong password", "nats://flow:wrong@" + userHost, codeConnect},
		{"no credentials", "nats://" + userHost, codeConnect},
		{"token", "nats://t0ken@" + tokenHost, ""},
		{"wrong token", "nats://nope@" + tokenHost, codeConnect},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.URL = tc.url
			p, err := New(testCtx(t), cfg)
			if tc.code == "" {
				require.NoError(t, err)
				require.NoError(t, p.Close(context.Background()))
				return
			}
			requireCode(t, err, tc.code)
			require.NotContains(t, err.Error(), "wrong", "credentials leak into the error")
			require.NotContains(t, err.Error(), "nope", "credentials leak into the error")
		})
	}
}

func TestNewRequiresJetStream(t *testing.T) {
	ns := startAuthServer(t, server.Options{})
	cfg := testConfig()
	cfg.URL = "nats://" + ns.Addr().String()
	_, err := New(testCtx(t), cfg)
	requireCode(t, err, codeJetStream)
}

func TestNewUnreachable(t *testing.T) {
	cfg := testConfig()
	cfg.URL = "nats://127.0.0.1:1"
	_, err := New(testCtx(t), cfg)
	requireCode(t, err, codeConnect)

	_, err = New(testCtx(t), Config{})
	requireCode(t, err, codeConnect)
}

func TestStartServerOptions(t *testing.T) {
	_, err := StartServer(testCtx(t), ServerOptions{})
	requireCode(t, err, codeServer)
	_, err = StartServer(testCtx(t), ServerOptions{StoreDir: t.TempDir(), Listen: "no-port"})
	requireCode(t, err, codeServer)

	srv, err := StartServer(testCtx(t), ServerOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", SyncAlways: true})
	require.NoError(t, err)
	require.Regexp(t, `^nats://127\.0\.0\.1:\d+$`, srv.ClientURL())
	cfg := testConfig()
	cfg.URL = srv.ClientURL()
	p, err := New(testCtx(t), cfg)
	require.NoError(t, err)
	require.NoError(t, p.Close(context.Background()))
	require.NoError(t, srv.Shutdown(testCtx(t)))
}
