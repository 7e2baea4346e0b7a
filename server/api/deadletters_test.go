package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// dlqEnv runs quickPipeline once (one permanent dead letter on route work)
// and adds two dead letters of route expand to the same execution, so that
// filters have something to tell apart.
func dlqEnv(t *testing.T) (*env, api.Execution, []api.DeadLetter) {
	t.Helper()
	e := newEnv(t)
	e.createConfig("quick", quickPipeline)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run?tag=dlq-run", nil, http.StatusCreated, &ex)
	e.waitStatus(ex.ID, true)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, class := range []string{"retryable", "permanent"} {
		corr, err := store.NewID()
		require.NoError(t, err)
		require.NoError(t, e.c.DB.DeadLetters().Insert(ctx, &store.DeadLetter{ExecutionID: ex.ID, Route: "expand",
			Adapter: "url_expander", Queue: "q.expand", CorrelationID: corr, ErrorClass: class, Reason: "synthetic",
			Headers: map[string]string{"factflow-execution-id": ex.ID, "factflow-message-id": corr},
			Payload: json.RawMessage(`{"urls":[]}`)}))
	}
	var all api.Page[api.DeadLetter]
	e.call(http.MethodGet, "/api/v1/dead-letters", nil, http.StatusOK, &all)
	require.Equal(t, 3, all.Total, "one from the run, two inserted")
	require.Equal(t, "work", all.Items[0].Route, "oldest first: the run's comes before the inserted ones")
	return e, ex, all.Items
}

func (e *env) deadLetterIDs(query string) []string {
	e.t.Helper()
	var pg api.Page[api.DeadLetter]
	e.call(http.MethodGet, "/api/v1/dead-letters"+query, nil, http.StatusOK, &pg)
	require.Equal(e.t, len(pg.Items), pg.Total)
	ids := []string{}
	for _, d := range pg.Items {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestDeadLetterListFilters(t *testing.T) {
	t.Parallel()
	e, ex, dls := dlqEnv(t)
	work, retry, perm := dls[0].ID, dls[1].ID, dls[2].ID

	require.Equal(t, []string{work, retry, perm}, e.deadLetterIDs("?execution_id=dlq-run"))
	require.Equal(t, []string{work, retry, perm}, e.deadLetterIDs("?execution_id="+ex.ID+"&state=pending"))
	require.Equal(t, []string{retry, perm}, e.deadLetterIDs("?route=expand"))
	require.Equal(t, []string{work}, e.deadLetterIDs("?adapter=fail"))
	require.Equal(t, []string{work, perm}, e.deadLetterIDs("?error_class=permanent"))
	require.Equal(t, []string{perm}, e.deadLetterIDs("?route=expand&error_class=permanent"))
	require.Empty(t, e.deadLetterIDs("?state=requeued"))
	require.Equal(t, []string{work, retry, perm}, e.deadLetterIDs("?state=all"))
	since := url.QueryEscape(dls[1].CreatedAt.Format(time.RFC3339Nano))
	until := url.QueryEscape(dls[2].CreatedAt.Format(time.RFC3339Nano))
	require.Equal(t, []string{retry, perm}, e.deadLetterIDs("?since="+since))
	require.Equal(t, []string{work, retry}, e.deadLetterIDs("?until="+until))
	require.Equal(t, []string{retry}, e.deadLetterIDs("?since="+since+"&until="+until))

	var pg api.Page[api.DeadLetter]
	e.call(http.MethodGet, "/api/v1/dead-letters?limit=1&offset=1", nil, http.StatusOK, &pg)
	require.Equal(t, 3, pg.Total)
	require.True(t, pg.HasMore)
	require.Equal(t, retry, pg.Items[0].ID)

	// The execution's own list keeps every dead letter, requeued or not.
	e.call(http.MethodGet, "/api/v1/executions/dlq-run/dead-letters", nil, http.StatusOK, &pg)
	require.Equal(t, 3, pg.Total)

	e.problem(e.do(http.MethodGet, "/api/v1/dead-letters?state=gone", nil), http.StatusUnprocessableEntity, api.CodeValidationFailed)
	e.problem(e.do(http.MethodGet, "/api/v1/dead-letters?since=yesterday", nil), http.StatusUnprocessableEntity, api.CodeValidationFailed)
	e.problem(e.do(http.MethodGet, "/api/v1/dead-letters?since="+until+"&until="+since, nil), http.StatusBadRequest, store.CodeInvalidArgument)
	e.problem(e.do(http.MethodGet, "/api/v1/dead-letters?execution_id=nope", nil), http.StatusNotFound, store.CodeExecutionNotFound)
}

func TestDeadLetterDiscard(t *testing.T) {
	t.Parallel()
	e, _, dls := dlqEnv(t)
	work, retry, perm := dls[0].ID, dls[1].ID, dls[2].ID

	e.call(http.MethodDelete, "/api/v1/dead-letters/"+work, nil, http.StatusNoContent, nil)
	e.problem(e.do(http.MethodDelete, "/api/v1/dead-letters/"+work, nil), http.StatusNotFound, store.CodeNotFound)
	e.problem(e.do(http.MethodDelete, "/api/v1/dead-letters/not-a-uuid", nil), http.StatusNotFound, store.CodeNotFound)
	e.problem(e.do(http.MethodGet, "/api/v1/dead-letters/"+work, nil), http.StatusNotFound, store.CodeNotFound)

	// Without a filter the guard holds, whatever the state.
	p := e.problem(e.do(http.MethodDelete, "/api/v1/dead-letters", nil), http.StatusUnprocessableEntity, api.CodeConfirmationRequired)
	require.NotEmpty(t, p.Hint)
	e.problem(e.do(http.MethodDelete, "/api/v1/dead-letters?state=all", nil), http.StatusUnprocessableEntity, api.CodeConfirmationRequired)
	e.problem(e.do(http.MethodDelete, "/api/v1/dead-letters?execution_id=nope", nil), http.StatusNotFound, store.CodeExecutionNotFound)
	require.Equal(t, []string{retry, perm}, e.deadLetterIDs(""), "nothing went")

	var res api.DeadLetterDeleteResult
	e.call(http.MethodDelete, "/api/v1/dead-letters?route=expand&error_class=retryable", nil, http.StatusOK, &res)
	require.Equal(t, 1, res.Deleted)
	e.call(http.MethodDelete, "/api/v1/dead-letters?route=nowhere", nil, http.StatusOK, &res)
	require.Zero(t, res.Deleted)
	require.Equal(t, []string{perm}, e.deadLetterIDs(""))
	e.call(http.MethodDelete, "/api/v1/dead-letters?confirm=true", nil, http.StatusOK, &res)
	require.Equal(t, 1, res.Deleted)
	require.Empty(t, e.deadLetterIDs("?state=all"))
}

func TestDeadLetterRequeueRefusals(t *testing.T) {
	t.Parallel()
	e, _, dls := dlqEnv(t)
	work := dls[0].ID
	const path = "/api/v1/dead-letters/requeue"

	e.problem(e.do(http.MethodPost, path, map[string]any{}), http.StatusUnprocessableEntity, api.CodeRequeueSelection)
	e.problem(e.do(http.MethodPost, path, map[string]any{"ids": []string{work}, "filter": map[string]any{"route": "work"}}),
		http.StatusUnprocessableEntity, api.CodeRequeueSelection)
	for _, body := range []map[string]any{
		{"ids": []string{work}, "delay": "soon"},
		{"ids": []string{work}, "delay": "-1s"},
		{"ids": []string{work}, "delay": "48h"},
		{"ids": []string{work}, "delay": "1s", "delay_seconds": 1},
	} {
		e.problem(e.do(http.MethodPost, path, body), http.StatusUnprocessableEntity, api.CodeRequeueDelay)
	}
	e.problem(e.do(http.MethodPost, path, map[string]any{"ids": []string{work}, "delay_seconds": -1}),
		http.StatusUnprocessableEntity, api.CodeValidationFailed)
	tooMany := make([]string, 1001)
	for i := range tooMany {
		tooMany[i] = work
	}
	e.problem(e.do(http.MethodPost, path, map[string]any{"ids": tooMany}), http.StatusUnprocessableEntity, api.CodeValidationFailed)

	unknown := "0190c3a8-7d2e-7000-8000-000000000000"
	p := e.problem(e.do(http.MethodPost, path, map[string]any{"ids": []string{work, unknown, "nope"}}),
		http.StatusNotFound, api.CodeDeadLettersNotFound)
	var extra struct{ Missing []string }
	require.NoError(t, json.Unmarshal(p.Extra, &extra))
	require.Equal(t, []string{unknown, "nope"}, extra.Missing)
	require.Contains(t, p.Detail, unknown)

	e.problem(e.do(http.MethodPost, path, map[string]any{"filter": map[string]any{"execution_id": "nope"}}),
		http.StatusNotFound, store.CodeExecutionNotFound)

	// A filter matching nothing requeues nothing.
	var res api.DeadLetterRequeueResult
	e.call(http.MethodPost, path, map[string]any{"filter": map[string]any{"route": "nowhere"}}, http.StatusOK, &res)
	require.Zero(t, res.Requeued)
	require.Empty(t, res.Items)
	require.Empty(t, res.Executions)
	require.Len(t, e.deadLetterIDs(""), 3, "the refusals left every dead letter pending")
}

// The run's dead letter goes back into its route. The run has completed,
// so a new child execution of the same pipeline runs the message; the work
// still fails there (the pipeline is unchanged), so a new dead letter
// appears, and the old one stays as a requeued record pointing at the new
// message, which lineage links to the dead one.
func TestDeadLetterRequeue(t *testing.T) {
	t.Parallel()
	e, ex, dls := dlqEnv(t)
	work := dls[0]
	const path = "/api/v1/dead-letters/requeue"

	var res api.DeadLetterRequeueResult
	e.call(http.MethodPost, path, api.DeadLetterRequeue{IDs: []string{work.ID}, Delay: "10ms"}, http.StatusOK, &res)
	require.Equal(t, 1, res.Requeued)
	require.Len(t, res.Items, 1)
	item := res.Items[0]
	require.Equal(t, work.ID, item.DeadLetterID)
	require.NotEmpty(t, item.MessageID)
	require.Len(t, res.Executions, 1)
	child := res.Executions[0]
	require.Equal(t, item.ExecutionID, child.ExecutionID)
	require.NotEqual(t, ex.ID, child.ExecutionID, "a finished execution stays finished")
	require.Equal(t, ex.ID, child.SourceExecutionID)
	require.Equal(t, 1, child.Requeued)
	require.NotEmpty(t, child.Status)

	var got api.DeadLetter
	e.call(http.MethodGet, "/api/v1/dead-letters/"+work.ID, nil, http.StatusOK, &got)
	require.NotNil(t, got.RequeuedAt)
	require.Equal(t, item.MessageID, got.RequeuedAs)
	require.Equal(t, []string{work.ID}, e.deadLetterIDs("?state=requeued"))
	var replays api.Page[api.Execution]
	e.call(http.MethodGet, "/api/v1/executions/dlq-run/replays", nil, http.StatusOK, &replays)
	require.Equal(t, 1, replays.Total, "the child is linked to the run")
	require.Equal(t, child.ExecutionID, replays.Items[0].ID)

	// Requeueing it again is refused.
	p := e.problem(e.do(http.MethodPost, path, api.DeadLetterRequeue{IDs: []string{work.ID}}), http.StatusConflict, store.CodeDeadLetterRequeued)
	require.Contains(t, string(p.Extra), work.ID)

	// The message fails again in the child: a new pending dead letter of
	// route work, with the same payload.
	e.waitStatus(child.ExecutionID, true)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pg api.Page[api.DeadLetter]
		e.call(http.MethodGet, "/api/v1/dead-letters?route=work", nil, http.StatusOK, &pg)
		if pg.Total == 1 {
			require.NotEqual(t, work.ID, pg.Items[0].ID)
			require.Equal(t, child.ExecutionID, pg.Items[0].ExecutionID)
			require.True(t, strings.Contains(string(pg.Items[0].Payload), "https://x.test/bad"))
			break
		}
		require.True(t, time.Now().Before(deadline), "no new dead letter after the requeue: %+v", pg)
		time.Sleep(100 * time.Millisecond)
	}

	// Lineage links the new message to the dead one.
	for {
		r := e.do(http.MethodGet, "/api/v1/lineage/"+item.MessageID, nil)
		if r.status == http.StatusOK {
			var m api.LineageMessage
			require.NoError(t, json.Unmarshal(r.body, &m))
			require.Equal(t, work.CorrelationID, m.ParentCorrelationID)
			break
		}
		require.Equal(t, http.StatusNotFound, r.status, string(r.body))
		require.True(t, time.Now().Before(deadline), "no lineage of the requeued message")
		time.Sleep(100 * time.Millisecond)
	}

	// A filter requeues the pending ones, oldest first, capped by max.
	e.call(http.MethodPost, path, map[string]any{"filter": map[string]any{"execution_id": "dlq-run", "route": "expand"}, "max": 1},
		http.StatusOK, &res)
	require.Equal(t, 1, res.Requeued)
	require.Equal(t, dls[1].ID, res.Items[0].DeadLetterID, "the oldest match")
	require.Equal(t, []string{dls[2].ID}, e.deadLetterIDs("?execution_id=dlq-run"), "the other one stays pending")
}
