package api_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func (e *env) openEvents(id, lastEventID, query string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+"/api/v1/executions/"+id+"/events"+query, nil)
	require.NoError(e.t, err)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusOK, res.StatusCode)
	require.Equal(e.t, "text/event-stream", res.Header.Get("Content-Type"))
	return res
}

func terminal(ev sseEvent) bool {
	return ev.Type == store.EventStatus && ev.Event.Route == "" && ev.Event.Status.Terminal()
}

// A folder-ingest style pipeline runs through the API: run with payload
// override and tag, follow the event stream to the end, then read stats,
// routes, DAG, lineage, timeline and the artefacts it wrote.
func TestRunAndInspect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	folder := threeFiles(t)
	yaml := ingestPipeline
	e.createConfig("ingest", yaml)

	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/ingest/run?tag=first-run", map[string]any{"root": folder}, http.StatusCreated, &ex)
	require.Equal(t, "first-run", ex.Tag)
	require.NotEmpty(t, ex.ID)

	// Follow the stream by tag until the terminal status.
	res := e.openEvents("first-run", "", "")
	evs := readEvents(t, res.Body, nil) // the server closes after the terminal event
	res.Body.Close()
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	require.True(t, terminal(last), "the stream ends with the terminal status: %+v", last)
	require.Equal(t, store.StatusCompleted, last.Event.Status, last.Event.Reason)
	for i, ev := range evs {
		require.NotEmpty(t, ev.ID)
		require.Equal(t, ev.ID, ev.Event.ID)
		require.Equal(t, ev.Type, ev.Event.Type)
		if i > 0 {
			require.Greater(t, ev.ID, evs[i-1].ID, "UUIDv7 ids ascend")
		}
	}

	got := e.waitStatus(ex.ID, true)
	require.Equal(t, store.StatusCompleted, got.Status)

	var st api.ExecutionStats
	e.call(http.MethodGet, "/api/v1/executions/first-run/stats", nil, http.StatusOK, &st)
	require.Equal(t, "completed", st.Status)
	byRoute := map[string]api.RouteStats{}
	for _, r := range st.Routes {
		byRoute[r.RouteID] = r
	}
	require.EqualValues(t, 1, byRoute["scan"].Completed)
	require.EqualValues(t, 3, byRoute["convert"].Completed)
	require.Equal(t, "f.convert", byRoute["convert"].Queue)
	require.EqualValues(t, 4, st.Totals.Completed)
	require.EqualValues(t, 6, st.Artefacts, "a copy and a Markdown of each file, recorded when it ended")
	require.Len(t, st.Adapters, 4, "one row per adapter of each route")
	require.EqualValues(t, 1+3*3, st.LineageRows)
	for _, a := range st.Adapters {
		require.Zero(t, a.Failed, a)
	}

	var routes api.ExecutionRoutes
	e.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/routes", nil, http.StatusOK, &routes)
	require.Len(t, routes.Routes, 2)

	var dag api.DAG
	e.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/dag", nil, http.StatusOK, &dag)
	require.Equal(t, "scan", dag.InitRoute)
	require.Equal(t, "f.scan", dag.InitQueue)
	require.Len(t, dag.Nodes, 2)
	require.Equal(t, []api.DAGEdge{{FromRoute: "scan", ToRoute: "convert", Queue: "f.convert"}}, dag.Edges)
	require.Len(t, dag.Nodes[1].Adapters, 3)

	var lin api.LineagePage
	e.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/lineage?limit=4", nil, http.StatusOK, &lin)
	require.Equal(t, 10, lin.Total)
	require.Len(t, lin.Items, 4)
	require.True(t, lin.HasMore)

	var tl api.Timeline
	e.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/timeline", nil, http.StatusOK, &tl)
	require.Len(t, tl.Events, len(evs), "the stream carried the whole timeline")

	var list api.Page[api.Execution]
	e.call(http.MethodGet, "/api/v1/executions?status=completed&config_id=ingest", nil, http.StatusOK, &list)
	require.Equal(t, 1, list.Total)
	require.Equal(t, ex.ID, list.Items[0].ID)

	// Artefacts: listed with metadata, read raw, metadata alone.
	var objs api.StorageList
	e.call(http.MethodGet, "/api/v1/storage/objects?limit=100", nil, http.StatusOK, &objs)
	var md string
	for _, o := range objs.Items {
		if strings.HasSuffix(o.Key, ".md") && strings.Contains(o.Key, "alpha") || strings.HasSuffix(o.Key, "a.md") {
			md = o.Key
		}
	}
	require.NotEmpty(t, md, "a Markdown artefact of a.md is listed: %+v", objs.Items)
	r := e.do(http.MethodGet, "/api/v1/storage/objects/"+url.PathEscape(md), nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Contains(t, string(r.body), "Alpha")
	var meta api.ObjectMetadata
	e.call(http.MethodGet, "/api/v1/storage/objects/"+url.PathEscape(md)+"/metadata", nil, http.StatusOK, &meta)
	require.Equal(t, md, meta.Key)
	require.EqualValues(t, len(r.body), meta.Size)
	require.Equal(t, ex.ID, meta.Metadata["execution_id"], meta.Metadata)

	// Folders: delimiter groups keys.
	var top api.StorageList
	e.call(http.MethodGet, "/api/v1/storage/objects?delimiter=/", nil, http.StatusOK, &top)
	require.NotEmpty(t, top.CommonPrefixes)

	// Cancelling a finished execution is a conflict.
	e.problem(e.do(http.MethodPost, "/api/v1/executions/"+ex.ID+"/cancel", nil), http.StatusConflict, api.CodeExecutionFinished)
	// A terminal execution's stream replays and closes at once.
	res = e.openEvents(ex.ID, "", "")
	again := readEvents(t, res.Body, nil)
	res.Body.Close()
	require.Equal(t, evs, again)
}

// A client whose connection drops resumes with Last-Event-ID and gets every
// event exactly once.
func TestEventStreamResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("quick", quickPipeline)
	// Pause the work route first so the execution stays running while the
	// stream is cut and resumed, then let it finish.
	e.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "paused"}, http.StatusOK, nil)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/executions", api.ExecutionStart{ConfigID: "quick", Tag: "resume-me",
		Metadata: map[string]any{"who": "test"}, TriggerContext: map[string]any{"via": "api"}}, http.StatusCreated, &ex)
	require.Equal(t, map[string]any{"who": "test", "via": "api"}, ex.Metadata)

	var seen []sseEvent
	// First connection: read up to the first event, then drop.
	res := e.openEvents(ex.ID, "", "")
	seen = append(seen, readEvents(t, res.Body, func(sseEvent) bool { return true })...)
	res.Body.Close()
	require.Len(t, seen, 1)

	// Resume, let the pipeline go on, drop again after one more event.
	e.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "running"}, http.StatusOK, nil)
	res = e.openEvents(ex.ID, seen[len(seen)-1].ID, "")
	seen = append(seen, readEvents(t, res.Body, func(sseEvent) bool { return true })...)
	res.Body.Close()

	// Resume until the end.
	for !terminal(seen[len(seen)-1]) {
		res = e.openEvents(ex.ID, seen[len(seen)-1].ID, "")
		more := readEvents(t, res.Body, nil)
		res.Body.Close()
		seen = append(seen, more...)
	}
	require.Equal(t, store.StatusCompleted, seen[len(seen)-1].Event.Status)

	var tl api.Timeline
	e.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/timeline", nil, http.StatusOK, &tl)
	ids := make([]string, 0, len(seen))
	for _, ev := range seen {
		ids = append(ids, ev.ID)
	}
	want := make([]string, 0, len(tl.Events))
	types := map[string]int{}
	for _, ev := range tl.Events {
		want = append(want, ev.ID)
		types[ev.Type]++
	}
	require.Equal(t, want, ids, "every event exactly once, in order")
	require.Equal(t, 1, types[store.EventDeadLetter], "the bad URL was dead-lettered: %v", types)
	require.GreaterOrEqual(t, types[store.EventStatus], 4, "running, route paused, route running, completed: %v", types)

	// A malformed Last-Event-ID is refused.
	r := e.do(http.MethodGet, "/api/v1/executions/"+ex.ID+"/events", nil, "Last-Event-ID", "not-an-id")
	e.problem(r, http.StatusBadRequest, api.CodeEventIDInvalid)
}

// Cancel, the concurrency cap (429) and route control through the API.
func TestCancelLimitsAndPause(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *container.Config) { c.MaxConcurrentExecutions = 1 })
	e.createConfig("quick", quickPipeline)
	var ps api.PipelineControlResult
	e.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "paused"}, http.StatusOK, &ps)
	require.True(t, ps.Success)
	require.Equal(t, "paused", ps.Status)
	var states api.Page[api.RouteState]
	e.call(http.MethodGet, "/api/v1/pipelines", nil, http.StatusOK, &states)
	require.Equal(t, 1, states.Total)
	require.Equal(t, store.RoutePaused, states.Items[0].State)

	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run", nil, http.StatusCreated, &ex)
	require.Equal(t, store.StatusRunning, ex.Status)

	// The cap is reached: a second start is refused with 429.
	e.problem(e.do(http.MethodPost, "/api/v1/configs/quick/run", nil), http.StatusTooManyRequests, api.CodeTooManyExecutions)

	// Idempotency: the same key within the window returns the same execution.
	e.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "running"}, http.StatusOK, nil)
	e.waitStatus(ex.ID, true)
	e.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "paused"}, http.StatusOK, nil)
	var first, second api.Execution
	e.call(http.MethodPost, "/api/v1/executions", api.ExecutionStart{ConfigID: "quick", IdempotencyKey: "k-1"}, http.StatusCreated, &first)
	e.call(http.MethodPost, "/api/v1/executions", api.ExecutionStart{ConfigID: "quick", IdempotencyKey: "k-1"}, http.StatusOK, &second)
	require.Equal(t, first.ID, second.ID)

	// Live stats while paused: the work route holds its messages.
	var st api.ExecutionStats
	e.call(http.MethodGet, "/api/v1/executions/"+first.ID+"/stats", nil, http.StatusOK, &st)
	require.True(t, st.Totals.Live)

	var cr api.CancelResult
	e.call(http.MethodPost, "/api/v1/executions/"+first.ID+"/cancel", nil, http.StatusAccepted, &cr)
	require.Equal(t, store.StatusCancelling, cr.Status)
	done := e.waitStatus(first.ID, true)
	require.Equal(t, store.StatusCancelled, done.Status)
	e.problem(e.do(http.MethodPost, "/api/v1/executions/"+first.ID+"/cancel", nil), http.StatusConflict, api.CodeExecutionFinished)

	// A stream with stage detail on a finished execution still closes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/v1/executions/"+first.ID+"/events?detail=stages", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(body), "event: status")
}

// Two servers share one database and broker: the one that does not run an
// execution still streams its events (from the timeline, woken by polling
// rather than by its own bus) and refuses to cancel what it does not own.
func TestEventStreamFromAnotherInstance(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	shared := func(c *container.Config) { c.DatabaseURL = dbURL }
	owner := newEnv(t, shared)
	other := newEnv(t, shared)
	owner.createConfig("quick", quickPipeline)

	owner.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "paused"}, http.StatusOK, nil)
	var ex api.Execution
	owner.call(http.MethodPost, "/api/v1/configs/quick/run?tag=elsewhere", nil, http.StatusCreated, &ex)

	res := other.openEvents("elsewhere", "", "")
	defer res.Body.Close()
	n := 0
	all := readEvents(t, res.Body, func(sseEvent) bool {
		if n++; n == 1 {
			// The stream is live on the other instance; now let it finish.
			other.problem(other.do(http.MethodPost, "/api/v1/executions/elsewhere/cancel", nil), http.StatusConflict, api.CodeExecutionElsewhere)
			owner.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "running"}, http.StatusOK, nil)
		}
		return false
	})
	require.True(t, terminal(all[len(all)-1]), "the other instance's stream ends with the terminal status")

	var tl api.Timeline
	owner.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/timeline", nil, http.StatusOK, &tl)
	require.Len(t, all, len(tl.Events))
	for i := range all {
		require.Equal(t, tl.Events[i].ID, all[i].ID)
	}
}

// Idle streams carry heartbeat comments.
func TestEventStreamHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, api.Options{HeartbeatInterval: 50 * time.Millisecond, PollInterval: time.Hour})
	e.createConfig("quick", quickPipeline)
	e.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "paused"}, http.StatusOK, nil)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run", nil, http.StatusCreated, &ex)
	res := e.openEvents(ex.ID, "", "")
	sc := bufio.NewScanner(res.Body)
	beats := 0
	for beats < 3 && sc.Scan() {
		if sc.Text() == ": heartbeat" {
			beats++
		}
	}
	res.Body.Close()
	require.Equal(t, 3, beats)
	e.call(http.MethodPost, "/api/v1/executions/"+ex.ID+"/cancel", nil, http.StatusAccepted, nil)
	require.Equal(t, store.StatusCancelled, e.waitStatus(ex.ID, true).Status)
}

// skip_init_message starts the routes without the seed: with nothing to do
// the execution completes at once, having processed nothing.
func TestRunSkipInit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("quick", quickPipeline)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run?skip_init_message=true&tag=no-seed", nil, http.StatusCreated, &ex)
	require.Empty(t, ex.RootCorrelationID, "no init message, no root correlation id")
	done := e.waitStatus("no-seed", true)
	require.Equal(t, store.StatusCompleted, done.Status)
	var st api.ExecutionStats
	e.call(http.MethodGet, "/api/v1/executions/no-seed/stats", nil, http.StatusOK, &st)
	require.Zero(t, st.Totals.Received)
	require.Zero(t, st.LineageRows)
}
