package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// mdOnly converts stored files to Markdown: a pipeline to replay into.
const mdOnly = `version: "1.0"
routes:
  md:
    inbound: { queue: m.md }
    adapters:
      - type: storage_retriever
      - type: html_to_markdown
      - type: markdown_storage_writer
        name: replayed
`

// Replays of an ingest run: its stored file copies (stage file_source of
// route scan) go again through the convert route (same pipeline, target
// inferred), through another config's route (cross-pipeline) and as a
// detached replay; each is a new execution whose messages and lineage
// carry the replay batch.
func TestReplayEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("ingest", ingestPipeline)
	e.createConfig("md-only", mdOnly)
	src := runIngest(t, e, "source")

	// Same pipeline: the target is the route scan feeds (convert).
	var res api.ReplayResult
	e.call(http.MethodPost, "/api/v1/executions/source/replay", api.ExecutionReplay{FromStage: "file_source", Tag: "again"},
		http.StatusCreated, &res)
	require.Equal(t, "convert", res.ToRoute)
	require.Equal(t, 3, res.ObjectsFound)
	require.Equal(t, 3, res.ObjectsPublished)
	require.Zero(t, res.ObjectsFailed)
	require.NotEmpty(t, res.ReplayBatchID)
	require.Equal(t, src.ID, res.Execution.ParentExecutionID)
	require.Equal(t, "again", res.Execution.Tag)
	require.Contains(t, string(res.Execution.ReplaySource), `"from_stage":"file_source"`)
	done := e.waitStatus(res.Execution.ID, true)
	require.Equal(t, store.StatusCompleted, done.Status)

	var lin api.LineagePage
	e.call(http.MethodGet, "/api/v1/executions/again/lineage", nil, http.StatusOK, &lin)
	require.Equal(t, 9, lin.Total, "three messages through convert's three adapters, nothing through scan")
	for _, row := range lin.Items {
		require.Equal(t, "convert", row.RouteID)
		require.Equal(t, res.ReplayBatchID, row.ReplayBatchID)
	}
	var objs api.StorageList
	e.call(http.MethodGet, "/api/v1/storage/objects?execution_id=again&stage=markdown_storage_writer", nil, http.StatusOK, &objs)
	require.Equal(t, 3, objs.Total, "the replay wrote the Markdown again")

	var replays api.Page[api.Execution]
	e.call(http.MethodGet, "/api/v1/executions/source/replays", nil, http.StatusOK, &replays)
	require.Equal(t, 1, replays.Total)

	// Cross-pipeline: into md-only's route md.
	res = api.ReplayResult{}
	e.call(http.MethodPost, "/api/v1/executions/source/replay",
		api.ExecutionReplay{FromStage: "file_source", FromRoute: "scan", ConfigID: "md-only", ToRoute: "md", FromPath: "a"},
		http.StatusCreated, &res)
	require.Equal(t, 1, res.ObjectsFound, "from_path narrows to the copy of a.md")
	require.Equal(t, "md-only", res.Execution.ConfigName)
	require.Equal(t, src.ID, res.Execution.ParentExecutionID)
	require.Equal(t, store.StatusCompleted, e.waitStatus(res.Execution.ID, true).Status)
	e.call(http.MethodGet, "/api/v1/storage/objects?execution_id="+res.Execution.ID+"&stage=replayed", nil, http.StatusOK, &objs)
	require.Equal(t, 1, objs.Total)

	// Detached: a new execution not listed among the source's replays.
	res = api.ReplayResult{}
	e.call(http.MethodPost, "/api/v1/replay", api.DetachedReplay{SourceExecutionID: "source", FromStage: "file_source",
		ConfigID: "md-only", ToRoute: "md"}, http.StatusCreated, &res)
	require.Equal(t, 3, res.ObjectsPublished)
	require.Empty(t, res.Execution.ParentExecutionID)
	require.Contains(t, string(res.Execution.ReplaySource), `"detached":true`)
	require.Equal(t, store.StatusCompleted, e.waitStatus(res.Execution.ID, true).Status)
	e.call(http.MethodGet, "/api/v1/executions/source/replays", nil, http.StatusOK, &replays)
	require.Equal(t, 2, replays.Total)

	// Bad input.
	e.problem(e.do(http.MethodPost, "/api/v1/executions/source/replay", api.ExecutionReplay{FromStage: "no_such_stage"}),
		http.StatusNotFound, api.CodeReplayNothing)
	e.problem(e.do(http.MethodPost, "/api/v1/executions/source/replay", api.ExecutionReplay{FromStage: "file_source", ToRoute: "nope"}),
		http.StatusBadRequest, api.CodeReplayTarget)
	e.problem(e.do(http.MethodPost, "/api/v1/executions/source/replay", api.ExecutionReplay{FromStage: "markdown_storage_writer"}),
		http.StatusBadRequest, api.CodeReplayTarget) // convert feeds nothing: name to_route
	e.problem(e.do(http.MethodPost, "/api/v1/executions/nope/replay", api.ExecutionReplay{FromStage: "file_source"}),
		http.StatusNotFound, store.CodeExecutionNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/replay", `{"source_execution_id": "source", "from_stage": "file_source"}`),
		http.StatusUnprocessableEntity, api.CodeValidationFailed)
}
