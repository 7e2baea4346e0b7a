package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/store"
)

// LineageMessage answers GET /lineage/{correlation_id}: every adapter row
// recorded for one message.
type LineageMessage struct {
	CorrelationID       string               `json:"correlation_id"`
	ParentCorrelationID string               `json:"parent_correlation_id,omitempty"`
	ExecutionID         string               `json:"execution_id"`
	Entries             []store.LineageEntry `json:"entries"`
}

// LineageChain answers GET /lineage/{correlation_id}/chain.
type LineageChain = store.LineageChain

// LineageStats answers GET /lineage/stats.
type LineageStats = store.LineageStats

// lineageQuery are the filters of GET /lineage and GET /lineage/failures.
type lineageQuery struct {
	ExecutionID         string    `query:"execution_id" maxLength:"200" doc:"Execution id (UUID) or tag"`
	RouteID             string    `query:"route_id" maxLength:"200"`
	AdapterName         string    `query:"adapter_name" maxLength:"200"`
	StageName           string    `query:"stage_name" maxLength:"200"`
	StageStatus         string    `query:"stage_status" enum:"completed,failed,skipped,retrying,"`
	CorrelationID       string    `query:"correlation_id" maxLength:"200"`
	ParentCorrelationID string    `query:"parent_correlation_id" maxLength:"200"`
	ReplayBatchID       string    `query:"replay_batch_id" maxLength:"200"`
	StartedFrom         time.Time `query:"started_from" doc:"Rows started at or after (RFC 3339)"`
	StartedTo           time.Time `query:"started_to" doc:"Rows started before (RFC 3339)"`
	CompletedFrom       time.Time `query:"completed_from" doc:"Rows completed at or after (RFC 3339)"`
	CompletedTo         time.Time `query:"completed_to" doc:"Rows completed before (RFC 3339)"`
	MinDurationMS       float64   `query:"min_duration_ms" minimum:"0" doc:"Rows that took at least this many milliseconds"`
	MaxDurationMS       float64   `query:"max_duration_ms" minimum:"0" doc:"Rows that took at most this many milliseconds"`
	Metadata            []string  `query:"metadata,explode" maxItems:"16" doc:"Exact metadata match key=value (repeatable); numbers and booleans match their JSON values too" example:"title=Intro"`
	MetadataContains    []string  `query:"metadata_contains,explode" maxItems:"16" doc:"Case-insensitive partial match inside one metadata value, key=text (repeatable)" example:"url=guides"`
	Q                   string    `query:"q" maxLength:"500" doc:"Case-insensitive text searched in every top-level metadata value"`
	Sort                string    `query:"sort" enum:"started_at,completed_at,duration_ms" default:"started_at"`
	Order               string    `query:"order" enum:"asc,desc" default:"desc"`
	Limit               int       `query:"limit" minimum:"1" maximum:"1000" default:"50"`
	Offset              int       `query:"offset" minimum:"0"`

	hasMaxDuration bool
	equals         map[string]string
	contains       map[string]string
}

// Resolve checks what the schema cannot: key=value pairs, and whether
// max_duration_ms was given at all (0 is a valid bound).
func (q *lineageQuery) Resolve(ctx huma.Context) []error {
	var errs []error
	q.hasMaxDuration = ctx.Query("max_duration_ms") != ""
	parse := func(name string, items []string) map[string]string {
		if len(items) == 0 {
			return nil
		}
		out := map[string]string{}
		for i, it := range items {
			k, v, ok := strings.Cut(it, "=")
			if !ok || k == "" || (name == "metadata_contains" && v == "") {
				errs = append(errs, &huma.ErrorDetail{Location: fmt.Sprintf("query.%s[%d]", name, i), Value: it,
					Message: "expected key=value"})
				continue
			}
			out[k] = v
		}
		return out
	}
	q.equals = parse("metadata", q.Metadata)
	q.contains = parse("metadata_contains", q.MetadataContains)
	return errs
}

// filter resolves the execution (id or tag) and builds the store filter.
func (a *API) lineageFilter(ctx context.Context, q *lineageQuery) (store.LineageFilter, error) {
	f := store.LineageFilter{RouteID: q.RouteID, AdapterName: q.AdapterName, StageName: q.StageName,
		StageStatus: q.StageStatus, CorrelationID: q.CorrelationID, ParentCorrelationID: q.ParentCorrelationID,
		ReplayBatchID: q.ReplayBatchID, StartedFrom: q.StartedFrom, StartedTo: q.StartedTo,
		CompletedFrom: q.CompletedFrom, CompletedTo: q.CompletedTo, MetadataEquals: q.equals,
		MetadataContains: q.contains, Query: q.Q, Sort: q.Sort, Order: q.Order, Limit: q.Limit, Offset: q.Offset}
	if q.MinDurationMS > 0 {
		f.MinDurationMS = &q.MinDurationMS
	}
	if q.hasMaxDuration {
		f.MaxDurationMS = &q.MaxDurationMS
	}
	if q.ExecutionID != "" {
		rec, err := a.execution(ctx, q.ExecutionID)
		if err != nil {
			return f, err
		}
		f.ExecutionID = rec.ID
	}
	return f, nil
}

// lineageFail answers an invalid filter as 422 naming the query parameter;
// everything else goes through fail.
func (a *API) lineageFail(ctx context.Context, err error) error {
	if field, ok := store.IsLineageFilterError(err); ok {
		p := problem(http.StatusUnprocessableEntity, CodeValidationFailed, err.Error(), hintForStatus(http.StatusUnprocessableEntity))
		var se *store.Error
		if errors.As(err, &se) {
			p.Detail, p.Hint = se.Msg, se.Hint
		}
		p.Errors = []ProblemDetail{{Message: p.Detail, Location: "query." + field}}
		return p
	}
	return a.fail(ctx, err)
}

func lineagePage(pg store.Page[store.LineageEntry]) Page[store.LineageEntry] {
	return Page[store.LineageEntry]{Total: pg.Total, Limit: pg.Limit, Offset: pg.Offset, HasMore: pg.HasMore(), Items: pg.Items}
}

type lineageRef struct {
	CorrelationID string `path:"correlation_id" maxLength:"200" doc:"A message's correlation id"`
}

// lineageOp adds a description; the error responses come from opDocs.
func lineageOp(o huma.Operation, description string) huma.Operation {
	o.Description = description
	return o
}

func (a *API) registerLineage() {
	huma.Register(a.huma, lineageOp(op(http.MethodGet, "/lineage", "list-lineage",
		"Search lineage rows", "lineage"),
		"Lineage rows (one per message per adapter invocation) matching every given filter, sorted and paginated. "+
			"`metadata=key=value` matches a metadata value exactly; `metadata_contains=key=text` matches part of one, ignoring case; "+
			"`q` searches every top-level metadata value. Time ranges include `_from` and exclude `_to`."),
		func(ctx context.Context, in *lineageQuery) (*struct{ Body Page[store.LineageEntry] }, error) {
			f, err := a.lineageFilter(ctx, in)
			if err != nil {
				return nil, err
			}
			pg, err := a.opts.DB.Lineage().List(ctx, f)
			if err != nil {
				return nil, a.lineageFail(ctx, err)
			}
			return &struct{ Body Page[store.LineageEntry] }{Body: lineagePage(pg)}, nil
		})

	huma.Register(a.huma, lineageOp(op(http.MethodGet, "/lineage/failures", "list-lineage-failures",
		"Failed lineage rows, newest first", "lineage"),
		"The rows whose adapter failed, with their error_info; takes the filters of GET /lineage (stage_status is implied)."),
		func(ctx context.Context, in *lineageQuery) (*struct{ Body Page[store.LineageEntry] }, error) {
			f, err := a.lineageFilter(ctx, in)
			if err != nil {
				return nil, err
			}
			pg, err := a.opts.DB.Lineage().Failures(ctx, f)
			if err != nil {
				return nil, a.lineageFail(ctx, err)
			}
			return &struct{ Body Page[store.LineageEntry] }{Body: lineagePage(pg)}, nil
		})

	type statsIn struct {
		ExecutionID string    `query:"execution_id" maxLength:"200" doc:"Execution id (UUID) or tag"`
		StartedFrom time.Time `query:"started_from" doc:"Rows started at or after (RFC 3339)"`
		StartedTo   time.Time `query:"started_to" doc:"Rows started before (RFC 3339)"`
	}
	huma.Register(a.huma, lineageOp(op(http.MethodGet, "/lineage/stats", "get-lineage-stats",
		"Lineage counts, failure rates and durations", "lineage"),
		"Counts by stage status and, per route and adapter, counts, failure rate and average, median and 95th percentile "+
			"durations, optionally for one execution and a start-time range; throughput is rows per second over the rows' span."),
		func(ctx context.Context, in *statsIn) (*struct{ Body LineageStats }, error) {
			f := store.LineageStatsFilter{StartedFrom: in.StartedFrom, StartedTo: in.StartedTo}
			if in.ExecutionID != "" {
				rec, err := a.execution(ctx, in.ExecutionID)
				if err != nil {
					return nil, err
				}
				f.ExecutionID = rec.ID
			}
			st, err := a.opts.DB.Lineage().Stats(ctx, f)
			if err != nil {
				return nil, a.lineageFail(ctx, err)
			}
			return &struct{ Body LineageStats }{Body: *st}, nil
		})

	type batchIn struct {
		BatchID string `path:"batch_id" maxLength:"200" doc:"A replay batch id"`
		Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset  int    `query:"offset" minimum:"0"`
	}
	huma.Register(batchRouted{a.huma}, lineageOp(op(http.MethodGet, "/lineage/batch/{batch_id}", "list-lineage-batch",
		"Lineage rows of a replay batch", "lineage"),
		"Every row a replay with this replay_batch_id produced, in start order. An unknown batch is an empty page."),
		func(ctx context.Context, in *batchIn) (*struct{ Body Page[store.LineageEntry] }, error) {
			pg, err := a.opts.DB.Lineage().ByBatch(ctx, in.BatchID, in.Limit, in.Offset)
			if err != nil {
				return nil, a.lineageFail(ctx, err)
			}
			return &struct{ Body Page[store.LineageEntry] }{Body: lineagePage(pg)}, nil
		})

	huma.Register(a.huma, lineageOp(op(http.MethodGet, "/lineage/{correlation_id}", "get-lineage",
		"One message's lineage", "lineage"),
		"Every adapter row recorded for the message, in pipeline order. Unknown ids answer 404 LINEAGE_NOT_FOUND."),
		func(ctx context.Context, in *lineageRef) (*struct{ Body LineageMessage }, error) {
			rows, err := a.opts.DB.Lineage().Get(ctx, in.CorrelationID)
			if err != nil {
				return nil, a.lineageFail(ctx, err)
			}
			m := LineageMessage{CorrelationID: in.CorrelationID, ExecutionID: rows[0].ExecutionID, Entries: rows}
			for _, r := range rows {
				if r.ParentCorrelationID != "" {
					m.ParentCorrelationID = r.ParentCorrelationID
					break
				}
			}
			return &struct{ Body LineageMessage }{Body: m}, nil
		})

	type chainIn struct {
		CorrelationID string `path:"correlation_id" maxLength:"200" doc:"A message's correlation id"`
		Limit         int    `query:"limit" minimum:"1" maximum:"10000" default:"1000" doc:"Most rows returned; truncated says when more exist"`
	}
	huma.Register(a.huma, lineageOp(op(http.MethodGet, "/lineage/{correlation_id}/chain", "get-lineage-chain",
		"A message's ancestors and descendants", "lineage"),
		"Walks parent_correlation_id up to the root and down through every derived message (across routes), at most "+
			strconv.Itoa(store.MaxChainDepth)+" generations each way. depth is negative for ancestors, 0 for the message, "+
			"positive for descendants."),
		func(ctx context.Context, in *chainIn) (*struct{ Body LineageChain }, error) {
			ch, err := a.opts.DB.Lineage().Chain(ctx, in.CorrelationID, in.Limit)
			if err != nil {
				return nil, a.lineageFail(ctx, err)
			}
			return &struct{ Body LineageChain }{Body: *ch}, nil
		})

	type childrenIn struct {
		CorrelationID string `path:"correlation_id" maxLength:"200" doc:"A message's correlation id"`
		Limit         int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset        int    `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, lineageOp(op(http.MethodGet, "/lineage/{correlation_id}/children", "list-lineage-children",
		"Rows of the messages derived directly from one message", "lineage"),
		"The rows whose parent_correlation_id is the given message, in start order."),
		func(ctx context.Context, in *childrenIn) (*struct{ Body Page[store.LineageEntry] }, error) {
			pg, err := a.opts.DB.Lineage().Children(ctx, in.CorrelationID, in.Limit, in.Offset)
			if err != nil {
				return nil, a.lineageFail(ctx, err)
			}
			return &struct{ Body Page[store.LineageEntry] }{Body: lineagePage(pg)}, nil
		})
}

// batchRouted registers GET /lineage/batch/{batch_id} under the pattern
// /lineage/{lineage_kind}/{batch_id}. Go's ServeMux refuses
// /lineage/batch/{batch_id} next to /lineage/{correlation_id}/chain (each
// matches a path the other does not, e.g. /lineage/batch/chain); the
// broader pattern is less specific than both and so coexists with them.
// The OpenAPI document keeps the documented path; requests whose first
// segment is not "batch" answer 404.
type batchRouted struct{ huma.API }

func (b batchRouted) Adapter() huma.Adapter {
	return batchAdapter{Adapter: b.API.Adapter(), api: b.API}
}

type batchAdapter struct {
	huma.Adapter
	api huma.API
}

func (b batchAdapter) Handle(o *huma.Operation, handler func(huma.Context)) {
	routed := *o
	routed.Path = strings.Replace(o.Path, "/lineage/batch/", "/lineage/{lineage_kind}/", 1)
	b.Adapter.Handle(&routed, func(ctx huma.Context) {
		if ctx.Param("lineage_kind") != "batch" {
			_ = huma.WriteErr(b.api, ctx, http.StatusNotFound, "no such lineage resource")
			return
		}
		handler(ctx)
	})
}
