package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// dlqCLIEnv runs failingOneYAML twice (tags q1 and q2: one permanent dead
// letter of route work each) and adds a retryable dead letter of route
// seed to q1.
func dlqCLIEnv(t *testing.T) (*cliEnv, []api.DeadLetter) {
	t.Helper()
	e := newCLIEnv(t)
	file := writeFile(t, "one-bad.yaml", failingOneYAML)
	require.Equal(t, exitOK, e.cli("config", "create", "-f", file).code)
	for _, tag := range []string{"q1", "q2"} {
		res := e.cli("config", "run", "one-bad", "--tag", tag, "--wait", "--progress", "none")
		require.Equal(t, exitOK, res.code, res)
	}
	q1 := decoded[api.Execution](t, e.cli("execution", "get", "q1", "--output", "json"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	corr, err := store.NewID()
	require.NoError(t, err)
	require.NoError(t, e.c.DB.DeadLetters().Insert(ctx, &store.DeadLetter{ExecutionID: q1.ID, Route: "seed",
		Adapter: "url_expander", Queue: "h.seed", CorrelationID: corr, ErrorClass: "retryable", Reason: "line one\nline two",
		Headers: map[string]string{"factflow-execution-id": q1.ID, "factflow-message-id": corr},
		Payload: json.RawMessage(`{"urls":[]}`)}))
	pg := decoded[api.Page[api.DeadLetter]](t, e.cli("dlq", "list", "--output", "json"))
	require.Equal(t, 3, pg.Total)
	return e, pg.Items
}

func dlqIDs(t *testing.T, e *cliEnv, args ...string) []string {
	t.Helper()
	pg := decoded[api.Page[api.DeadLetter]](t, e.cli(append([]string{"dlq", "list", "--output", "json"}, args...)...))
	ids := []string{}
	for _, d := range pg.Items {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestCLIDLQListShow(t *testing.T) {
	t.Parallel()
	e, dls := dlqCLIEnv(t)
	w1, w2, seed := dls[0], dls[1], dls[2]
	require.Equal(t, "work", w1.Route)
	require.Equal(t, "seed", seed.Route)

	require.Equal(t, []string{w1.ID, seed.ID}, dlqIDs(t, e, "--execution", "q1"))
	require.Equal(t, []string{w1.ID, w2.ID}, dlqIDs(t, e, "--route", "work"))
	require.Equal(t, []string{seed.ID}, dlqIDs(t, e, "--adapter", "url_expander"))
	require.Equal(t, []string{w1.ID, w2.ID}, dlqIDs(t, e, "--class", "permanent"))
	require.Equal(t, []string{w2.ID, seed.ID}, dlqIDs(t, e, "--since", w2.CreatedAt.Format(time.RFC3339Nano)))
	require.Equal(t, []string{w1.ID, w2.ID, seed.ID}, dlqIDs(t, e, "--since", "1h"))
	require.Empty(t, dlqIDs(t, e, "--until", "1h"))
	require.Empty(t, dlqIDs(t, e, "--state", "requeued"))
	require.Equal(t, []string{w1.ID}, dlqIDs(t, e, "--limit", "1"))

	res := e.cli("dlq", "list", "--class", "permanent")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "STATE")
	require.Contains(t, res.stdout, "pending")
	require.Contains(t, res.stdout, "1–2 of 2")
	require.NotContains(t, res.stdout, seed.ID)

	res = e.cli("dlq", "list", "--since", "yesterday")
	require.Equal(t, exitUsage, res.code, res)
	require.Contains(t, res.stderr, "--since")
	res = e.cli("dlq", "list", "--state", "gone")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, api.CodeValidationFailed)
	res = e.cli("dlq", "list", "--execution", "nope")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, store.CodeExecutionNotFound)

	res = e.cli("dlq", "show", w1.ID)
	require.Equal(t, exitOK, res.code, res)
	for _, want := range []string{"Error class:", "permanent", "Attempts:", "First failed:", "State:", "Reason:\n  FAIL_INDUCED",
		"Headers:\n", "factflow-execution-id:", "Payload:\n  {\n    \"url\": \"https://x.test/bad\"\n  }"} {
		require.Contains(t, res.stdout, want)
	}
	res = e.cli("dlq", "show", seed.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "Reason:\n  line one\n  line two\n")
	got := decoded[api.DeadLetter](t, e.cli("dlq", "show", seed.ID, "--output", "json"))
	require.Equal(t, seed.ID, got.ID)
	require.JSONEq(t, `{"urls":[]}`, string(got.Payload))
}

func TestCLIDLQRequeueAndDiscardRefusals(t *testing.T) {
	t.Parallel()
	e, dls := dlqCLIEnv(t)
	w1 := dls[0]

	for _, args := range [][]string{
		{"dlq", "requeue"},
		{"dlq", "requeue", w1.ID, "--route", "work"},
		{"dlq", "requeue", w1.ID, "--all"},
		{"dlq", "requeue", "--all", "--route", "work"},
		{"dlq", "requeue", w1.ID, "--delay", "-1s"},
		{"dlq", "requeue", "--route", "work", "--since", "soon"},
		{"dlq", "discard"},
		{"dlq", "discard", "--route", "work"},
		{"dlq", "discard", "--all"},
		{"dlq", "discard", w1.ID, "--route", "work", "--yes"},
		{"dlq", "discard", w1.ID, "--state", "all"},
	} {
		res := e.cli(args...)
		require.Equal(t, exitUsage, res.code, "%v\n%s", args, res)
	}
	require.Len(t, dlqIDs(t, e), 3, "no refusal changed anything")

	unknown := "0190c3a8-7d2e-7000-8000-000000000000"
	res := e.cli("dlq", "requeue", w1.ID, unknown)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, api.CodeDeadLettersNotFound)
	require.Contains(t, res.stderr, unknown)
	res = e.cli("dlq", "requeue", w1.ID, "--delay", "48h")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, api.CodeRequeueDelay)

	res = e.cli("dlq", "requeue", "--route", "nowhere")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "requeued 0 dead letters")
	out := decoded[api.DeadLetterRequeueResult](t, e.cli("dlq", "requeue", "--route", "nowhere", "--output", "json"))
	require.Zero(t, out.Requeued)
	require.NotNil(t, out.Items)
}

func TestCLIDLQDiscard(t *testing.T) {
	t.Parallel()
	e, dls := dlqCLIEnv(t)
	w1, w2, seed := dls[0], dls[1], dls[2]

	res := e.cli("dlq", "discard", w1.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "discarded 1 dead letter\n")
	unknown := "0190c3a8-7d2e-7000-8000-000000000000"
	res = e.cli("dlq", "discard", w1.ID, unknown)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "discarded 0 of 2")
	require.Contains(t, res.stderr, store.CodeNotFound)
	require.Equal(t, []string{w2.ID, seed.ID}, dlqIDs(t, e))

	del := decoded[api.DeadLetterDeleteResult](t, e.cli("dlq", "discard", "--execution", "q1", "--yes", "--output", "json"))
	require.Equal(t, 1, del.Deleted, "the seed one of q1")
	require.Equal(t, []string{w2.ID}, dlqIDs(t, e))
	res = e.cli("dlq", "discard", "--route", "nowhere", "--yes")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "discarded 0 dead letters")
	res = e.cli("dlq", "discard", "--all", "--yes")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "discarded 1 dead letter\n")
	require.Empty(t, dlqIDs(t, e, "--state", "all"))
}

func TestCLIDLQRequeue(t *testing.T) {
	t.Parallel()
	e, dls := dlqCLIEnv(t)
	w1 := dls[0]

	out := decoded[api.DeadLetterRequeueResult](t, e.cli("dlq", "requeue", w1.ID, "--delay", "10ms", "--output", "json"))
	require.Equal(t, 1, out.Requeued)
	require.Len(t, out.Items, 1)
	require.Equal(t, w1.ID, out.Items[0].DeadLetterID)
	require.NotEmpty(t, out.Items[0].MessageID)
	require.Len(t, out.Executions, 1)
	require.Equal(t, out.Items[0].ExecutionID, out.Executions[0].ExecutionID)
	require.Equal(t, w1.ExecutionID, out.Executions[0].SourceExecutionID, "q1 had completed: a child execution runs the message")

	require.Equal(t, []string{w1.ID}, dlqIDs(t, e, "--state", "requeued"))
	res := e.cli("dlq", "show", w1.ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "Requeued as:")
	require.Contains(t, res.stdout, out.Items[0].MessageID)

	res = e.cli("dlq", "requeue", w1.ID)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, store.CodeDeadLetterRequeued)

	res = e.cli("dlq", "requeue", "--class", "retryable", "--max", "5")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "requeued 1 dead letter\n")
	require.Contains(t, res.stdout, "NEW MESSAGE")
	require.Contains(t, res.stdout, "CHILD OF")
	require.Contains(t, res.stdout, dls[2].ID)
	require.Contains(t, res.stdout, dls[2].ExecutionID)
}
