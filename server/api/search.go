package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/store"
)

// SearchFilter narrows a search. Execution references are ids or tags.
type SearchFilter struct {
	ExecutionIDs     []string       `json:"execution_ids,omitempty" maxItems:"100" doc:"Only segments of these executions (id or tag)"`
	ConfigIDs        []string       `json:"config_ids,omitempty" maxItems:"100" doc:"Only segments of executions of these configs (UUIDs)"`
	Metadata         map[string]any `json:"metadata,omitempty" doc:"Must be contained in the segment's metadata (JSON containment)"`
	DocumentMetadata map[string]any `json:"document_metadata,omitempty" doc:"Must be contained in the document's metadata"`
}

// SearchBody is the body of the search operations.
type SearchBody struct {
	Query        string       `json:"query" minLength:"1" maxLength:"10000" example:"How do I configure retries?"`
	Model        string       `json:"model,omitempty" maxLength:"200" doc:"Embedding slot (model_name) to search; default: search.default_model, else the only slot"`
	Models       []string     `json:"models,omitempty" maxItems:"10" doc:"Slots of a multi-model search (required there); RRF fuses every slot named"`
	Limit        int          `json:"limit,omitempty" minimum:"1" maximum:"100" default:"10"`
	MinScore     float64      `json:"min_score,omitempty" minimum:"-1" maximum:"1" doc:"Drop vector hits whose cosine similarity is below this"`
	Filter       SearchFilter `json:"filter,omitempty"`
	Language     string       `json:"language,omitempty" maxLength:"64" doc:"Text search configuration of the keyword part (default search.language)"`
	VectorWeight float64      `json:"vector_weight,omitempty" minimum:"0" maximum:"1" doc:"Hybrid: weight of the vector score against the keyword score (default 0.7)"`
	RRFK         int          `json:"rrf_k,omitempty" minimum:"1" maximum:"1000" doc:"RRF: the k of 1/(k+rank) (default 60)"`
}

// SourcesQuery filters GET /search/sources and GET /chat/sources.
type SourcesQuery struct {
	Model       string `query:"embedding_model" maxLength:"200" doc:"Only executions with vectors in this slot"`
	MinSegments int    `query:"min_segments" minimum:"0" default:"1" doc:"Only executions with at least this many segments"`
}

// IndexedSources is the answer of the sources operations.
type IndexedSources struct {
	Sources []store.IndexedSource `json:"sources"`
	Total   int                   `json:"total"`
}

// IndexCreate is the body of POST /indexes.
type IndexCreate struct {
	Model      string         `json:"model_name" minLength:"1" maxLength:"200" doc:"Embedding slot to index"`
	Type       string         `json:"index_type,omitempty" enum:"hnsw,ivfflat" default:"hnsw" doc:"hnsw (better recall/latency, slower build) or ivfflat"`
	Parameters map[string]int `json:"parameters,omitempty" doc:"hnsw: m, ef_construction; ivfflat: lists"`
}

// IndexList is the answer of GET /indexes.
type IndexList struct {
	Items []store.IndexInfo `json:"items"`
	Total int               `json:"total"`
}

// AutoManageBody is the body of POST /indexes/auto-manage.
type AutoManageBody struct {
	DryRun   bool  `json:"dry_run,omitempty" doc:"Report what would be done without doing it"`
	CreateAt int64 `json:"create_at,omitempty" minimum:"1" doc:"Vector count from which a slot without an index gets one (default 1000)"`
	HNSWAt   int64 `json:"hnsw_at,omitempty" minimum:"1" doc:"Vector count past which IVFFlat is replaced by HNSW (default 100000)"`
}

// AutoManageResult is the answer of POST /indexes/auto-manage.
type AutoManageResult struct {
	Results      []store.AutoManageAction `json:"results"`
	TotalCount   int                      `json:"total_count"`
	AppliedCount int                      `json:"applied_count"`
	DryRun       bool                     `json:"dry_run"`
}

func (a *API) searchRequest(ctx context.Context, b SearchBody) (search.Request, error) {
	f := store.SearchFilter{ConfigIDs: b.Filter.ConfigIDs, Metadata: b.Filter.Metadata, DocumentMetadata: b.Filter.DocumentMetadata}
	for _, ref := range b.Filter.ExecutionIDs {
		rec, err := a.execution(ctx, ref)
		if err != nil {
			return search.Request{}, err
		}
		f.ExecutionIDs = append(f.ExecutionIDs, rec.ID)
	}
	return search.Request{Query: b.Query, Model: b.Model, Models: b.Models, Limit: b.Limit, MinScore: b.MinScore,
		Filter: f, Language: b.Language, VectorWeight: b.VectorWeight, RRFK: b.RRFK}, nil
}

func (a *API) registerSearch() {
	if a.opts.Search == nil {
		return
	}
	modes := []struct {
		path, id, summary string
		run               func(*search.Service, context.Context, search.Request) (*search.Response, error)
	}{
		{"/search", "search-semantic", "Semantic search: the segments nearest to the query's embedding", (*search.Service).Semantic},
		{"/search/hybrid", "search-hybrid", "Hybrid search: vector similarity blended with full-text rank", (*search.Service).Hybrid},
		{"/search/rrf", "search-rrf", "Reciprocal rank fusion of vector and full-text rankings (what chat retrieves with)", (*search.Service).RRF},
		{"/search/multi-model", "search-multi-model", "Search several embedding slots and merge, with each slot's score", (*search.Service).MultiModel},
	}
	for _, m := range modes {
		huma.Register(a.huma, op(http.MethodPost, m.path, m.id, m.summary, "search"),
			func(ctx context.Context, in *struct{ Body SearchBody }) (*struct{ Body search.Response }, error) {
				req, err := a.searchRequest(ctx, in.Body)
				if err != nil {
					return nil, err
				}
				res, err := m.run(a.opts.Search, ctx, req)
				if err != nil {
					return nil, a.fail(ctx, err)
				}
				return &struct{ Body search.Response }{Body: *res}, nil
			})
	}

	huma.Register(a.huma, op(http.MethodGet, "/search/sources", "search-sources",
		"Executions with searchable segments", "search"),
		func(ctx context.Context, in *SourcesQuery) (*struct{ Body IndexedSources }, error) {
			return a.indexedSources(ctx, in)
		})

	huma.Register(a.huma, op(http.MethodGet, "/search/capabilities", "search-capabilities",
		"Search modes, embedding slots, text search languages and whether pgvector is available", "search"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body search.Capabilities }, error) {
			c, err := a.opts.Search.Capabilities(ctx)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body search.Capabilities }{Body: *c}, nil
		})
}

func (a *API) indexedSources(ctx context.Context, in *SourcesQuery) (*struct{ Body IndexedSources }, error) {
	src, err := a.opts.Search.Sources(ctx, in.Model, in.MinSegments)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	if src == nil {
		src = []store.IndexedSource{}
	}
	return &struct{ Body IndexedSources }{Body: IndexedSources{Sources: src, Total: len(src)}}, nil
}

func (a *API) registerIndexes() {
	if a.opts.Vectors == nil {
		return
	}
	v := a.opts.Vectors
	huma.Register(a.huma, op(http.MethodGet, "/indexes", "list-indexes",
		"Vector indexes, one per embedding slot, with size and use", "indexes"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body IndexList }, error) {
			list, err := v.Indexes(ctx)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			if list == nil {
				list = []store.IndexInfo{}
			}
			return &struct{ Body IndexList }{Body: IndexList{Items: list, Total: len(list)}}, nil
		})

	type createOut struct {
		Status int
		Body   store.IndexInfo
	}
	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/indexes", "create-index", "Build a vector index for an embedding slot", "indexes")
		o.DefaultStatus = http.StatusCreated
		o.Description = "Builds without blocking writes (CREATE INDEX CONCURRENTLY); the call returns when the index is ready."
		return o
	}(), func(ctx context.Context, in *struct{ Body IndexCreate }) (*createOut, error) {
		typ := in.Body.Type
		if typ == "" {
			typ = "hnsw"
		}
		info, err := v.CreateIndex(ctx, store.IndexSpec{Model: in.Body.Model, Type: typ, Parameters: in.Body.Parameters})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		a.log.Info("vector index created", "index", info.Name, "model_name", info.Model, "type", info.Type,
			"correlation_id", requestID(ctx))
		return &createOut{Status: http.StatusCreated, Body: info}, nil
	})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodDelete, "/indexes/{name}", "delete-index", "Drop a vector index", "indexes")
		o.DefaultStatus = http.StatusNoContent
		return o
	}(), func(ctx context.Context, in *struct {
		Name string `path:"name" maxLength:"128"`
	}) (*struct{}, error) {
		if err := v.DropIndex(ctx, in.Name); err != nil {
			return nil, a.fail(ctx, err)
		}
		a.log.Info("vector index dropped", "index", in.Name, "correlation_id", requestID(ctx))
		return nil, nil
	})

	huma.Register(a.huma, op(http.MethodPost, "/indexes/auto-manage", "auto-manage-indexes",
		"Create, upgrade (IVFFlat → HNSW) or rebuild indexes by the size of each slot", "indexes"),
		func(ctx context.Context, in *struct{ Body AutoManageBody }) (*struct{ Body AutoManageResult }, error) {
			acts, err := v.AutoManage(ctx, store.AutoManagePolicy{DryRun: in.Body.DryRun, CreateAt: in.Body.CreateAt, HNSWAt: in.Body.HNSWAt})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			res := AutoManageResult{Results: acts, TotalCount: len(acts), DryRun: in.Body.DryRun}
			if res.Results == nil {
				res.Results = []store.AutoManageAction{}
			}
			for _, act := range acts {
				if act.Applied {
					res.AppliedCount++
				}
			}
			return &struct{ Body AutoManageResult }{Body: res}, nil
		})
}
