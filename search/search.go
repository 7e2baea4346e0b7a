package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
)

// Search modes, as named in responses and capabilities.
const (
	ModeSemantic   = "semantic"
	ModeHybrid     = "hybrid"
	ModeRRF        = "rrf"
	ModeMultiModel = "multi_model"
)

// Defaults and bounds of a Request.
const (
	DefaultLimit        = 10
	MaxLimit            = 100
	DefaultVectorWeight = 0.7
	DefaultRRFK         = 60
	// MaxQueryChars bounds the query text; longer queries are a mistake
	// (a document pasted as a question) more often than a need.
	MaxQueryChars = 10000
)

// Stable error codes.
const (
	CodeQueryEmpty      = "SEARCH_QUERY_EMPTY"
	CodeQueryTooLong    = "SEARCH_QUERY_TOO_LONG"
	CodeModelRequired   = "SEARCH_MODEL_REQUIRED"
	CodeModelNotFound   = "SEARCH_MODEL_NOT_FOUND"
	CodeInvalidRequest  = "SEARCH_INVALID_REQUEST"
	CodeLanguageUnknown = "SEARCH_LANGUAGE_UNKNOWN"
	// CodeModelMismatch: the profile recorded for a slot now produces
	// vectors of another dimension than the slot holds.
	CodeModelMismatch = "SEARCH_MODEL_MISMATCH"
)

// Embedders hands out embedding clients by LLM profile name.
type Embedders interface {
	Embedder(profile string) (llm.Embedder, error)
}

// Options configure a Service.
type Options struct {
	// DefaultModel is the slot searched when a request names none.
	DefaultModel string
	// Language is the text search configuration of queries that name
	// none (empty: english, the store's default).
	Language string
	Logger   *slog.Logger
}

// Service runs searches. It is safe for concurrent use.
type Service struct {
	v    *store.Vectors
	e    Embedders
	opts Options
	log  *slog.Logger

	// The text search configurations of the database; they change only
	// with DDL, so the first successful read is kept.
	langMu sync.Mutex
	langs  []string
}

// New returns a search service over v that embeds queries with e.
func New(v *store.Vectors, e Embedders, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{v: v, e: e, opts: opts, log: log.With("component", "search")}
}

// Request is one search. Zero fields take their defaults.
type Request struct {
	Query string `json:"query"`
	// Model is the embedding slot (semantic, hybrid, RRF).
	Model string `json:"model_name,omitempty"`
	// Models are the slots of a multi-model search, and extra vector
	// lists of an RRF search.
	Models []string `json:"models,omitempty"`
	Limit  int      `json:"limit,omitempty"`
	// MinScore drops vector candidates whose cosine similarity is below
	// it.
	MinScore float64            `json:"min_score,omitempty"`
	Filter   store.SearchFilter `json:"filter,omitempty"`
	// Language is the text search configuration of the query's full-text
	// part (hybrid, RRF).
	Language string `json:"language,omitempty"`
	// VectorWeight is the share of cosine similarity in a hybrid score,
	// in (0, 1]; 0 takes the default 0.7.
	VectorWeight float64 `json:"vector_weight,omitempty"`
	// RRFK is the k of reciprocal rank fusion (default 60).
	RRFK int `json:"rrf_k,omitempty"`
}

// Response is the result of a search.
type Response struct {
	Mode   string            `json:"mode"`
	Query  string            `json:"query"`
	Model  string            `json:"model,omitempty"`
	Models []string          `json:"models,omitempty"`
	Hits   []store.SearchHit `json:"results"`
	Total  int               `json:"total"`
	TookMS float64           `json:"took_ms"`
}

func invalid(code, msg, hint string) error {
	return &store.Error{Code: code, Kind: store.ErrInvalidArgument, Msg: msg, Hint: hint}
}

// checked validates r and fills its defaults.
func (s *Service) checked(ctx context.Context, r Request) (Request, error) {
	r.Query = strings.TrimSpace(r.Query)
	if r.Query == "" {
		return r, invalid(CodeQueryEmpty, "the query is empty", "send a non-empty query")
	}
	if n := len([]rune(r.Query)); n > MaxQueryChars {
		return r, invalid(CodeQueryTooLong, fmt.Sprintf("the query has %d characters, more than %d", n, MaxQueryChars),
			"shorten the query")
	}
	switch {
	case r.Limit == 0:
		r.Limit = DefaultLimit
	case r.Limit < 0 || r.Limit > MaxLimit:
		return r, invalid(CodeInvalidRequest, fmt.Sprintf("limit %d is out of range", r.Limit),
			fmt.Sprintf("use a limit from 1 to %d", MaxLimit))
	}
	if r.MinScore < -1 || r.MinScore > 1 {
		return r, invalid(CodeInvalidRequest, fmt.Sprintf("min_score %g is out of range", r.MinScore),
			"cosine similarity lies in [-1, 1]")
	}
	switch {
	case r.VectorWeight == 0:
		r.VectorWeight = DefaultVectorWeight
	case r.VectorWeight < 0 || r.VectorWeight > 1:
		return r, invalid(CodeInvalidRequest, fmt.Sprintf("vector_weight %g is out of range", r.VectorWeight),
			"use a weight in (0, 1]; the full-text part gets the rest")
	}
	switch {
	case r.RRFK == 0:
		r.RRFK = DefaultRRFK
	case r.RRFK < 0:
		return r, invalid(CodeInvalidRequest, fmt.Sprintf("rrf_k %d is negative", r.RRFK), "use a positive k (60 is usual)")
	}
	if r.Language == "" {
		r.Language = s.opts.Language
	}
	if r.Language != "" {
		if err := s.checkLanguage(ctx, r.Language); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (s *Service) checkLanguage(ctx context.Context, lang string) error {
	langs, err := s.languages(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(langs, lang) {
		return invalid(CodeLanguageUnknown, fmt.Sprintf("unknown text search language %q", lang),
			"use one of: "+strings.Join(langs, ", "))
	}
	return nil
}

func (s *Service) languages(ctx context.Context) ([]string, error) {
	s.langMu.Lock()
	defer s.langMu.Unlock()
	if s.langs != nil {
		return s.langs, nil
	}
	langs, err := s.v.TextSearchConfigs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the text search languages: %w", err)
	}
	s.langs = langs
	return langs, nil
}

// ResolveModel returns the slot a request naming name would search: the
// named one, else the configured default, else the only slot there is.
// Callers use it to check a request before they start answering it.
func (s *Service) ResolveModel(ctx context.Context, name string) (store.EmbeddingModel, error) {
	return s.resolve(ctx, name)
}

func (s *Service) resolve(ctx context.Context, name string) (store.EmbeddingModel, error) {
	// Without pgvector no slot can be searched: say that rather than
	// that no slot exists.
	if err := s.v.Ready(ctx); err != nil {
		return store.EmbeddingModel{}, err
	}
	if name == "" {
		name = s.opts.DefaultModel
	}
	if name == "" {
		models, err := s.v.Models(ctx)
		if err != nil {
			return store.EmbeddingModel{}, fmt.Errorf("listing embedding slots: %w", err)
		}
		switch len(models) {
		case 1:
			return models[0], nil
		case 0:
			return store.EmbeddingModel{}, invalid(CodeModelRequired, "no embedding slot exists yet",
				"run a pipeline that embeds segments (embedding_generator) first")
		default:
			return store.EmbeddingModel{}, invalid(CodeModelRequired,
				"several embedding slots exist and the request names none",
				"set model_name to one of: "+strings.Join(slotNames(models), ", "))
		}
	}
	m, err := s.v.Model(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		hint := "no embedding slot exists yet; run a pipeline that embeds segments first"
		if models, lerr := s.v.Models(ctx); lerr == nil && len(models) > 0 {
			hint = "use one of: " + strings.Join(slotNames(models), ", ")
		}
		return store.EmbeddingModel{}, &store.Error{Code: CodeModelNotFound, Kind: store.ErrNotFound,
			Msg: fmt.Sprintf("embedding slot %q not found", name), Hint: hint}
	}
	if err != nil {
		return store.EmbeddingModel{}, fmt.Errorf("reading embedding slot %q: %w", name, err)
	}
	return m, nil
}

func slotNames(models []store.EmbeddingModel) []string {
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.Name
	}
	return names
}

// embed turns the query into a vector of slot m with the slot's profile.
func (s *Service) embed(ctx context.Context, m store.EmbeddingModel, query string) ([]float32, error) {
	emb, err := s.e.Embedder(m.Profile)
	if err != nil {
		return nil, fmt.Errorf("embedding slot %q: profile %q: %w", m.Name, m.Profile, err)
	}
	if d := emb.Dims(); d > 0 && d != m.Dims {
		return nil, &store.Error{Code: CodeModelMismatch, Kind: store.ErrConflict,
			Msg:  fmt.Sprintf("embedding slot %q holds %d-dimensional vectors but profile %q makes %d", m.Name, m.Dims, m.Profile, d),
			Hint: "restore the profile's dims, or re-index into a new slot"}
	}
	vecs, err := emb.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("embedding the query for slot %q: %w", m.Name, err)
	}
	if len(vecs) != 1 || len(vecs[0]) != m.Dims {
		return nil, &store.Error{Code: CodeModelMismatch, Kind: store.ErrConflict,
			Msg:  fmt.Sprintf("profile %q returned a query vector that does not fit slot %q (%d dims)", m.Profile, m.Name, m.Dims),
			Hint: "check the profile's model and dims"}
	}
	return vecs[0], nil
}

func (s *Service) vectorQuery(ctx context.Context, r Request, slot string) (store.VectorQuery, error) {
	m, err := s.resolve(ctx, slot)
	if err != nil {
		return store.VectorQuery{}, err
	}
	vec, err := s.embed(ctx, m, r.Query)
	if err != nil {
		return store.VectorQuery{}, err
	}
	return store.VectorQuery{Model: m.Name, Vector: vec, Limit: r.Limit, MinScore: r.MinScore, Filter: r.Filter}, nil
}

// vectorQueries resolves and embeds several slots in parallel; duplicate
// names are searched once.
func (s *Service) vectorQueries(ctx context.Context, r Request, slots []string) ([]store.VectorQuery, error) {
	var uniq []string
	for _, n := range slots {
		if n == "" {
			return nil, invalid(CodeInvalidRequest, "an empty embedding slot name", "name every slot")
		}
		if !slices.Contains(uniq, n) {
			uniq = append(uniq, n)
		}
	}
	vqs := make([]store.VectorQuery, len(uniq))
	g, gctx := errgroup.WithContext(ctx)
	for i, n := range uniq {
		g.Go(func() error {
			vq, err := s.vectorQuery(gctx, r, n)
			vqs[i] = vq
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return vqs, nil
}

func (s *Service) textQuery(r Request) store.TextQuery {
	return store.TextQuery{Query: r.Query, Language: r.Language, Limit: r.Limit, Filter: r.Filter}
}

func (s *Service) respond(mode string, r Request, models []string, hits []store.SearchHit, start time.Time) *Response {
	if hits == nil {
		hits = []store.SearchHit{}
	}
	resp := &Response{Mode: mode, Query: r.Query, Models: models, Hits: hits, Total: len(hits),
		TookMS: float64(time.Since(start).Microseconds()) / 1000}
	if len(models) == 1 {
		resp.Model = models[0]
	}
	s.log.Debug("search", "mode", mode, "models", models, "hits", len(hits), "took_ms", resp.TookMS)
	return resp
}

// Semantic ranks segments by cosine similarity to the query in one slot.
func (s *Service) Semantic(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	r, err := s.checked(ctx, req)
	if err != nil {
		return nil, err
	}
	vq, err := s.vectorQuery(ctx, r, r.Model)
	if err != nil {
		return nil, err
	}
	hits, err := s.v.Semantic(ctx, vq)
	if err != nil {
		return nil, fmt.Errorf("semantic search in slot %q: %w", vq.Model, err)
	}
	return s.respond(ModeSemantic, r, []string{vq.Model}, hits, start), nil
}

// Hybrid blends cosine similarity (VectorWeight) and full-text rank.
func (s *Service) Hybrid(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	r, err := s.checked(ctx, req)
	if err != nil {
		return nil, err
	}
	vq, err := s.vectorQuery(ctx, r, r.Model)
	if err != nil {
		return nil, err
	}
	hits, err := s.v.Hybrid(ctx, vq, s.textQuery(r), r.VectorWeight)
	if err != nil {
		return nil, fmt.Errorf("hybrid search in slot %q: %w", vq.Model, err)
	}
	return s.respond(ModeHybrid, r, []string{vq.Model}, hits, start), nil
}

// RRF fuses the ranked lists of the requested slot (Model, or every slot
// of Models) and of full-text search by reciprocal rank.
func (s *Service) RRF(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	r, err := s.checked(ctx, req)
	if err != nil {
		return nil, err
	}
	var vqs []store.VectorQuery
	if len(r.Models) > 0 {
		slots := r.Models
		if r.Model != "" {
			slots = append([]string{r.Model}, slots...)
		}
		vqs, err = s.vectorQueries(ctx, r, slots)
	} else {
		var vq store.VectorQuery
		vq, err = s.vectorQuery(ctx, r, r.Model)
		vqs = []store.VectorQuery{vq}
	}
	if err != nil {
		return nil, err
	}
	tq := s.textQuery(r)
	hits, err := s.v.RRF(ctx, vqs, &tq, r.RRFK, r.Limit)
	if err != nil {
		return nil, fmt.Errorf("RRF search: %w", err)
	}
	return s.respond(ModeRRF, r, modelsOf(vqs), hits, start), nil
}

// MultiModel searches every slot of Models, each embedded with its own
// profile, and merges the hits with each slot's score kept.
func (s *Service) MultiModel(ctx context.Context, req Request) (*Response, error) {
	start := time.Now()
	r, err := s.checked(ctx, req)
	if err != nil {
		return nil, err
	}
	slots := r.Models
	if len(slots) == 0 {
		return nil, invalid(CodeModelRequired, "a multi-model search names no slots",
			"set models to one or more embedding slots")
	}
	vqs, err := s.vectorQueries(ctx, r, slots)
	if err != nil {
		return nil, err
	}
	hits, err := s.v.MultiModel(ctx, vqs, r.Limit)
	if err != nil {
		return nil, fmt.Errorf("multi-model search: %w", err)
	}
	return s.respond(ModeMultiModel, r, modelsOf(vqs), hits, start), nil
}

func modelsOf(vqs []store.VectorQuery) []string {
	out := make([]string, len(vqs))
	for i, q := range vqs {
		out[i] = q.Model
	}
	return out
}

// Sources lists the executions with searchable content; with model set,
// only those with vectors in that slot.
func (s *Service) Sources(ctx context.Context, model string, minSegments int) ([]store.IndexedSource, error) {
	if model != "" {
		if _, err := s.resolve(ctx, model); err != nil {
			return nil, err
		}
	}
	if minSegments < 0 {
		return nil, invalid(CodeInvalidRequest, "min_segments is negative", "use 0 or more")
	}
	srcs, err := s.v.Sources(ctx, model, minSegments)
	if err != nil {
		return nil, fmt.Errorf("listing indexed sources: %w", err)
	}
	if srcs == nil {
		srcs = []store.IndexedSource{}
	}
	return srcs, nil
}

// Slot describes one embedding slot in Capabilities.
type Slot struct {
	Name          string `json:"model_name"`
	Profile       string `json:"profile"`
	ProviderModel string `json:"provider_model,omitempty"`
	Dims          int    `json:"dims"`
	Vectors       int64  `json:"vector_count"`
	// ProfileAvailable is false when the profile that made the slot is
	// no longer configured: the slot cannot be searched then.
	ProfileAvailable bool              `json:"profile_available"`
	Indexes          []store.IndexInfo `json:"indexes"`
}

// Capabilities tells clients what they can search.
type Capabilities struct {
	Modes             []string `json:"modes"`
	Models            []Slot   `json:"models"`
	DefaultModel      string   `json:"default_model,omitempty"`
	Languages         []string `json:"languages"`
	DefaultLanguage   string   `json:"default_language"`
	PgvectorAvailable bool     `json:"pgvector_available"`
	DefaultLimit      int      `json:"default_limit"`
	MaxLimit          int      `json:"max_limit"`
}

// Capabilities reports the modes, slots (with vector counts and indexes),
// languages and whether pgvector is there.
func (s *Service) Capabilities(ctx context.Context) (*Capabilities, error) {
	c := &Capabilities{
		Modes:             []string{ModeSemantic, ModeHybrid, ModeRRF, ModeMultiModel},
		Models:            []Slot{},
		DefaultLanguage:   s.opts.Language,
		PgvectorAvailable: s.v.Available(),
		DefaultLimit:      DefaultLimit,
		MaxLimit:          MaxLimit,
	}
	if c.DefaultLanguage == "" {
		c.DefaultLanguage = "english"
	}
	langs, err := s.languages(ctx)
	if err != nil {
		return nil, err
	}
	c.Languages = langs
	models, err := s.v.Models(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing embedding slots: %w", err)
	}
	var indexes []store.IndexInfo
	if c.PgvectorAvailable {
		if indexes, err = s.v.Indexes(ctx); err != nil {
			return nil, fmt.Errorf("listing vector indexes: %w", err)
		}
	}
	for _, m := range models {
		slot := Slot{Name: m.Name, Profile: m.Profile, ProviderModel: m.ProviderModel, Dims: m.Dims,
			Vectors: m.Vectors, Indexes: []store.IndexInfo{}}
		if _, err := s.e.Embedder(m.Profile); err == nil {
			slot.ProfileAvailable = true
		}
		for _, ix := range indexes {
			if ix.Model == m.Name {
				slot.Indexes = append(slot.Indexes, ix)
			}
		}
		c.Models = append(c.Models, slot)
	}
	switch {
	case s.opts.DefaultModel != "":
		c.DefaultModel = s.opts.DefaultModel
	case len(models) == 1:
		c.DefaultModel = models[0].Name
	}
	return c, nil
}
