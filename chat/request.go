package chat

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/factflow/factflow/llm"
)

// Context modes.
const (
	ContextRAG  = "rag"
	ContextNone = "none"
)

// Retrieval strategies.
const (
	StrategyMerge      = "merge"
	StrategySequential = "sequential"
	StrategyEnsemble   = "ensemble"
)

// Bounds and defaults of a Request.
const (
	MaxQueryChars          = 10000
	MaxHistory             = 50
	DefaultSourceLimit     = 5
	MaxSourceLimit         = 50
	DefaultSourceWeight    = 1.0
	MaxSourceWeight        = 2.0
	DefaultMaxTotalResults = 8
	MaxTotalResultsCap     = 100
	// DefaultSourceName names the source used when a request lists none.
	DefaultSourceName = "default"
)

// Request is one chat turn. Zero fields take their defaults.
type Request struct {
	// Query is the question, 1 to 10000 characters.
	Query string `json:"query"`
	// History holds the earlier turns (at most 50), oldest first. Thread
	// messages ignore it: the thread's stored turns are the history.
	History []llm.Message `json:"history,omitempty"`
	// ContextMode is rag (default: answer from retrieved passages) or
	// none (plain completion).
	ContextMode string    `json:"context_mode,omitempty"`
	RAG         RAGConfig `json:"rag_config"`
	// EmbeddingModel is the slot of the one source used when RAG names
	// no sources ("" the search default).
	EmbeddingModel string `json:"embedding_model,omitempty"`
	// Profile is the completion profile ("" the default one).
	Profile     string   `json:"profile,omitempty"`
	Model       string   `json:"model,omitempty"`
	Temperature *float32 `json:"temperature,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
}

// RAGConfig is where and how passages are retrieved.
type RAGConfig struct {
	// Sources are searched by Strategy; none means one source on the
	// default embedding slot.
	Sources  []SourceSpec `json:"sources,omitempty"`
	Strategy string       `json:"retrieval_strategy,omitempty"`
	// MaxTotalResults caps the passages handed to the model (default 8).
	MaxTotalResults int `json:"max_total_results,omitempty"`
}

// SourceSpec is one retrieval source: an embedding slot, narrowed to some
// executions or metadata.
type SourceSpec struct {
	Name string `json:"name,omitempty"`
	// Model is the embedding slot ("" the default slot).
	Model string `json:"model_name,omitempty"`
	// Limit is the hits taken from this source (default 5, 1..50).
	Limit int `json:"limit,omitempty"`
	// SimilarityThreshold drops hits of a lower cosine similarity
	// (default 0; see the package doc for why not 0.7).
	SimilarityThreshold float64 `json:"similarity_threshold,omitempty"`
	// Weight multiplies this source's scores when sources are merged
	// (default 1, at most 2).
	Weight          float64        `json:"weight,omitempty"`
	ExecutionIDs    []string       `json:"execution_ids,omitempty"`
	MetadataFilters map[string]any `json:"metadata_filters,omitempty"`
}

// normalized validates r and fills its defaults.
func normalized(r Request) (Request, error) {
	r.Query = strings.TrimSpace(r.Query)
	if r.Query == "" {
		return r, invalid("the query is empty", "ask a question")
	}
	if n := utf8.RuneCountInString(r.Query); n > MaxQueryChars {
		return r, invalid(fmt.Sprintf("the query has %d characters, more than %d", n, MaxQueryChars), "shorten the question")
	}
	if len(r.History) > MaxHistory {
		return r, invalid(fmt.Sprintf("history has %d messages, more than %d", len(r.History), MaxHistory),
			"send only the latest turns")
	}
	for i, m := range r.History {
		switch m.Role {
		case "user", "assistant", "system":
		default:
			return r, invalid(fmt.Sprintf("history[%d] has role %q", i, m.Role), "use user, assistant or system")
		}
	}
	switch r.ContextMode {
	case "":
		r.ContextMode = ContextRAG
	case ContextRAG, ContextNone:
	default:
		return r, invalid(fmt.Sprintf("unsupported context_mode %q", r.ContextMode), "use rag or none")
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return r, invalid(fmt.Sprintf("temperature %g is out of range", *r.Temperature), "use a temperature from 0 to 2")
	}
	if r.MaxTokens < 0 {
		return r, invalid("max_tokens is negative", "use 0 (the provider's default) or more")
	}
	rag := &r.RAG
	switch rag.Strategy {
	case "":
		rag.Strategy = StrategyMerge
	case StrategyMerge, StrategySequential, StrategyEnsemble:
	default:
		return r, invalid(fmt.Sprintf("unknown retrieval_strategy %q", rag.Strategy), "use merge, sequential or ensemble")
	}
	switch {
	case rag.MaxTotalResults == 0:
		rag.MaxTotalResults = DefaultMaxTotalResults
	case rag.MaxTotalResults < 0 || rag.MaxTotalResults > MaxTotalResultsCap:
		return r, invalid(fmt.Sprintf("max_total_results %d is out of range", rag.MaxTotalResults),
			fmt.Sprintf("use 1 to %d", MaxTotalResultsCap))
	}
	// Copied so that defaults never write into the caller's slice.
	srcs := make([]SourceSpec, 0, max(1, len(rag.Sources)))
	if len(rag.Sources) == 0 {
		srcs = append(srcs, SourceSpec{Name: DefaultSourceName, Model: r.EmbeddingModel})
	}
	for i, s := range rag.Sources {
		if s.Name == "" {
			s.Name = s.Model
			if s.Name == "" {
				s.Name = fmt.Sprintf("source-%d", i+1)
			}
		}
		switch {
		case s.Limit == 0:
			s.Limit = DefaultSourceLimit
		case s.Limit < 1 || s.Limit > MaxSourceLimit:
			return r, invalid(fmt.Sprintf("source %q: limit %d is out of range", s.Name, s.Limit),
				fmt.Sprintf("use 1 to %d", MaxSourceLimit))
		}
		if s.SimilarityThreshold < 0 || s.SimilarityThreshold > 1 {
			return r, invalid(fmt.Sprintf("source %q: similarity_threshold %g is out of range", s.Name, s.SimilarityThreshold),
				"use 0 to 1")
		}
		switch {
		case s.Weight == 0:
			s.Weight = DefaultSourceWeight
		case s.Weight < 0 || s.Weight > MaxSourceWeight:
			return r, invalid(fmt.Sprintf("source %q: weight %g is out of range", s.Name, s.Weight),
				fmt.Sprintf("use a weight in (0, %g]", MaxSourceWeight))
		}
		srcs = append(srcs, s)
	}
	for i := range srcs {
		if srcs[i].Limit == 0 {
			srcs[i].Limit = DefaultSourceLimit
		}
		if srcs[i].Weight == 0 {
			srcs[i].Weight = DefaultSourceWeight
		}
	}
	rag.Sources = srcs
	return r, nil
}
