package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	natsq "github.com/factflow/factflow/queue/nats"
	"github.com/factflow/factflow/server/api"
)

func TestClientSystem(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)

	info := decoded[api.SystemInfo](t, e.cli("system", "info", "--output", "json"))
	require.Equal(t, "nats", info.Providers.Queue.Provider)
	require.Equal(t, "1.0", info.PipelineSchemaVersion)
	require.Positive(t, info.Adapters)
	res := e.cli("system", "info")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "pipeline schema:")
	require.Contains(t, res.stdout, "storage:")
	require.Contains(t, res.stdout, info.InstanceID)

	h := decoded[api.Health](t, e.cli("system", "health", "--debug", "--output", "json"))
	var db map[string]any
	for _, c := range h.Components {
		if c.Name == "database" {
			db, _ = c.Details.(map[string]any)
		}
	}
	require.Contains(t, db, "total_conns", "%+v", h)
	res = e.cli("system", "health", "--debug")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "\ndatabase:\n")
	require.Contains(t, res.stdout, "acquired_conns:")
	require.Contains(t, res.stdout, "event_bus_dropped:")
	res = e.cli("system", "health")
	require.Equal(t, exitOK, res.code, res)
	require.NotContains(t, res.stdout, "acquired_conns:", "details only with --debug")

	d := decoded[api.MQDiagnostic](t, e.cli("system", "mq-diagnostic", "--count", "20", "--payload-bytes", "100", "--output", "json"))
	require.True(t, d.OK, "%+v", d)
	require.Equal(t, 20, d.Received)
	res = e.cli("system", "mq-diagnostic", "--output", "yaml")
	require.Equal(t, exitOK, res.code, res)
	var y api.MQDiagnostic
	require.NoError(t, yaml.Unmarshal([]byte(res.stdout), &y), res.stdout)
	require.Equal(t, 10, y.Received)
	res = e.cli("system", "mq-diagnostic")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "all_received")
	require.Contains(t, res.stdout, "latency p99:")

	for _, args := range [][]string{{"--count", "0"}, {"--count", "1001"}, {"--payload-bytes", "2000000"}, {"--within", "5m"}} {
		res = e.cli(append([]string{"system", "mq-diagnostic"}, args...)...)
		require.Equal(t, exitUsage, res.code, "%v: %s", args, res)
	}
}

// A server whose broker connection is gone: the diagnostic names the
// step and the command exits 1.
func TestClientMQDiagnosticBrokerDown(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	down, err := natsq.New(ctx, natsq.Config{Server: e.c.NATS})
	require.NoError(t, err)
	require.NoError(t, down.Close(ctx))
	a, err := api.New(api.Options{DB: e.c.DB, Manager: e.c.Manager, Storage: e.c.Storage, Queue: down,
		Registry: e.c.Registry, InstanceID: e.c.Instance.ID})
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	res := cliAt(t, context.Background(), srv.URL, "system", "mq-diagnostic")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stdout, "FAILED at connect")
	require.Contains(t, res.stderr, "failed at connect")

	res = cliAt(t, context.Background(), srv.URL, "system", "mq-diagnostic", "--output", "json")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stdout, `"failed_step": "connect"`)
}
