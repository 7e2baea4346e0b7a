package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/storage"
)

// Health statuses.
const (
	healthy   = "healthy"
	degraded  = "degraded"
	unhealthy = "unhealthy"
)

func (a *API) registerSystem() {
	huma.Register(a.huma, op(http.MethodGet, "/system/health", "get-system-health",
		"Health of the server and every component it depends on", "system"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body Health }, error) {
			return &struct{ Body Health }{Body: a.health(ctx)}, nil
		})
}

// health probes each component with a short deadline so one hung
// dependency cannot hang the probe.
func (a *API) health(ctx context.Context) Health {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	probe := func(name string, fn func() (string, string, any)) HealthComponent {
		start := time.Now()
		status, msg, details := fn()
		return HealthComponent{Name: name, Status: status, Message: msg, Details: details,
			CheckedAt: time.Now().UTC(), LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	}
	comps := []HealthComponent{
		probe("database", func() (string, string, any) {
			if err := a.opts.DB.Ping(ctx); err != nil {
				return unhealthy, err.Error(), nil
			}
			return healthy, "", nil
		}),
		probe("storage", func() (string, string, any) {
			for _, err := range a.opts.Storage.List(ctx, "", storage.ListOptions{Limit: 1}) {
				if err != nil {
					return unhealthy, err.Error(), nil
				}
			}
			return healthy, a.opts.Storage.URI(), nil
		}),
		probe("orchestrator", func() (string, string, any) {
			n := len(a.opts.Manager.Running())
			return healthy, fmt.Sprintf("%d executions running", n), map[string]any{"running": n}
		}),
	}
	if a.opts.Queue != nil {
		comps = append(comps, probe("queue", func() (string, string, any) {
			h := a.opts.Queue.Health(ctx)
			switch h.State {
			case queue.Healthy:
				return healthy, h.Provider, h
			case queue.Degraded, queue.Reconnecting:
				return degraded, h.Detail, h
			default:
				return unhealthy, h.Detail, h
			}
		}))
	}
	overall := healthy
	for _, c := range comps {
		switch {
		case c.Status == unhealthy:
			overall = unhealthy
		case c.Status == degraded && overall == healthy:
			overall = degraded
		}
	}
	return Health{Status: overall, Version: a.opts.Version, Components: comps,
		Timestamp: time.Now().UTC(), UptimeSeconds: time.Since(a.opts.StartedAt).Seconds()}
}

func (a *API) adapterInfo(typ string) (Adapter, bool) {
	s, ok := a.opts.Registry.Lookup(typ)
	if !ok {
		return Adapter{}, false
	}
	out := Adapter{Type: s.Type, Category: s.Category, Summary: s.Summary, Description: s.Description,
		Reads: s.Reads, Writes: s.Writes, Emits: s.Emits}
	if s.Config != nil {
		out.ConfigSchema = configspec.Schema(s.Config)
	}
	return out, true
}

func (a *API) registerAdapters() {
	huma.Register(a.huma, op(http.MethodGet, "/adapters", "list-adapters",
		"Adapter types with their config JSON Schemas", "adapters"),
		func(_ context.Context, _ *struct{}) (*struct{ Body AdapterList }, error) {
			types := a.opts.Registry.Types()
			sort.Strings(types)
			out := AdapterList{Items: make([]Adapter, 0, len(types))}
			for _, t := range types {
				if ad, ok := a.adapterInfo(t); ok {
					out.Items = append(out.Items, ad)
				}
			}
			out.Total = len(out.Items)
			return &struct{ Body AdapterList }{Body: out}, nil
		})

	type typeInput struct {
		Type string `path:"type" maxLength:"200"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/adapters/{type}", "get-adapter",
		"One adapter type: docs and config JSON Schema", "adapters"),
		func(_ context.Context, in *typeInput) (*struct{ Body Adapter }, error) {
			ad, ok := a.adapterInfo(in.Type)
			if !ok {
				return nil, problem(http.StatusNotFound, CodeAdapterNotFound,
					fmt.Sprintf("no adapter type %q", in.Type), "GET /api/v1/adapters lists the types")
			}
			return &struct{ Body Adapter }{Body: ad}, nil
		})
}
