package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/store"
)

type execRef struct {
	ID string `path:"id" maxLength:"200" example:"nightly-2026-12-01" doc:"Execution id (UUID) or tag"`
}

func (a *API) execution(ctx context.Context, ref string) (*store.Execution, error) {
	rec, err := a.opts.DB.Executions().GetByIDOrTag(ctx, ref)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return rec, nil
}

func (a *API) registerExecutions() {
	type startOut struct {
		Status int
		Body   Execution
	}
	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/executions", "start-execution", "Start an execution of a stored config", "executions")
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *struct{ Body ExecutionStart }) (*startOut, error) {
		b := in.Body
		if b.IdempotencyKey != "" {
			// Answered before the concurrency cap is consulted: a retried
			// request must not be refused for the execution it started.
			prev, err := a.opts.DB.Executions().FindByIdempotencyKey(ctx, b.IdempotencyKey, orchestrator.DefaultIdempotencyWindow)
			switch {
			case err == nil:
				return &startOut{Status: http.StatusOK, Body: *prev}, nil
			case !errors.Is(err, store.ErrNotFound):
				return nil, a.fail(ctx, err)
			}
		}
		c, err := a.resolveConfig(ctx, b.ConfigID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		meta := maps.Clone(b.TriggerContext)
		if meta == nil {
			meta = map[string]any{}
		}
		maps.Copy(meta, b.Metadata)
		if len(meta) == 0 {
			meta = nil
		}
		rec, err := a.start(ctx, c, orchestrator.StartRequest{Payload: b.Payload, Tag: b.Tag, Metadata: meta,
			IdempotencyKey: b.IdempotencyKey, SkipInit: b.SkipInitMessage})
		if errors.Is(err, errDuplicate) {
			return &startOut{Status: http.StatusOK, Body: *rec}, nil
		}
		if err != nil {
			return nil, err
		}
		return &startOut{Status: http.StatusCreated, Body: *rec}, nil
	})

	type listIn struct {
		Status   string `query:"status" enum:"pending,running,completed,failed,cancelling,cancelled,interrupted,"`
		ConfigID string `query:"config_id" maxLength:"200" doc:"Config id (UUID) or name"`
		Limit    int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset   int    `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/executions", "list-executions", "List executions, newest first", "executions"),
		func(ctx context.Context, in *listIn) (*struct{ Body Page[Execution] }, error) {
			f := store.ExecutionFilter{Status: store.ExecutionStatus(in.Status), Limit: in.Limit, Offset: in.Offset}
			if in.ConfigID != "" {
				c, err := a.resolveConfig(ctx, in.ConfigID)
				if err != nil {
					return nil, a.fail(ctx, err)
				}
				f.ConfigID = c.ID
			}
			pg, err := a.opts.DB.Executions().List(ctx, f)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[Execution] }{Body: pageOf(pg)}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}", "get-execution", "One execution, by id or tag", "executions"),
		func(ctx context.Context, in *execRef) (*struct{ Body Execution }, error) {
			rec, err := a.execution(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body Execution }{Body: *rec}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/executions/{id}/cancel", "cancel-execution",
			"Cancel gracefully: intake stops, in-flight messages finish", "executions")
		o.DefaultStatus = http.StatusAccepted
		return o
	}(), func(ctx context.Context, in *execRef) (*struct{ Body CancelResult }, error) {
		rec, err := a.execution(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if rec.Status.Terminal() {
			return nil, problem(http.StatusConflict, CodeExecutionFinished,
				fmt.Sprintf("execution %s already ended %s", rec.ID, rec.Status), "nothing to cancel")
		}
		if err := a.opts.Manager.Cancel(rec.ID); err != nil {
			if rec.OwnerID != "" && rec.OwnerID != a.opts.InstanceID {
				return nil, problem(http.StatusConflict, CodeExecutionElsewhere,
					fmt.Sprintf("execution %s runs on instance %s", rec.ID, rec.OwnerID), "send the cancel to that instance")
			}
			return nil, problem(http.StatusConflict, CodeExecutionFinished,
				fmt.Sprintf("execution %s is %s and not running here", rec.ID, rec.Status),
				"an interrupted execution resumes or is settled at the next start")
		}
		return &struct{ Body CancelResult }{Body: CancelResult{ID: rec.ID, Status: store.StatusCancelling}}, nil
	})

	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}/stats", "get-execution-stats",
		"Counts per route (live while running) and per adapter (from lineage)", "executions"),
		func(ctx context.Context, in *execRef) (*struct{ Body ExecutionStats }, error) {
			st, err := a.stats(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ExecutionStats }{Body: *st}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}/routes", "get-execution-routes", "Per-route counts", "executions"),
		func(ctx context.Context, in *execRef) (*struct{ Body ExecutionRoutes }, error) {
			st, err := a.stats(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ExecutionRoutes }{Body: ExecutionRoutes{ExecutionID: st.ExecutionID, Status: st.Status, Routes: st.Routes}}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}/dag", "get-execution-dag",
		"Routes and the queues between them, from the execution's config snapshot", "executions"),
		func(ctx context.Context, in *execRef) (*struct{ Body DAG }, error) {
			rec, err := a.execution(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			p, err := a.snapshotPipeline(rec)
			if err != nil {
				return nil, err
			}
			return &struct{ Body DAG }{Body: dagOf(rec.ID, p)}, nil
		})

	type lineageIn struct {
		ID     string `path:"id" maxLength:"200" example:"nightly-2026-12-01" doc:"Execution id (UUID) or tag"`
		Limit  int    `query:"limit" minimum:"1" maximum:"10000" default:"1000"`
		Offset int    `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}/lineage", "get-execution-lineage",
		"Lineage rows (one per message per adapter) in start order", "executions"),
		func(ctx context.Context, in *lineageIn) (*struct{ Body LineagePage }, error) {
			rec, err := a.execution(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			pg, err := a.opts.DB.Lineage().ByExecution(ctx, rec.ID, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body LineagePage }{Body: LineagePage{ExecutionID: rec.ID, Page: Page[store.LineageEntry]{
				Total: pg.Total, Limit: pg.Limit, Offset: pg.Offset, HasMore: pg.HasMore(), Items: pg.Items}}}, nil
		})

	type pageIn struct {
		ID     string `path:"id" maxLength:"200" example:"nightly-2026-12-01" doc:"Execution id (UUID) or tag"`
		Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset int    `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}/replays", "list-execution-replays",
		"Executions started as replays of this one, newest first", "executions"),
		func(ctx context.Context, in *pageIn) (*struct{ Body Page[Execution] }, error) {
			rec, err := a.execution(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			pg, err := a.opts.DB.Executions().List(ctx, store.ExecutionFilter{ParentExecutionID: rec.ID, Limit: in.Limit, Offset: in.Offset})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[Execution] }{Body: pageOf(pg)}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}/dead-letters", "list-execution-dead-letters",
		"The messages this execution gave up on, oldest first, with reason, error class, attempt and payload", "executions"),
		func(ctx context.Context, in *pageIn) (*struct{ Body Page[DeadLetter] }, error) {
			rec, err := a.execution(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			// Every message the execution gave up on, requeued or not: the
			// requeued ones carry requeued_at and the new message's id.
			pg, err := a.opts.DB.DeadLetters().List(ctx, store.DeadLetterFilter{ExecutionID: rec.ID,
				State: store.DeadLetterAll, Limit: in.Limit, Offset: in.Offset})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[DeadLetter] }{Body: pageOf(pg)}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/executions/{id}/timeline", "get-execution-timeline",
		"Every persisted event of an execution, oldest first", "executions"),
		func(ctx context.Context, in *execRef) (*struct{ Body Timeline }, error) {
			rec, err := a.execution(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			out := Timeline{ExecutionID: rec.ID, Events: []store.ExecutionEvent{}}
			after := ""
			for {
				evs, err := a.opts.DB.Events().List(ctx, rec.ID, after, eventPage)
				if err != nil {
					return nil, a.fail(ctx, err)
				}
				out.Events = append(out.Events, evs...)
				if len(evs) < eventPage {
					break
				}
				after = evs[len(evs)-1].ID
			}
			return &struct{ Body Timeline }{Body: out}, nil
		})
}

// eventPage is how many events one read of the timeline fetches.
const eventPage = 500

// snapshotPipeline loads the pipeline frozen into an execution.
func (a *API) snapshotPipeline(rec *store.Execution) (*pipeline.Pipeline, error) {
	yaml, err := orchestrator.FrozenYAML(rec)
	if err != nil {
		return nil, problem(http.StatusConflict, "SNAPSHOT_UNREADABLE",
			fmt.Sprintf("execution %s has no readable config snapshot", rec.ID), "the execution predates snapshots or was recorded by hand")
	}
	p, _ := pipeline.Load([]byte(yaml), a.opts.Registry)
	if p == nil {
		return nil, problem(http.StatusConflict, "SNAPSHOT_UNREADABLE",
			fmt.Sprintf("the config snapshot of execution %s no longer parses", rec.ID), "")
	}
	return p, nil
}

func dagOf(id string, p *pipeline.Pipeline) DAG {
	d := DAG{ExecutionID: id, Nodes: []DAGNode{}, Edges: []DAGEdge{}}
	if p.InitMessage != nil {
		d.InitRoute = p.InitMessage.Route
		if r := p.Routes[p.InitMessage.Route]; r != nil {
			d.InitQueue = r.Inbound.Queue
		}
	}
	for _, key := range p.RouteOrder {
		r := p.Routes[key]
		n := DAGNode{RouteID: key, Name: r.Name, Description: r.Description, Queue: r.Inbound.Queue, Adapters: []DAGAdapter{}}
		for _, s := range r.Adapters {
			n.Adapters = append(n.Adapters, DAGAdapter{Type: s.Type, Name: s.Name})
		}
		d.Nodes = append(d.Nodes, n)
	}
	for _, e := range pipeline.Edges(p) {
		d.Edges = append(d.Edges, DAGEdge{FromRoute: e.From, ToRoute: e.To, Queue: e.Queue})
	}
	return d
}

// stats merges what is known of an execution: live engine counts when it
// runs here, else the per-route counts recorded when it ended or the last
// progress event; per-adapter figures always come from lineage.
func (a *API) stats(ctx context.Context, ref string) (*ExecutionStats, error) {
	rec, err := a.execution(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := &ExecutionStats{ExecutionID: rec.ID, Status: string(rec.Status), Routes: []RouteStats{}, Adapters: []AdapterStats{}}
	if rec.StartedAt != nil {
		end := time.Now()
		if rec.CompletedAt != nil {
			end = *rec.CompletedAt
		}
		out.ElapsedMS = end.Sub(*rec.StartedAt).Milliseconds()
	}
	counts, err := a.opts.DB.Lineage().AdapterCounts(ctx, rec.ID)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	avgByRoute := map[string]float64{}
	for _, c := range counts {
		as := AdapterStats{RouteID: c.RouteID, AdapterName: c.AdapterName, AdapterIndex: c.AdapterIndex,
			Completed: c.ByStatus[store.StageCompleted], Failed: c.ByStatus[store.StageFailed],
			Skipped: c.ByStatus[store.StageSkipped], Retrying: c.ByStatus[store.StageRetrying], AvgDurationMS: c.AvgDurationMS}
		if span := c.LastCompleted.Sub(c.FirstStarted).Seconds(); span > 0 {
			as.Throughput = float64(as.Completed) / span
		}
		for _, n := range c.ByStatus {
			out.LineageRows += n
		}
		avgByRoute[c.RouteID] += c.AvgDurationMS
		out.Adapters = append(out.Adapters, as)
	}
	if n, err := a.opts.DB.DeadLetters().CountByExecution(ctx, rec.ID); err == nil {
		out.DeadLetters = n
	}

	var routes []orchestrator.RouteStats
	live := false
	if ex, ok := a.opts.Manager.Get(rec.ID); ok {
		st := ex.Stats()
		routes, live = st.Routes, true
		out.Outstanding, out.Artefacts = st.Outstanding, st.Artefacts
	} else if rs, ok := rec.ErrorInfo["routes"]; ok {
		routes = orchestrator.RoutesFrom(rs)
		if n, ok := rec.ErrorInfo["artefacts"].(float64); ok {
			out.Artefacts = int64(n)
		}
	} else if ev, err := a.opts.DB.Events().Latest(ctx, rec.ID, store.EventProgress); err == nil {
		routes = orchestrator.RoutesFrom(ev.Data["routes"])
		out.LineageNotes = "route counts are from the last progress event (" + ev.CreatedAt.Format(time.RFC3339) + ")"
	}
	var queues map[string]string
	if p, err := a.snapshotPipeline(rec); err == nil {
		queues = make(map[string]string, len(p.Routes))
		for k, r := range p.Routes {
			queues[k] = r.Inbound.Queue
		}
	}
	for _, r := range routes {
		out.Routes = append(out.Routes, routeStatsOf(r, queues[r.Route], live, avgByRoute[r.Route]))
	}
	out.Totals = routeStatsOf(orchestrator.Stats{Routes: routes}.Totals(), "", live, 0)
	out.Totals.RouteID = "*"
	return out, nil
}

func routeStatsOf(r orchestrator.RouteStats, queue string, live bool, avgMS float64) RouteStats {
	return RouteStats{RouteID: r.Route, Queue: queue, Live: live, Received: r.Received, Completed: r.Completed,
		Failed: r.Failed, Retried: r.Retried, DeadLettered: r.DeadLettered, Skipped: r.Skipped, Emitted: r.Emitted,
		InFlight: r.InFlight, Paused: r.Paused, Rate: r.Rate, AvgDurationMS: avgMS}
}

// pageOf wraps a store page in the API's envelope.
func pageOf[T any](pg store.Page[T]) Page[T] {
	return Page[T]{Total: pg.Total, Limit: pg.Limit, Offset: pg.Offset, HasMore: pg.HasMore(), Items: pg.Items}
}
