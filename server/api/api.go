package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// Options are the services the API serves.
type Options struct {
	DB       *store.DB
	Manager  *orchestrator.Manager
	Storage  storage.Store
	Queue    queue.Provider
	Registry *adapters.Registry
	// InstanceID is this process's execution lease (store.Instance.ID).
	InstanceID string
	Version    string
	StartedAt  time.Time
	Logger     *slog.Logger
	// HeartbeatInterval spaces SSE keep-alive comments (default 15s).
	HeartbeatInterval time.Duration
}

// API is the HTTP API.
type API struct {
	opts Options
	mux  *http.ServeMux
}

// New builds the API over opts.
func New(opts Options) (*API, error) {
	a := &API{opts: opts, mux: http.NewServeMux()}
	return a, nil
}

// Handler serves /api/v1, /openapi.json and /docs.
func (a *API) Handler() http.Handler { return a.mux }
