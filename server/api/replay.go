package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/orchestrator"
)

// Codes of replay.
const (
	CodeReplayNothing = "REPLAY_NOTHING_FOUND"
	CodeReplayTarget  = "REPLAY_TARGET_INVALID"
)

func (a *API) registerReplay() {
	type execIn struct {
		ID   string `path:"id" maxLength:"200" example:"nightly-2026-12-01" doc:"Execution id (UUID) or tag"`
		Body ExecutionReplay
	}
	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/executions/{id}/replay", "replay-execution",
			"Replay the artefacts a stage stored into a new execution linked to this one", "executions")
		o.Description = "Same pipeline by default (the target is the route the stage's route feeds, or to_route); " +
			"with config_id, into another config's pipeline (cross-pipeline). The new execution starts without its " +
			"init message, with one message per artefact carrying storage_key and the artefact's metadata, all " +
			"under one replay_batch_id."
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *execIn) (*struct{ Body ReplayResult }, error) {
		src, err := a.execution(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		srcPipeline, err := a.snapshotPipeline(src)
		if err != nil {
			return nil, err
		}
		cfgRef := in.Body.ConfigID
		if cfgRef == "" {
			cfgRef = src.ConfigID
		}
		if cfgRef == "" {
			return nil, problem(http.StatusBadRequest, CodeReplayTarget, "the execution has no config to replay into",
				"name config_id")
		}
		res, err := a.replay(ctx, cfgRef, orchestrator.ReplayRequest{SourceExecutionID: src.ID, FromStage: in.Body.FromStage,
			FromRoute: in.Body.FromRoute, FromPath: in.Body.FromPath, SourcePipeline: srcPipeline, ToRoute: in.Body.ToRoute,
			Start: orchestrator.StartRequest{Tag: in.Body.Tag, Metadata: in.Body.Metadata}})
		if err != nil {
			return nil, err
		}
		return &struct{ Body ReplayResult }{Body: *res}, nil
	})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/replay", "replay-detached",
			"Replay stored artefacts of any execution into a route of a config, as a new unlinked execution", "replay")
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *struct{ Body DetachedReplay }) (*struct{ Body ReplayResult }, error) {
		src, err := a.execution(ctx, in.Body.SourceExecutionID)
		if err != nil {
			return nil, err
		}
		res, err := a.replay(ctx, in.Body.ConfigID, orchestrator.ReplayRequest{SourceExecutionID: src.ID,
			FromStage: in.Body.FromStage, FromRoute: in.Body.FromRoute, FromPath: in.Body.FromPath,
			ToRoute: in.Body.ToRoute, Detached: true,
			Start: orchestrator.StartRequest{Tag: in.Body.Tag, Metadata: in.Body.Metadata}})
		if err != nil {
			return nil, err
		}
		return &struct{ Body ReplayResult }{Body: *res}, nil
	})
}

func (a *API) replay(ctx context.Context, cfgRef string, req orchestrator.ReplayRequest) (*ReplayResult, error) {
	c, err := a.resolveConfig(ctx, cfgRef)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if err := a.runnable(c, &req.Start); err != nil {
		return nil, err
	}
	res, err := a.opts.Manager.Replay(ctx, req)
	switch {
	case errors.Is(err, orchestrator.ErrNothingToReplay):
		return nil, problem(http.StatusNotFound, CodeReplayNothing, err.Error(),
			"check from_stage (and from_route); GET /api/v1/storage/objects?execution_id=… lists what was stored")
	case errors.Is(err, orchestrator.ErrReplayTarget):
		return nil, problem(http.StatusBadRequest, CodeReplayTarget, err.Error(),
			"name to_route: a route of the target pipeline (GET /api/v1/executions/{id}/dag shows them)")
	case err != nil:
		return nil, a.fail(ctx, err)
	}
	rec, err := a.opts.DB.Executions().Get(ctx, res.Execution.ID)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return &ReplayResult{Execution: *rec, ReplayBatchID: res.BatchID, ToRoute: res.ToRoute, ObjectsFound: res.Found,
		ObjectsPublished: res.Published, ObjectsFailed: res.Failed}, nil
}
