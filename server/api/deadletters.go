package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/store"
)

// Error codes of the dead-letter operations.
const (
	// CodeRequeueSelection: a requeue names both ids and a filter, or
	// neither.
	CodeRequeueSelection = "REQUEUE_SELECTION_INVALID"
	// CodeRequeueDelay: the delay does not parse, is negative or too long,
	// or is given twice.
	CodeRequeueDelay = "REQUEUE_DELAY_INVALID"
	// CodeDeadLettersNotFound: some requested ids match no dead letter;
	// extra.missing lists them.
	CodeDeadLettersNotFound = "DEAD_LETTERS_NOT_FOUND"
	// CodeConfirmationRequired: a bulk discard without a filter needs
	// confirm=true.
	CodeConfirmationRequired = "CONFIRMATION_REQUIRED"
	// CodeExecutionNotResumable: the interrupted execution of a dead letter
	// cannot be taken over by this instance.
	CodeExecutionNotResumable = "EXECUTION_NOT_RESUMABLE"
)

const (
	// maxRequeueIDs bounds an id list (the schema says so too).
	maxRequeueIDs = 1000
	// defaultRequeueMax bounds a filter's requeue unless max says otherwise.
	defaultRequeueMax = 1000
	// maxRequeueDelay keeps a mistyped delay from parking messages for
	// weeks on a broker.
	maxRequeueDelay = 24 * time.Hour
)

// DeadLetterQuery is the filter of GET and DELETE /dead-letters (query
// parameters).
type DeadLetterQuery struct {
	ExecutionID string    `query:"execution_id" maxLength:"200" doc:"Only this execution's (id or tag)"`
	Route       string    `query:"route" maxLength:"200" doc:"Only this route key's"`
	Adapter     string    `query:"adapter" maxLength:"200" doc:"Only those this adapter gave up on"`
	ErrorClass  string    `query:"error_class" maxLength:"100" doc:"Only this error class (permanent, retryable, …)"`
	Since       time.Time `query:"since" doc:"Dead-lettered at or after (RFC 3339)"`
	Until       time.Time `query:"until" doc:"Dead-lettered before (RFC 3339)"`
	State       string    `query:"state" enum:"pending,requeued,all" default:"pending" doc:"pending (not requeued yet), requeued, or all"`
}

// deadLetterFilter resolves the execution reference (id or tag) and builds the store
// filter.
func (a *API) deadLetterFilter(ctx context.Context, q DeadLetterQuery) (store.DeadLetterFilter, error) {
	f := store.DeadLetterFilter{Route: q.Route, Adapter: q.Adapter, ErrorClass: q.ErrorClass,
		Since: q.Since, Until: q.Until, State: q.State}
	if q.ExecutionID != "" {
		rec, err := a.execution(ctx, q.ExecutionID)
		if err != nil {
			return f, err
		}
		f.ExecutionID = rec.ID
	}
	return f, nil
}

func (a *API) registerDeadLetters() {
	type listIn struct {
		DeadLetterQuery
		Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset int `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/dead-letters", "list-dead-letters",
		"Dead-lettered messages, oldest first", "dead-letters"),
		func(ctx context.Context, in *listIn) (*struct{ Body Page[DeadLetter] }, error) {
			f, err := a.deadLetterFilter(ctx, in.DeadLetterQuery)
			if err != nil {
				return nil, err
			}
			f.Limit, f.Offset = in.Limit, in.Offset
			pg, err := a.opts.DB.DeadLetters().List(ctx, f)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[DeadLetter] }{Body: pageOf(pg)}, nil
		})

	type idIn struct {
		ID string `path:"id" maxLength:"64" doc:"Dead letter id"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/dead-letters/{id}", "get-dead-letter",
		"One dead letter: the original message, its headers and why it was given up", "dead-letters"),
		func(ctx context.Context, in *idIn) (*struct{ Body DeadLetter }, error) {
			d, err := a.opts.DB.DeadLetters().Get(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body DeadLetter }{Body: *d}, nil
		})

	huma.Register(a.huma, op(http.MethodPost, "/dead-letters/requeue", "requeue-dead-letters",
		"Put dead letters back into their executions, oldest first", "dead-letters"),
		func(ctx context.Context, in *struct{ Body DeadLetterRequeue }) (*struct{ Body DeadLetterRequeueResult }, error) {
			res, err := a.requeueDeadLetters(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			return &struct{ Body DeadLetterRequeueResult }{Body: *res}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodDelete, "/dead-letters/{id}", "delete-dead-letter", "Discard one dead letter", "dead-letters")
		o.DefaultStatus = http.StatusNoContent
		return o
	}(), func(ctx context.Context, in *idIn) (*struct{}, error) {
		if err := a.opts.DB.DeadLetters().Delete(ctx, in.ID); err != nil {
			return nil, a.fail(ctx, err)
		}
		a.log.Info("dead letter discarded", "dead_letter_id", in.ID, "correlation_id", requestID(ctx))
		return nil, nil
	})

	type deleteIn struct {
		DeadLetterQuery
		Confirm bool `query:"confirm" doc:"Required (true) when no filter narrows the discard: every dead letter of the state goes"`
	}
	huma.Register(a.huma, op(http.MethodDelete, "/dead-letters", "delete-dead-letters",
		"Discard the dead letters matching a filter", "dead-letters"),
		func(ctx context.Context, in *deleteIn) (*struct{ Body DeadLetterDeleteResult }, error) {
			f, err := a.deadLetterFilter(ctx, in.DeadLetterQuery)
			if err != nil {
				return nil, err
			}
			if f.IsEmpty() && !in.Confirm {
				return nil, problem(http.StatusUnprocessableEntity, CodeConfirmationRequired,
					"no filter given: this would discard every "+stateWord(f.State)+" dead letter",
					"narrow it with execution_id, route, adapter, error_class, since or until, or pass confirm=true")
			}
			n, err := a.opts.DB.DeadLetters().DeleteMatching(ctx, f)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			a.log.Info("dead letters discarded", "count", n, "execution_id", f.ExecutionID, "route", f.Route,
				"adapter", f.Adapter, "error_class", f.ErrorClass, "state", f.State, "correlation_id", requestID(ctx))
			return &struct{ Body DeadLetterDeleteResult }{Body: DeadLetterDeleteResult{Deleted: n}}, nil
		})
}

func stateWord(state string) string {
	if state == "" {
		return store.DeadLetterPending
	}
	if state == store.DeadLetterAll {
		return "(pending or requeued)"
	}
	return state
}

// requeueDelay reads delay or delay_seconds.
func requeueDelay(b DeadLetterRequeue) (time.Duration, error) {
	bad := func(detail string) error {
		return problem(http.StatusUnprocessableEntity, CodeRequeueDelay, detail,
			"give delay as a duration such as 30s or 5m, or delay_seconds as a number; between 0 and 24h")
	}
	var d time.Duration
	switch {
	case b.Delay != "" && b.DelaySeconds != nil:
		return 0, bad("give delay or delay_seconds, not both")
	case b.Delay != "":
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(b.Delay)); err != nil {
			return 0, bad(fmt.Sprintf("delay %q is not a duration", b.Delay))
		}
	case b.DelaySeconds != nil:
		d = time.Duration(*b.DelaySeconds * float64(time.Second))
	}
	if d < 0 || d > maxRequeueDelay {
		return 0, bad(fmt.Sprintf("delay %s is out of range", d))
	}
	return d, nil
}

// requeueDeadLetters selects the dead letters, hands them to the
// orchestrator and records which message replaced each.
func (a *API) requeueDeadLetters(ctx context.Context, b DeadLetterRequeue) (*DeadLetterRequeueResult, error) {
	if (len(b.IDs) == 0) == (b.Filter == nil) {
		return nil, problem(http.StatusUnprocessableEntity, CodeRequeueSelection,
			"give exactly one of ids and filter", "pass ids for given dead letters, or filter ({} for every pending one) for a selection")
	}
	if len(b.IDs) > maxRequeueIDs {
		return nil, problem(http.StatusUnprocessableEntity, CodeRequeueSelection,
			fmt.Sprintf("%d ids given; at most %d per request", len(b.IDs), maxRequeueIDs), "split the ids over several requests, or use a filter")
	}
	delay, err := requeueDelay(b)
	if err != nil {
		return nil, err
	}
	repo := a.opts.DB.DeadLetters()
	var dls []*store.DeadLetter
	if len(b.IDs) > 0 {
		found, missing, err := repo.GetMany(ctx, b.IDs)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		if len(missing) > 0 {
			return nil, listProblem(http.StatusNotFound, CodeDeadLettersNotFound,
				fmt.Sprintf("%d of the ids match no dead letter: %s", len(missing), strings.Join(missing, ", ")),
				"list the dead letters (GET /api/v1/dead-letters) to find their ids; discarded ones are gone",
				"missing", missing)
		}
		var done []string
		for _, d := range found {
			if d.RequeuedAt != nil {
				done = append(done, d.ID)
			}
		}
		if len(done) > 0 {
			return nil, listProblem(http.StatusConflict, store.CodeDeadLetterRequeued,
				fmt.Sprintf("%d of the dead letters were already requeued: %s", len(done), strings.Join(done, ", ")),
				"leave them out; their new messages are in requeued_as", "requeued", done)
		}
		dls = found
	} else {
		sel := b.Filter
		q := DeadLetterQuery{ExecutionID: sel.ExecutionID, Route: sel.Route, Adapter: sel.Adapter,
			ErrorClass: sel.ErrorClass, State: store.DeadLetterPending}
		if sel.Since != nil {
			q.Since = *sel.Since
		}
		if sel.Until != nil {
			q.Until = *sel.Until
		}
		f, err := a.deadLetterFilter(ctx, q)
		if err != nil {
			return nil, err
		}
		limit := b.Max
		if limit <= 0 {
			limit = defaultRequeueMax
		}
		if dls, err = repo.Select(ctx, f, limit); err != nil {
			return nil, a.fail(ctx, err)
		}
	}
	out := &DeadLetterRequeueResult{Executions: []RequeuedExecution{}, Items: []RequeuedItem{}}
	if len(dls) == 0 {
		return out, nil
	}

	res, rerr := a.opts.Manager.RequeueDeadLetters(ctx, dls, delay)
	// Whatever went back before an error is recorded, so that a retry does
	// not publish it twice. The orchestrator may have marked them already
	// (marking with the same message id is a no-op).
	now := time.Now()
	for _, it := range res.Items {
		if err := repo.MarkRequeued(context.WithoutCancel(ctx), it.DeadLetterID, it.MessageID, now); err != nil {
			a.log.Warn("requeue: recording the new message of a dead letter", "dead_letter_id", it.DeadLetterID,
				"message_id", it.MessageID, "error", err, "correlation_id", requestID(ctx))
		}
		out.Items = append(out.Items, RequeuedItem{DeadLetterID: it.DeadLetterID, MessageID: it.MessageID, ExecutionID: it.ExecutionID})
	}
	if rerr != nil {
		return nil, a.requeueFailure(ctx, len(dls), rerr)
	}
	// A finished execution stays finished: its dead letters run in a new
	// child execution, whose source the answer names.
	source := map[string]string{}
	for _, d := range dls {
		source[d.ID] = d.ExecutionID
	}
	sourceOf := map[string]string{}
	for _, it := range out.Items {
		if src := source[it.DeadLetterID]; src != it.ExecutionID {
			sourceOf[it.ExecutionID] = src
		}
	}
	for _, ex := range res.Executions {
		out.Executions = append(out.Executions, RequeuedExecution{ExecutionID: ex.ExecutionID, Requeued: ex.Requeued,
			Status: ex.Status, SourceExecutionID: sourceOf[ex.ExecutionID]})
	}
	out.Requeued = len(out.Items)
	a.log.Info("dead letters requeued", slog.Int("count", out.Requeued), slog.Int("executions", len(out.Executions)),
		slog.Duration("delay", delay), slog.String("correlation_id", requestID(ctx)))
	return out, nil
}

// requeueFailure maps an orchestrator error.
func (a *API) requeueFailure(ctx context.Context, n int, err error) error {
	switch {
	case errors.Is(err, orchestrator.ErrTooManyExecutions), errors.Is(err, orchestrator.ErrShuttingDown):
		return a.fail(ctx, err)
	case errors.Is(err, orchestrator.ErrOwnedElsewhere):
		// As for cancel: only the owning instance can put messages into a
		// running execution.
		return problem(http.StatusConflict, CodeExecutionElsewhere, err.Error(), "send the requeue to the instance that runs the execution")
	case errors.Is(err, orchestrator.ErrNotResumable):
		return problem(http.StatusConflict, CodeExecutionNotResumable, err.Error(),
			"the execution cannot be taken over here; requeue once it has resumed or ended")
	case errors.Is(err, orchestrator.ErrNotFound):
		return problem(http.StatusNotFound, store.CodeExecutionNotFound, err.Error(),
			"the execution of these dead letters is gone; discard them instead")
	}
	return a.fail(ctx, fmt.Errorf("requeueing %d dead letters: %w", n, err))
}

// listProblem is a problem whose extra names the ids concerned.
func listProblem(status int, code, detail, hint, key string, ids []string) *Problem {
	p := problem(status, code, detail, hint)
	if raw, err := json.Marshal(map[string][]string{key: ids}); err == nil {
		p.Extra = raw
	}
	return p
}
