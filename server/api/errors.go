package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/store"
)

// Stable error codes of the API (beyond the store's and the engine's).
const (
	CodeBadRequest         = "BAD_REQUEST"
	CodeValidationFailed   = "VALIDATION_FAILED"
	CodeNotFound           = "NOT_FOUND"
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	CodeBodyTooLarge       = "BODY_TOO_LARGE"
	CodeInternal           = "INTERNAL"
	CodeUnavailable        = "SERVICE_UNAVAILABLE"
	CodeConfigInvalid      = "CONFIG_INVALID"
	CodeConfigInactive     = "CONFIG_INACTIVE"
	CodeTooManyExecutions  = "TOO_MANY_EXECUTIONS"
	CodeShuttingDown       = "SHUTTING_DOWN"
	CodeExecutionFinished  = "EXECUTION_NOT_RUNNING"
	CodeExecutionElsewhere = "EXECUTION_OWNED_ELSEWHERE"
	CodeAdapterNotFound    = "ADAPTER_NOT_FOUND"
	CodeObjectNotFound     = "OBJECT_NOT_FOUND"
	CodeStorageKeyInvalid  = "STORAGE_KEY_INVALID"
	CodeEventIDInvalid     = "EVENT_ID_INVALID"
	CodeDatabaseDown       = "DATABASE_UNAVAILABLE"
)

// Error makes Problem an error.
func (p *Problem) Error() string {
	s := p.ErrorCode + ": " + p.Detail
	if p.Hint != "" {
		s += " (hint: " + p.Hint + ")"
	}
	return s
}

// GetStatus is the HTTP status (huma.StatusError).
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma answer application/problem+json.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

func problem(status int, code, detail, hint string) *Problem {
	return &Problem{Status: status, Title: http.StatusText(status), ErrorCode: code, Detail: detail, Hint: hint}
}

// codeForStatus names the errors huma raises itself (parsing, schema
// validation, routing).
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnprocessableEntity:
		return CodeValidationFailed
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return CodeBodyTooLarge
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	if status >= 500 {
		return CodeInternal
	}
	return http.StatusText(status)
}

func hintForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "send a well-formed JSON body with Content-Type: application/json"
	case http.StatusUnprocessableEntity:
		return "fix the fields listed in errors; the schema of every operation is at /openapi.json"
	case http.StatusRequestEntityTooLarge:
		return "send a smaller body"
	}
	return ""
}

// newHumaError replaces huma's error constructor so that the errors huma
// raises itself (bad JSON, schema violations) have our shape too.
func newHumaError(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	p := problem(status, codeForStatus(status), msg, hintForStatus(status))
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			ed := d.ErrorDetail()
			p.Errors = append(p.Errors, ProblemDetail{Message: ed.Message, Location: ed.Location, Value: ed.Value})
			continue
		}
		var mbe *http.MaxBytesError
		if errors.As(e, &mbe) {
			p.Status, p.Title = http.StatusRequestEntityTooLarge, http.StatusText(http.StatusRequestEntityTooLarge)
			p.ErrorCode, p.Hint = CodeBodyTooLarge, hintForStatus(http.StatusRequestEntityTooLarge)
		}
		p.Errors = append(p.Errors, ProblemDetail{Message: e.Error()})
	}
	if ctx != nil {
		p.CorrelationID = requestID(ctx.Context())
	}
	p.Timestamp = time.Now().UTC()
	return p
}

// stampProblem fills the correlation id and timestamp of every error body
// on its way out.
func stampProblem(ctx huma.Context, _ string, v any) (any, error) {
	if p, ok := v.(*Problem); ok {
		if st := stateOf(ctx.Context()); st != nil {
			st.errorCode = p.ErrorCode
		}
		if p.CorrelationID == "" {
			p.CorrelationID = requestID(ctx.Context())
		}
		if p.Timestamp.IsZero() {
			p.Timestamp = time.Now().UTC()
		}
		if p.Title == "" {
			p.Title = http.StatusText(p.Status)
		}
	}
	return v, nil
}

// fail turns an error from the layers below into a Problem. Unclassified
// errors are logged here, at the boundary, and answered as 500 without
// their text (it may hold internals).
func (a *API) fail(ctx context.Context, err error) error {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var che *chat.Error
	if errors.As(err, &che) {
		detail := che.Msg
		if che.Cause != nil {
			detail += ": " + che.Cause.Error()
		}
		status := che.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		return problem(status, che.Code, detail, che.Hint)
	}
	var se *store.Error
	if errors.As(err, &se) {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, store.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, store.ErrConflict):
			status = http.StatusConflict
		case errors.Is(err, store.ErrVectorUnavailable):
			status = http.StatusServiceUnavailable
		}
		return problem(status, se.Code, se.Msg, se.Hint)
	}
	var le *llm.Error
	if errors.As(err, &le) {
		return problem(llmStatus(le), le.Code, le.Error(), le.Hint)
	}
	var te *store.TransitionError
	if errors.As(err, &te) {
		return problem(http.StatusConflict, store.CodeIllegalTransition, te.Error(), "the execution already moved on; read it again")
	}
	switch {
	case errors.Is(err, orchestrator.ErrTooManyExecutions):
		return problem(http.StatusTooManyRequests, CodeTooManyExecutions, err.Error(),
			"wait for a running execution to finish, or raise orchestrator.max_concurrent_executions")
	case errors.Is(err, orchestrator.ErrShuttingDown):
		return problem(http.StatusServiceUnavailable, CodeShuttingDown, err.Error(), "the server is stopping; retry against a running one")
	case errors.Is(err, orchestrator.ErrNotRunnable):
		return problem(http.StatusBadRequest, CodeConfigInvalid, err.Error(), "fix the pipeline; POST /api/v1/configs/validate shows every finding")
	case errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return problem(http.StatusGatewayTimeout, CodeRequestTimeout, "the request took longer than the server allows",
			"narrow the request (filters, a smaller limit), or raise server.request_timeout")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "the request was cancelled or timed out", "retry")
	}
	if databaseDown(err) {
		return problem(http.StatusServiceUnavailable, CodeDatabaseDown, "the database cannot be reached",
			"retry shortly; GET /api/v1/system/health shows the database's state")
	}
	var ce *adapters.CodedError
	if errors.As(err, &ce) {
		return problem(http.StatusBadRequest, ce.Code, err.Error(), ce.Hint)
	}
	a.log.Error("request failed", "correlation_id", requestID(ctx), "error", err)
	return problem(http.StatusInternalServerError, CodeInternal, "internal error; the server log has the details under this correlation_id",
		"retry; if it persists, report the correlation_id")
}

// llmStatus answers a failed model call: the caller's mistake (an unknown
// profile) is 400, a provider that limits or fails transiently 429 or
// 503, one that refuses 502 (the server, not the client, failed).
func llmStatus(e *llm.Error) int {
	switch {
	case e.Code == llm.CodeProfileNotFound, e.Code == llm.CodeProfileWrongKind, e.Code == llm.CodeProfileInvalid:
		return http.StatusBadRequest
	case e.Class == llm.RateLimited:
		return http.StatusTooManyRequests
	case e.Class == llm.Retryable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// databaseDown recognises a database that cannot be reached or dropped the
// connection, as opposed to one that refused a statement.
func databaseDown(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exceptions; 57: operator intervention (shutdown,
		// terminated backends); 53: insufficient resources.
		c := pe.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "57") || strings.HasPrefix(c, "53")
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err)
}
