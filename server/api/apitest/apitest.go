// Package apitest serves the real HTTP API over the real engine for tests:
// a container (PostgreSQL from storetest, a broker, file storage in a
// temporary directory) behind an httptest server on loopback.
package apitest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store/storetest"
)

// Server is a running API and what it serves.
type Server struct {
	URL       string
	Container *container.Container
	API       *api.API
}

// Start starts a container from cfg and serves the API over it until the
// test ends. Empty DataDir and DatabaseURL get a temporary directory and a
// storetest database; crawler targets on loopback are allowed (tests serve
// their websites there). opts' services are filled in from the container;
// event streams poll every 200 ms unless opts say otherwise.
func Start(t testing.TB, cfg container.Config, opts api.Options) *Server {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = storetest.URL(t)
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	cfg.AllowPrivateTargets = true
	c, err := container.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("apitest: starting the container: %v", err)
	}
	opts.DB, opts.Manager, opts.Storage, opts.Queue = c.DB, c.Manager, c.Storage, c.Queue
	opts.Registry, opts.InstanceID, opts.Archives, opts.Lineage = c.Registry, c.Instance.ID, c.Archives, c.Lineage
	opts.Vectors, opts.Search, opts.Chat, opts.LLM = c.Vectors, c.Search, c.Chat, c.LLM
	if opts.Webhooks == nil {
		opts.Webhooks = c.Webhooks
	}
	if opts.Version == "" {
		opts.Version = "test"
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	a, err := api.New(opts)
	if err != nil {
		t.Fatalf("apitest: building the API: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("apitest: stopping the container: %v", err)
		}
	})
	return &Server{URL: srv.URL, Container: c, API: a}
}
