package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RouteStateValue is whether a route key consumes messages.
type RouteStateValue string

const (
	RouteRunning RouteStateValue = "running"
	RoutePaused  RouteStateValue = "paused"
)

// RouteState is the persisted pause state of a route key (the YAML map key).
// It applies to every execution using that key, later ones included.
type RouteState struct {
	RouteKey  string          `json:"route_id"`
	State     RouteStateValue `json:"state"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// RouteStates persists pause/resume per route key.
type RouteStates struct{ pool *pgxpool.Pool }

const (
	sqlRouteStateSet = `INSERT INTO route_states (route_key, state) VALUES ($1, $2)
ON CONFLICT (route_key) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
RETURNING route_key, state, updated_at`
	sqlRouteStateGet  = `SELECT route_key, state, updated_at FROM route_states WHERE route_key = $1`
	sqlRouteStateList = `SELECT route_key, state, updated_at FROM route_states ORDER BY route_key`
)

func scanRouteState(row pgx.CollectableRow) (RouteState, error) {
	var (
		s     RouteState
		state string
	)
	err := row.Scan(&s.RouteKey, &state, &s.UpdatedAt)
	s.State = RouteStateValue(state)
	return s, err
}

// Set records the state of a route key.
func (r *RouteStates) Set(ctx context.Context, routeKey string, state RouteStateValue) (RouteState, error) {
	if routeKey == "" {
		return RouteState{}, invalidArg("route key is empty", "pass the route's key from the pipeline YAML")
	}
	if state != RouteRunning && state != RoutePaused {
		return RouteState{}, invalidArg(fmt.Sprintf("unknown route state %q", state), "use paused or running")
	}
	rows, err := r.pool.Query(ctx, sqlRouteStateSet, routeKey, string(state))
	if err != nil {
		return RouteState{}, fmt.Errorf("setting route %s %s: %w", routeKey, state, err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanRouteState)
	if err != nil {
		return RouteState{}, fmt.Errorf("setting route %s %s: %w", routeKey, state, err)
	}
	return s, nil
}

// Get returns the state of a route key. A key never set is running (with a
// zero UpdatedAt).
func (r *RouteStates) Get(ctx context.Context, routeKey string) (RouteState, error) {
	rows, err := r.pool.Query(ctx, sqlRouteStateGet, routeKey)
	if err != nil {
		return RouteState{}, fmt.Errorf("reading state of route %s: %w", routeKey, err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanRouteState)
	if isNoRows(err) {
		return RouteState{RouteKey: routeKey, State: RouteRunning}, nil
	}
	if err != nil {
		return RouteState{}, fmt.Errorf("reading state of route %s: %w", routeKey, err)
	}
	return s, nil
}

// List returns every route key whose state was ever set, by key.
func (r *RouteStates) List(ctx context.Context) ([]RouteState, error) {
	rows, err := r.pool.Query(ctx, sqlRouteStateList)
	if err != nil {
		return nil, fmt.Errorf("listing route states: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanRouteState)
	if err != nil {
		return nil, fmt.Errorf("listing route states: %w", err)
	}
	return out, nil
}
