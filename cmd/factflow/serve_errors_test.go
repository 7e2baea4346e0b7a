package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// Settings that cannot work are refused before anything starts, each with
// its code and a hint.
func TestServeRefusesBadSettings(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(badConfig, []byte("server:\n  prot: 80\n"), 0o600))
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })
	takenPort := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{
			name: "no database and not embedded",
			args: []string{"--data-dir", dir},
			code: exitUsage,
			want: []string{"DATABASE_URL_REQUIRED", "--embedded"},
		},
		{
			name: "public address without auth",
			args: []string{"--embedded", "--host", "0.0.0.0", "--data-dir", dir},
			code: exitUsage,
			want: []string{"AUTH_REQUIRED_FOR_PUBLIC_BIND", `"0.0.0.0" (flag --host)`, "hint: "},
		},
		{
			name: "public address from the environment",
			env:  []string{"FACTFLOW_HOST=0.0.0.0"},
			args: []string{"--embedded", "--data-dir", dir},
			code: exitUsage,
			want: []string{"AUTH_REQUIRED_FOR_PUBLIC_BIND", "env FACTFLOW_HOST"},
		},
		{
			name: "unknown key in --config",
			args: []string{"--embedded", "--config", badConfig},
			code: exitUsage,
			want: []string{"APP_CONFIG_INVALID", badConfig + `:2:3: unknown key "prot" in server`},
		},
		{
			name: "malformed environment value",
			env:  []string{"FACTFLOW_PORT=eighty"},
			args: []string{"--embedded"},
			code: exitUsage,
			want: []string{"APP_CONFIG_INVALID", "server.port (env FACTFLOW_PORT): want a whole number"},
		},
		{
			name: "port in use",
			// The port is bound before the database is touched: this one
			// would not answer.
			args: []string{"--port", takenPort, "--database-url", "postgres://nobody:secret@127.0.0.1:1/none", "--data-dir", dir},
			code: exitFailed,
			want: []string{"SERVE_LISTEN_FAILED", "127.0.0.1:" + takenPort, "--port"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runBinary(t, bin, childEnv(tc.env...), append([]string{"serve"}, tc.args...)...)
			require.Equal(t, tc.code, res.code, res)
			for _, w := range tc.want {
				require.Contains(t, res.stderr, w, res)
			}
			require.NotContains(t, res.stdout, "Factflow is serving", res)
			require.NotContains(t, res.stderr, "secret", "no password in any message")
		})
	}
}

// With strict validation (the default) an invalid pipeline in
// pipelines.dir stops the start; the server does not serve.
func TestServeStrictPipelines(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	pipelines := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(pipelines, "broken.yaml"),
		[]byte("version: \"1.0\"\nroutes:\n  a:\n    inbound: { queue: q.a }\n    adapters: [ { type: no_such_adapter } ]\n"), 0o600))
	res := runBinary(t, bin, childEnv("DATABASE_URL="+storetest.URL(t), "FACTFLOW_PIPELINES_DIR="+pipelines),
		"serve", "--port", "0", "--data-dir", t.TempDir())
	require.Equal(t, exitUsage, res.code, res)
	require.Contains(t, res.stderr, "SHIPPED_PIPELINE_INVALID", res)
	require.Contains(t, res.stderr, filepath.Join(pipelines, "broken.yaml"), res)
	require.Contains(t, res.stderr, "no_such_adapter", res)
	require.Contains(t, res.stderr, "FACTFLOW_CONFIG_VALIDATOR_STRICT=0", res)
	require.NotContains(t, res.stdout, "Factflow is serving", res)
}
