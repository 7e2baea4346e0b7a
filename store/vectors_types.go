package store

import "time"

// CodeVectorUnavailable is returned by every vector operation when the
// database has no pgvector extension. Full-text search and the rest of
// the store keep working.
const CodeVectorUnavailable = "PGVECTOR_UNAVAILABLE"

// SegmentRecord is one segment to store with its document and, per
// embedding slot, its vector. Documents are keyed by (ExecutionID,
// DocumentKey) and segments by (document, Index): saving the same record
// again updates it in place.
type SegmentRecord struct {
	ExecutionID string
	// DocumentKey identifies the document inside its execution (its URL
	// or storage key).
	DocumentKey string
	URL         string
	Title       string
	StorageKey  string
	MarkdownKey string
	DocMetadata map[string]any

	Index       int
	Text        string
	Tokens      int
	Heading     string
	HeadingPath []string
	Metadata    map[string]any
	// Language is the PostgreSQL text search configuration (english,
	// norwegian, simple, …); empty means english.
	Language string

	// Embeddings maps an embedding slot (model_name) to the vector.
	Embeddings map[string][]float32
}

// EmbeddingModel is an embedding slot: vectors of one dimension, produced
// by one LLM profile (which also embeds the queries searching them).
type EmbeddingModel struct {
	Name          string    `json:"model_name"`
	Profile       string    `json:"profile"`
	ProviderModel string    `json:"provider_model"`
	Dims          int       `json:"dims"`
	Vectors       int64     `json:"vector_count"`
	CreatedAt     time.Time `json:"created_at"`
}

// SearchFilter narrows a search. Empty fields do not filter.
type SearchFilter struct {
	ExecutionIDs []string `json:"execution_ids,omitempty"`
	ConfigIDs    []string `json:"config_ids,omitempty"`
	// Metadata must be contained in the segment's metadata (jsonb @>).
	Metadata map[string]any `json:"metadata,omitempty"`
	// DocumentMetadata must be contained in the document's metadata.
	DocumentMetadata map[string]any `json:"document_metadata,omitempty"`
}

// VectorQuery is a nearest-neighbour search in one slot.
type VectorQuery struct {
	Model  string
	Vector []float32
	Limit  int
	// MinScore drops hits whose cosine similarity is below it.
	MinScore float64
	Filter   SearchFilter
	// EfSearch sets hnsw.ef_search for this query (0: a default that
	// keeps recall high for Limit); Probes sets ivfflat.probes.
	EfSearch int
	Probes   int
	// Exact skips every index: a sequential scan, the ground truth that
	// recall is measured against.
	Exact bool
}

// TextQuery is a full-text search.
type TextQuery struct {
	Query    string
	Language string // text search configuration of the query; empty: english
	Limit    int
	Filter   SearchFilter
}

// SearchHit is one ranked segment.
type SearchHit struct {
	SegmentID    string         `json:"segment_id"`
	DocumentID   string         `json:"document_id"`
	ExecutionID  string         `json:"execution_id"`
	SegmentIndex int            `json:"segment_index"`
	Text         string         `json:"text"`
	Heading      string         `json:"heading,omitempty"`
	HeadingPath  []string       `json:"heading_path,omitempty"`
	Metadata     map[string]any `json:"metadata,omitempty"`
	DocumentKey  string         `json:"document_key"`
	URL          string         `json:"url,omitempty"`
	Title        string         `json:"title,omitempty"`
	StorageKey   string         `json:"storage_key,omitempty"`
	MarkdownKey  string         `json:"markdown_key,omitempty"`
	// Score is the ranking score of the mode that produced the hit:
	// cosine similarity (semantic), ts_rank_cd (text), the weighted blend
	// (hybrid) or the fused reciprocal rank (RRF).
	Score float64 `json:"score"`
	// VectorScore and TextScore are the parts a fused score came from.
	VectorScore *float64 `json:"vector_score,omitempty"`
	TextScore   *float64 `json:"text_score,omitempty"`
	// Model is the embedding slot of a vector hit.
	Model string `json:"model,omitempty"`
	// ModelScores holds each slot's similarity in a multi-model search.
	ModelScores map[string]float64 `json:"model_scores,omitempty"`
}

// IndexInfo describes one vector index.
type IndexInfo struct {
	Name       string         `json:"index_name"`
	Model      string         `json:"model_name"`
	Type       string         `json:"index_type"` // hnsw or ivfflat
	Dims       int            `json:"dims"`
	Rows       int64          `json:"row_count"`
	SizeBytes  int64          `json:"size_bytes"`
	SizePretty string         `json:"size_pretty"`
	Parameters map[string]int `json:"parameters"`
	Scans      int64          `json:"scan_count"`
	Valid      bool           `json:"valid"`
}

// IndexSpec asks for an index on one slot. Parameters: hnsw m and
// ef_construction, ivfflat lists; missing ones take pgvector's defaults
// (ivfflat lists: rows/1000, at least 1, sqrt(rows) past a million).
type IndexSpec struct {
	Model      string
	Type       string
	Parameters map[string]int
	// BuildMemoryMB is maintenance_work_mem of the building connection
	// (0: DefaultIndexBuildMemoryMB).
	BuildMemoryMB int
}

// AutoManagePolicy drives Vectors.AutoManage.
type AutoManagePolicy struct {
	DryRun bool
	// CreateAt is the vector count from which a slot without an index
	// gets an IVFFlat one (default 1000).
	CreateAt int64
	// HNSWAt is the count past which IVFFlat is replaced by HNSW
	// (default 100000).
	HNSWAt int64
}

// AutoManageAction is what AutoManage did, or would do, for one slot.
type AutoManageAction struct {
	Model   string     `json:"model_name"`
	Action  string     `json:"action"` // create, upgrade, rebuild, none
	Reason  string     `json:"reason"`
	Applied bool       `json:"applied"`
	Index   *IndexInfo `json:"index_info,omitempty"`
}

// IndexedSource is an execution with searchable content.
type IndexedSource struct {
	ExecutionID string    `json:"execution_id"`
	ConfigID    string    `json:"config_id,omitempty"`
	ConfigName  string    `json:"config_name"`
	Tag         string    `json:"tag,omitempty"`
	IndexedAt   time.Time `json:"indexed_at"`
	Documents   int64     `json:"document_count"`
	Segments    int64     `json:"segment_count"`
	Models      []string  `json:"embedding_models"`
}
