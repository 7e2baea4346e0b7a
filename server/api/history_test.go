package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func TestConfigVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.createConfig("quick", quickPipeline)
	e.call(http.MethodPut, "/api/v1/configs/quick", api.ConfigUpdate{Name: "quick", ConfigYAML: "version: \"1.0\"\nroutes: {}\n"}, http.StatusOK, nil)
	e.call(http.MethodPut, "/api/v1/configs/quick", api.ConfigUpdate{Name: "quick", ConfigYAML: quickPipeline}, http.StatusOK, nil)

	var vs api.ConfigVersions
	e.call(http.MethodGet, "/api/v1/configs/quick/versions", nil, http.StatusOK, &vs)
	require.Equal(t, c.ID, vs.ConfigID)
	require.Equal(t, 3, vs.Current)
	require.Equal(t, 3, vs.Total)
	for i, v := range vs.Items {
		require.Equal(t, i+1, v.Version)
	}
	require.True(t, vs.Items[0].ValidationReport.IsValid)
	require.False(t, vs.Items[1].ValidationReport.IsValid, "version 2 had no routes: %+v", vs.Items[1].ValidationReport)
	require.Equal(t, quickPipeline, vs.Items[2].YAML)

	e.problem(e.do(http.MethodGet, "/api/v1/configs/nope/versions", nil), http.StatusNotFound, store.CodeConfigNotFound)
}

func TestExecutionDeadLettersAndReplays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("quick", quickPipeline)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run?tag=with-dlq", nil, http.StatusCreated, &ex)
	e.waitStatus(ex.ID, true)

	var dls api.Page[api.DeadLetter]
	e.call(http.MethodGet, "/api/v1/executions/with-dlq/dead-letters", nil, http.StatusOK, &dls)
	require.Equal(t, 1, dls.Total)
	d := dls.Items[0]
	require.Equal(t, ex.ID, d.ExecutionID)
	require.Equal(t, "work", d.Route)
	require.Equal(t, "fail", d.Adapter)
	require.Equal(t, "permanent", d.ErrorClass)
	require.Contains(t, string(d.Payload), "https://x.test/bad")

	var one api.DeadLetter
	e.call(http.MethodGet, "/api/v1/dead-letters/"+d.ID, nil, http.StatusOK, &one)
	require.Equal(t, d.ID, one.ID)
	e.call(http.MethodGet, "/api/v1/dead-letters?execution_id=with-dlq", nil, http.StatusOK, &dls)
	require.Equal(t, 1, dls.Total)
	e.call(http.MethodGet, "/api/v1/dead-letters", nil, http.StatusOK, &dls)
	require.Equal(t, 1, dls.Total)
	e.problem(e.do(http.MethodGet, "/api/v1/dead-letters/0190c3a8-7d2e-7000-8000-000000000000", nil), http.StatusNotFound, store.CodeNotFound)
	e.problem(e.do(http.MethodGet, "/api/v1/dead-letters?execution_id=nope", nil), http.StatusNotFound, store.CodeExecutionNotFound)

	// Replays are executions whose parent is this one.
	var replays api.Page[api.Execution]
	e.call(http.MethodGet, "/api/v1/executions/with-dlq/replays", nil, http.StatusOK, &replays)
	require.Zero(t, replays.Total)
	child := &store.Execution{ConfigID: ex.ConfigID, ParentExecutionID: ex.ID}
	require.NoError(t, e.c.DB.Executions().Create(context.Background(), child))
	e.call(http.MethodGet, "/api/v1/executions/with-dlq/replays", nil, http.StatusOK, &replays)
	require.Equal(t, 1, replays.Total)
	require.Equal(t, child.ID, replays.Items[0].ID)
	require.Equal(t, ex.ID, replays.Items[0].ParentExecutionID)
}

// Concurrent starts with one idempotency key start one execution; every
// caller gets it, exactly one with 201.
func TestIdempotentStartsUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("quick", quickPipeline)
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do(http.MethodPost, "/api/v1/executions", api.ExecutionStart{ConfigID: "quick", IdempotencyKey: "same-key"})
		}()
	}
	wg.Wait()
	created := 0
	ids := map[string]bool{}
	for _, r := range results {
		require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.status, string(r.body))
		if r.status == http.StatusCreated {
			created++
		}
		var ex api.Execution
		require.NoError(t, jsonUnmarshal(r.body, &ex))
		ids[ex.ID] = true
	}
	require.Equal(t, 1, created, "exactly one start created an execution")
	require.Len(t, ids, 1, "every caller got the same execution")
	var list api.Page[api.Execution]
	e.call(http.MethodGet, "/api/v1/executions", nil, http.StatusOK, &list)
	require.Equal(t, 1, list.Total)
}
