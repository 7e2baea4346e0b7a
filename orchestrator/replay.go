package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/storage"
)

// Replay errors the API maps to client errors.
var (
	// ErrNothingToReplay: the source holds no artefact of the stage.
	ErrNothingToReplay = errors.New("nothing to replay")
	// ErrReplayTarget: the target route is missing or cannot be inferred.
	ErrReplayTarget = errors.New("no replay target route")
)

// ReplayRequest replays the artefacts a stage of a source execution
// stored into a route of a new execution. Replay reads storage, the
// source of truth: objects under executions/<source>/<route>/<stage>/.
type ReplayRequest struct {
	SourceExecutionID string
	// FromStage is the stage (adapter step name) whose artefacts are
	// replayed; FromRoute narrows it to one route, FromPath to keys under
	// a sub-path of the stage's folder.
	FromStage string
	FromRoute string
	FromPath  string
	// SourcePipeline is the source execution's pipeline, used to infer
	// the target when ToRoute is empty: the route that consumes what the
	// stage's route emits.
	SourcePipeline *pipeline.Pipeline
	// ToRoute is the route of Start.Pipeline that receives the artefacts.
	ToRoute string
	// Detached replays are not linked to the source as its replays.
	Detached bool
	// Start describes the new execution (pipeline, config, tag, metadata);
	// its seed and replay fields are filled in here.
	Start StartRequest
}

// ReplayResult is what a replay started.
type ReplayResult struct {
	Execution *Execution
	BatchID   string
	ToRoute   string
	// Found objects; Published as messages; Failed = rejected (too large).
	Found, Published, Failed int
}

// engineMetaKeys are the sidecar fields the engine writes about where an
// artefact came from; a replayed message does not inherit them.
var engineMetaKeys = []string{storage.MetaExecutionID, storage.MetaRoute, storage.MetaStage, storage.MetaMessageID,
	storage.MetaContentType, "etag", "size"}

// Replay starts a new execution seeded with one message per artefact.
func (m *Manager) Replay(ctx context.Context, req ReplayRequest) (*ReplayResult, error) {
	if req.SourceExecutionID == "" || req.FromStage == "" {
		return nil, fmt.Errorf("%w: a source execution and a stage are required", ErrNothingToReplay)
	}
	target := req.Start.Pipeline
	if target == nil {
		return nil, fmt.Errorf("%w: no pipeline given", ErrNotRunnable)
	}
	objects, err := m.stageObjects(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		where := "any route"
		if req.FromRoute != "" {
			where = "route " + req.FromRoute
		}
		return nil, fmt.Errorf("%w: execution %s stored no artefact of stage %q in %s", ErrNothingToReplay,
			req.SourceExecutionID, req.FromStage, where)
	}

	toRoute := req.ToRoute
	if toRoute == "" {
		var err error
		if toRoute, err = inferTarget(req.SourcePipeline, req.FromRoute, req.FromStage); err != nil {
			return nil, err
		}
	}
	if _, ok := target.Routes[toRoute]; !ok {
		return nil, fmt.Errorf("%w: %q is not a route of the target pipeline (routes: %s)", ErrReplayTarget, toRoute,
			strings.Join(target.RouteOrder, ", "))
	}

	batch := newID()
	start := req.Start
	start.ReplayBatchID = batch
	start.Seeds = make([]Seed, 0, len(objects))
	for _, o := range objects {
		payload := maps.Clone(map[string]any(o.Metadata))
		if payload == nil {
			payload = map[string]any{}
		}
		for _, k := range engineMetaKeys {
			delete(payload, k)
		}
		payload["storage_key"] = o.Key
		payload["object_key"] = o.Key
		payload["replay"] = map[string]any{"source_execution_id": req.SourceExecutionID, "stage": req.FromStage, "batch_id": batch}
		start.Seeds = append(start.Seeds, Seed{Route: toRoute, Payload: payload})
	}
	start.ReplaySource = map[string]any{"type": "storage", "source_execution_id": req.SourceExecutionID,
		"from_stage": req.FromStage, "from_route": req.FromRoute, "from_path": req.FromPath, "to_route": toRoute,
		"replay_batch_id": batch, "detached": req.Detached}
	if !req.Detached {
		start.ParentExecutionID = req.SourceExecutionID
	}
	ex, err := m.Start(ctx, start)
	if err != nil {
		return nil, err
	}
	// Rejected seeds and any left unpublished by a broker failure (which
	// also fails the execution) count as failed.
	published, _, err := ex.SeedCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("waiting for replay seeds to be published: %w", err)
	}
	return &ReplayResult{Execution: ex, BatchID: batch, ToRoute: toRoute, Found: len(objects),
		Published: published, Failed: len(objects) - published}, nil
}

// stageObjects lists the artefacts of the stage, oldest key first, with
// their metadata.
func (m *Manager) stageObjects(ctx context.Context, req ReplayRequest) ([]storage.ObjectInfo, error) {
	prefix := "executions/" + req.SourceExecutionID + "/"
	if req.FromRoute != "" {
		prefix += req.FromRoute + "/" + req.FromStage + "/"
		if p := strings.Trim(req.FromPath, "/"); p != "" {
			prefix += p
		}
	}
	var out []storage.ObjectInfo
	for info, err := range m.storage.List(ctx, prefix, storage.ListOptions{WithMetadata: true}) {
		if err != nil {
			return nil, fmt.Errorf("listing artefacts of execution %s: %w", req.SourceExecutionID, err)
		}
		if info.IsPrefix {
			continue
		}
		// executions/<id>/<route>/<stage>/<rest>
		parts := strings.SplitN(info.Key, "/", 5)
		if len(parts) < 5 || parts[3] != req.FromStage {
			continue
		}
		if req.FromRoute == "" && req.FromPath != "" && !strings.HasPrefix(parts[4], strings.Trim(req.FromPath, "/")) {
			continue
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b storage.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// inferTarget finds the route that consumes what the stage's route emits.
func inferTarget(p *pipeline.Pipeline, fromRoute, stage string) (string, error) {
	if p == nil {
		return "", fmt.Errorf("%w: name to_route (the source pipeline is unknown)", ErrReplayTarget)
	}
	var owners []string
	for _, key := range p.RouteOrder {
		if fromRoute != "" && key != fromRoute {
			continue
		}
		for _, s := range p.Routes[key].Adapters {
			if s.Name == stage || (s.Name == "" && s.Type == stage) {
				owners = append(owners, key)
				break
			}
		}
	}
	if len(owners) != 1 {
		return "", fmt.Errorf("%w: stage %q belongs to %d routes of the source pipeline; name from_route or to_route",
			ErrReplayTarget, stage, len(owners))
	}
	var next []string
	for _, e := range pipeline.Edges(p) {
		if e.From == owners[0] && !slices.Contains(next, e.To) {
			next = append(next, e.To)
		}
	}
	if len(next) != 1 {
		return "", fmt.Errorf("%w: route %s feeds %d routes (%s); name to_route", ErrReplayTarget, owners[0], len(next),
			strings.Join(next, ", "))
	}
	return next[0], nil
}
