package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrVectorUnavailable matches every error a vector operation returns when
// the database has no pgvector extension (code PGVECTOR_UNAVAILABLE).
var ErrVectorUnavailable = errors.New("pgvector unavailable")

// Codes of the vector store.
const (
	CodeEmbeddingDimsMismatch  = "EMBEDDING_DIMS_MISMATCH"
	CodeEmbeddingModelNotFound = "EMBEDDING_MODEL_NOT_FOUND"
	CodeVectorIndexExists      = "VECTOR_INDEX_EXISTS"
	CodeVectorIndexNotFound    = "VECTOR_INDEX_NOT_FOUND"
)

// vectorLockKey serialises EnsureVectorSchema across processes
// ("ffvector" in ASCII).
const vectorLockKey int64 = 0x6666766563746f72

const (
	hintInstallPgvector = "install pgvector on the PostgreSQL server (the postgresql-<major>-pgvector package, " +
		"or the pgvector/pgvector image) and restart factflow; full-text search works without it"
	hintPermitPgvector = "pgvector is installed but this role may not create it: have a superuser run " +
		"CREATE EXTENSION vector in this database, then restart factflow; full-text search works without it"
)

// vectorState is what one DB knows about pgvector. It is shared by every
// Vectors of the DB.
type vectorState struct {
	mu      sync.Mutex
	checked bool // EnsureVectorSchema ran, or a probe found the schema
	ok      bool
	version string // pgvector extversion
	hint    string // why it is unavailable
	langs   map[string]bool
	// slots caches registered slots: a slot's dimension never changes
	// and slots are never removed, so a cached entry cannot go stale in
	// what searches use (name and dims).
	slots map[string]EmbeddingModel
}

// Vectors stores segments with their embeddings and searches them:
// semantic (cosine), full text, hybrid, reciprocal rank fusion and
// multi-model, and manages the per-slot vector indexes.
//
// Vectors live in one `embeddings` table whose column has no fixed
// dimension, so slots of different dimensions sit side by side. Each slot's
// index is partial (WHERE model_name = slot) on a cast that fixes the
// dimension (embedding::vector(D)); queries use the same expression and
// predicate so the planner picks the index. The SQL of those queries is
// therefore assembled per slot, from the slot's registered dimension and
// its name as a quoted literal: nothing else from input reaches SQL text.
//
// Vectors travel as float4[] in pgx's binary format and are cast to
// vector in SQL, so pooled connections need no pgvector type registration
// (a pool opened before the extension existed works) and nothing is
// formatted as text. Search settings (hnsw.ef_search, ivfflat.probes,
// iterative scans) are SET LOCAL inside the search's own read-only
// transaction, never on a pooled session.
type Vectors struct {
	pool  *pgxpool.Pool
	state *vectorState
}

// Vectors returns the vector store. It is cheap and shares the pgvector
// availability that EnsureVectorSchema found for this DB.
func (db *DB) Vectors() *Vectors { return &Vectors{pool: db.pool, state: db.vectorState} }

const (
	sqlVectorLock       = `SELECT pg_advisory_xact_lock($1)`
	sqlVectorInstalled  = `SELECT extversion FROM pg_extension WHERE extname = 'vector'`
	sqlVectorAvailable  = `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`
	sqlSegmentsExist    = `SELECT to_regclass('segments') IS NOT NULL AND to_regclass('embedding_models') IS NOT NULL`
	sqlEmbeddingsExist  = `SELECT to_regclass('embeddings') IS NOT NULL`
	sqlCreateVectorExt  = `CREATE EXTENSION IF NOT EXISTS vector`
	sqlCreateEmbeddings = `CREATE TABLE IF NOT EXISTS embeddings (
    segment_id   uuid        NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    model_name   text        NOT NULL REFERENCES embedding_models (model_name) ON DELETE CASCADE,
    execution_id uuid        NOT NULL,
    dims         integer     NOT NULL CHECK (dims > 0),
    -- No fixed dimension: slots of different dimensions share the table;
    -- per-slot indexes fix it with a cast.
    embedding    vector      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_name, segment_id),
    CHECK (vector_dims(embedding) = dims)
)`
	sqlEmbeddingsSegmentIdx   = `CREATE INDEX IF NOT EXISTS embeddings_segment_idx ON embeddings (segment_id)`
	sqlEmbeddingsExecutionIdx = `CREATE INDEX IF NOT EXISTS embeddings_execution_idx ON embeddings (execution_id, model_name)`
)

// EnsureVectorSchema creates the pgvector extension and the embeddings
// table when they are missing; run it after Migrate. It is idempotent and
// safe to run from several processes at once. It reports false, without
// an error, when pgvector is not installed on the server or this role may
// not create it: vector operations then return PGVECTOR_UNAVAILABLE while
// the rest of the store, full-text search included, keeps working.
func (db *DB) EnsureVectorSchema(ctx context.Context) (bool, error) {
	st := db.vectorState
	var (
		ok            bool
		version, hint string
	)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		ok, version, hint = false, "", ""
		if _, err := tx.Exec(ctx, sqlVectorLock, vectorLockKey); err != nil {
			return fmt.Errorf("taking the vector schema lock: %w", err)
		}
		var migrated bool
		if err := tx.QueryRow(ctx, sqlSegmentsExist).Scan(&migrated); err != nil {
			return fmt.Errorf("looking for the segments table: %w", err)
		}
		if !migrated {
			return &Error{Code: CodeInvalidArgument, Kind: ErrInvalidArgument,
				Msg: "the segments tables do not exist", Hint: "run the migrations (factflow migrate) before the vector schema"}
		}
		err := tx.QueryRow(ctx, sqlVectorInstalled).Scan(&version)
		if isNoRows(err) {
			var avail bool
			if err := tx.QueryRow(ctx, sqlVectorAvailable).Scan(&avail); err != nil {
				return fmt.Errorf("looking for pgvector: %w", err)
			}
			if !avail {
				hint = hintInstallPgvector
				return nil
			}
			// A savepoint keeps the transaction usable when the role may
			// not create the extension.
			sp, err := tx.Begin(ctx)
			if err != nil {
				return fmt.Errorf("creating the pgvector extension: %w", err)
			}
			if _, err := sp.Exec(ctx, sqlCreateVectorExt); err != nil {
				_ = sp.Rollback(ctx)
				switch code, _ := pgCode(err); code {
				case "42501": // insufficient_privilege
					hint = hintPermitPgvector
					return nil
				case "58P01", "0A000": // control or library file missing
					hint = hintInstallPgvector
					return nil
				}
				return fmt.Errorf("creating the pgvector extension: %w", err)
			}
			if err := sp.Commit(ctx); err != nil {
				return fmt.Errorf("creating the pgvector extension: %w", err)
			}
			if err := tx.QueryRow(ctx, sqlVectorInstalled).Scan(&version); err != nil {
				return fmt.Errorf("reading the pgvector version: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("looking for pgvector: %w", err)
		}
		for _, q := range []string{sqlCreateEmbeddings, sqlEmbeddingsSegmentIdx, sqlEmbeddingsExecutionIdx} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("creating the embeddings table: %w", err)
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, err
	}
	st.mu.Lock()
	st.checked, st.ok, st.version, st.hint = true, ok, version, hint
	st.mu.Unlock()
	return ok, nil
}

// Available reports whether vector operations work. Before
// EnsureVectorSchema (or a first vector operation finding the schema) it
// reports false.
func (v *Vectors) Available() bool {
	v.state.mu.Lock()
	defer v.state.mu.Unlock()
	return v.state.checked && v.state.ok
}

// Ready returns nil when vector operations can run, else the
// PGVECTOR_UNAVAILABLE error (or why the database could not tell): the
// check callers make before work that would be wasted without vectors.
func (v *Vectors) Ready(ctx context.Context) error { return v.ready(ctx) }

// ready returns nil when the vector schema exists, probing the database
// when EnsureVectorSchema did not run in this process.
func (v *Vectors) ready(ctx context.Context) error {
	st := v.state
	st.mu.Lock()
	checked, ok, hint := st.checked, st.ok, st.hint
	st.mu.Unlock()
	if checked {
		if ok {
			return nil
		}
		return unavailable(hint)
	}
	var version string
	err := v.pool.QueryRow(ctx, sqlVectorInstalled).Scan(&version)
	if isNoRows(err) {
		return unavailable(hintInstallPgvector)
	}
	if err != nil {
		return fmt.Errorf("looking for pgvector: %w", err)
	}
	var exists bool
	if err := v.pool.QueryRow(ctx, sqlEmbeddingsExist).Scan(&exists); err != nil {
		return fmt.Errorf("looking for the embeddings table: %w", err)
	}
	if !exists {
		return unavailable("the embeddings table is missing: start factflow (or call EnsureVectorSchema) to create it")
	}
	st.mu.Lock()
	st.checked, st.ok, st.version = true, true, version
	st.mu.Unlock()
	return nil
}

// iterativeScan reports whether pgvector knows hnsw.iterative_scan (0.8+).
func (v *Vectors) iterativeScan() bool {
	v.state.mu.Lock()
	ver := v.state.version
	v.state.mu.Unlock()
	var major, minor int
	if _, err := fmt.Sscanf(ver, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 0 || minor >= 8
}

func unavailable(hint string) error {
	if hint == "" {
		hint = hintInstallPgvector
	}
	return &Error{Code: CodeVectorUnavailable, Kind: ErrVectorUnavailable,
		Msg: "vector search needs the pgvector extension, which this database does not have", Hint: hint}
}

const (
	sqlRegisterModel = `INSERT INTO embedding_models (model_name, profile, provider_model, dims)
VALUES ($1, $2, $3, $4)
ON CONFLICT (model_name) DO UPDATE SET profile = EXCLUDED.profile, provider_model = EXCLUDED.provider_model,
    updated_at = now()
WHERE embedding_models.dims = EXCLUDED.dims
RETURNING dims`
	sqlModelDims = `SELECT dims FROM embedding_models WHERE model_name = $1`
	sqlModel     = `SELECT model_name, profile, provider_model, dims, created_at FROM embedding_models WHERE model_name = $1`
	sqlModels    = `SELECT model_name, profile, provider_model, dims, created_at FROM embedding_models ORDER BY model_name`
	sqlModelsIn  = `SELECT model_name, profile, provider_model, dims, created_at FROM embedding_models WHERE model_name = ANY($1)`
	sqlCounts    = `SELECT model_name, count(*) FROM embeddings GROUP BY model_name`
	sqlCount     = `SELECT count(*) FROM embeddings WHERE model_name = $1`
)

// RegisterModel records an embedding slot, or updates its profile and
// provider model. A slot's dimension never changes: registering other dims
// than recorded is EMBEDDING_DIMS_MISMATCH (ErrConflict). Slots can be
// registered without pgvector.
func (v *Vectors) RegisterModel(ctx context.Context, m EmbeddingModel) error {
	if err := validModelName(m.Name); err != nil {
		return err
	}
	if m.Dims <= 0 || m.Dims > 16000 {
		return invalidArg(fmt.Sprintf("embedding slot %q: dims %d is out of range", m.Name, m.Dims),
			"dims is the length of the model's vectors, 1 to 16000")
	}
	var dims int
	err := v.pool.QueryRow(ctx, sqlRegisterModel, m.Name, m.Profile, m.ProviderModel, m.Dims).Scan(&dims)
	if isNoRows(err) {
		// The WHERE of the upsert kept the row: its dims differ.
		if err := v.pool.QueryRow(ctx, sqlModelDims, m.Name).Scan(&dims); err != nil {
			return fmt.Errorf("reading embedding slot %q: %w", m.Name, err)
		}
		return &Error{Code: CodeEmbeddingDimsMismatch, Kind: ErrConflict,
			Msg:  fmt.Sprintf("embedding slot %q holds %d-dimensional vectors, not %d", m.Name, dims, m.Dims),
			Hint: "a slot keeps one dimension: register the new model under another model_name"}
	}
	if err != nil {
		return fmt.Errorf("registering embedding slot %q: %w", m.Name, err)
	}
	return nil
}

// Model returns one slot with its vector count (0 without pgvector).
func (v *Vectors) Model(ctx context.Context, name string) (EmbeddingModel, error) {
	var m EmbeddingModel
	err := v.pool.QueryRow(ctx, sqlModel, name).Scan(&m.Name, &m.Profile, &m.ProviderModel, &m.Dims, &m.CreatedAt)
	if isNoRows(err) {
		return m, modelNotFound(name, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("reading embedding slot %q: %w", name, err)
	}
	if v.ready(ctx) == nil {
		if err := v.pool.QueryRow(ctx, sqlCount, name).Scan(&m.Vectors); err != nil {
			return m, fmt.Errorf("counting the vectors of slot %q: %w", name, err)
		}
	}
	return m, nil
}

// Models lists the slots with their vector counts (0 without pgvector).
func (v *Vectors) Models(ctx context.Context) ([]EmbeddingModel, error) {
	rows, err := v.pool.Query(ctx, sqlModels)
	if err != nil {
		return nil, fmt.Errorf("listing embedding slots: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EmbeddingModel, error) {
		var m EmbeddingModel
		err := r.Scan(&m.Name, &m.Profile, &m.ProviderModel, &m.Dims, &m.CreatedAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing embedding slots: %w", err)
	}
	if len(out) == 0 || v.ready(ctx) != nil {
		return out, nil
	}
	counts, err := v.counts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Vectors = counts[out[i].Name]
	}
	return out, nil
}

func (v *Vectors) counts(ctx context.Context) (map[string]int64, error) {
	rows, err := v.pool.Query(ctx, sqlCounts)
	if err != nil {
		return nil, fmt.Errorf("counting vectors: %w", err)
	}
	counts := map[string]int64{}
	var (
		name string
		n    int64
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error { counts[name] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("counting vectors: %w", err)
	}
	return counts, nil
}

// models reads the named slots; a missing one is EMBEDDING_MODEL_NOT_FOUND
// of the given kind.
func (v *Vectors) models(ctx context.Context, names []string, kind error) (map[string]EmbeddingModel, error) {
	out := make(map[string]EmbeddingModel, len(names))
	var missing []string
	v.state.mu.Lock()
	for _, n := range names {
		if m, ok := v.state.slots[n]; ok {
			out[n] = m
		} else {
			missing = append(missing, n)
		}
	}
	v.state.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := v.pool.Query(ctx, sqlModelsIn, missing)
	if err != nil {
		return nil, fmt.Errorf("reading embedding slots: %w", err)
	}
	var m EmbeddingModel
	_, err = pgx.ForEachRow(rows, []any{&m.Name, &m.Profile, &m.ProviderModel, &m.Dims, &m.CreatedAt}, func() error {
		out[m.Name] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading embedding slots: %w", err)
	}
	v.state.mu.Lock()
	if v.state.slots == nil {
		v.state.slots = map[string]EmbeddingModel{}
	}
	for _, n := range missing {
		if m, ok := out[n]; ok {
			v.state.slots[n] = m
		}
	}
	v.state.mu.Unlock()
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, modelNotFound(n, kind)
		}
	}
	return out, nil
}

func modelNotFound(name string, kind error) error {
	return &Error{Code: CodeEmbeddingModelNotFound, Kind: kind,
		Msg:  fmt.Sprintf("embedding slot %q is not registered", name),
		Hint: "register the slot with its dims first (Vectors.RegisterModel), or list the slots to pick an existing one"}
}

func validModelName(name string) error {
	if strings.TrimSpace(name) == "" || strings.ContainsRune(name, 0) || len(name) > 200 {
		return invalidArg(fmt.Sprintf("embedding slot name %q is not valid", name),
			"use a non-empty name of at most 200 bytes, without NUL characters")
	}
	return nil
}

// checkVector validates a vector against its slot.
func checkVector(m EmbeddingModel, vec []float32, what string) error {
	if len(vec) != m.Dims {
		return &Error{Code: CodeEmbeddingDimsMismatch, Kind: ErrInvalidArgument,
			Msg:  fmt.Sprintf("%s has %d dimensions but slot %q holds %d", what, len(vec), m.Name, m.Dims),
			Hint: "embed with the profile registered for the slot, or use a slot of this dimension"}
	}
	for _, f := range vec {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return invalidArg(what+" contains NaN or infinity", "check the embedding provider's output")
		}
	}
	return nil
}

const (
	sqlUpsertDocuments = `INSERT INTO documents AS d (id, execution_id, source_key, url, title, storage_key, markdown_key, metadata)
SELECT t.id, t.execution_id, t.source_key, t.url, t.title, t.storage_key, t.markdown_key, t.metadata::jsonb
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
    AS t (id, execution_id, source_key, url, title, storage_key, markdown_key, metadata)
ON CONFLICT (execution_id, source_key) DO UPDATE SET url = EXCLUDED.url, title = EXCLUDED.title,
    storage_key = EXCLUDED.storage_key, markdown_key = EXCLUDED.markdown_key, metadata = EXCLUDED.metadata,
    updated_at = now()
RETURNING d.id::text, d.execution_id::text, d.source_key`
	sqlUpsertSegments = `INSERT INTO segments AS s (id, document_id, execution_id, segment_index, text, tokens, heading,
    heading_path, metadata, language, content_hash)
SELECT t.id, t.document_id, t.execution_id, t.segment_index, t.text, t.tokens, t.heading,
    ARRAY(SELECT jsonb_array_elements_text(t.heading_path::jsonb)), t.metadata::jsonb, t.language::regconfig, t.content_hash
FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[],
    $10::text[], $11::text[])
    AS t (id, document_id, execution_id, segment_index, text, tokens, heading, heading_path, metadata, language, content_hash)
ON CONFLICT (document_id, segment_index) DO UPDATE SET text = EXCLUDED.text, tokens = EXCLUDED.tokens,
    heading = EXCLUDED.heading, heading_path = EXCLUDED.heading_path, metadata = EXCLUDED.metadata,
    language = EXCLUDED.language, content_hash = EXCLUDED.content_hash
RETURNING s.id::text, s.document_id::text, s.segment_index`
	// The stage lives as long as the session and empties at every commit,
	// so a pooled connection creates it once.
	sqlCreateStage = `CREATE TEMP TABLE IF NOT EXISTS factflow_embedding_stage (
    segment_id uuid, model_name text, execution_id uuid, dims integer, embedding real[]
) ON COMMIT DELETE ROWS`
	sqlUpsertEmbeddings = `INSERT INTO embeddings (segment_id, model_name, execution_id, dims, embedding)
SELECT segment_id, model_name, execution_id, dims, embedding::vector FROM factflow_embedding_stage
ON CONFLICT (model_name, segment_id) DO UPDATE SET embedding = EXCLUDED.embedding, dims = EXCLUDED.dims,
    execution_id = EXCLUDED.execution_id, created_at = now()`
	sqlLanguages = `SELECT cfgname::text FROM pg_ts_config WHERE cfgname = ANY($1)`
)

var stageColumns = []string{"segment_id", "model_name", "execution_id", "dims", "embedding"}

type docRow struct {
	id, exec, key, url, title, storage, markdown, meta string
}

type segRow struct {
	id, doc, exec                   string
	index, tokens                   int
	text, heading, path, meta, lang string
	hash                            string
	embeddings                      map[string][]float32
	docKey                          string
}

// Save stores segments with their documents and embeddings in one
// transaction and returns each record's segment id, in order. Documents
// are upserted by (ExecutionID, DocumentKey), segments by (document,
// Index) and embeddings by (slot, segment), so saving a record again
// updates it in place; when one call holds the same key twice the last
// record wins. Records without embeddings save without pgvector.
//
// Rows go in set-based statements (unnest arrays, and COPY into a session
// stage table for the vectors), a handful of round trips per call however
// many records it holds.
func (v *Vectors) Save(ctx context.Context, recs []SegmentRecord) ([]string, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	docs, segs, recSeg, slots, langs, err := prepareSave(recs)
	if err != nil {
		return nil, err
	}
	if len(slots) > 0 {
		if err := v.ready(ctx); err != nil {
			return nil, err
		}
	}
	if err := v.checkLanguages(ctx, langs); err != nil {
		return nil, err
	}
	var models map[string]EmbeddingModel
	if len(slots) > 0 {
		if models, err = v.models(ctx, slots, ErrNotFound); err != nil {
			return nil, err
		}
		for i := range segs {
			for name, vec := range segs[i].embeddings {
				if err := checkVector(models[name], vec, fmt.Sprintf("the vector of segment %d of %q",
					segs[i].index, segs[i].docKey)); err != nil {
					return nil, err
				}
			}
		}
	}

	var ids []string
	// Concurrent saves of overlapping documents can deadlock despite the
	// sorted order (index and heap locks differ); PostgreSQL breaks it and
	// the loser simply runs again.
	for attempt := 1; ; attempt++ {
		ids, err = v.saveTx(ctx, docs, segs, recSeg, models)
		if code, _ := pgCode(err); (code == "40P01" || code == "40001") && attempt < 4 {
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func prepareSave(recs []SegmentRecord) ([]docRow, []segRow, []int, []string, []string, error) {
	docIdx := map[string]int{}
	segIdx := map[string]int{}
	var docs []docRow
	var segs []segRow
	recSeg := make([]int, len(recs))
	slotSet := map[string]bool{}
	langSet := map[string]bool{}
	for i, r := range recs {
		exec, ok := validID(r.ExecutionID)
		if !ok {
			return nil, nil, nil, nil, nil, invalidArg(fmt.Sprintf("record %d: execution id %q is not a UUID", i, r.ExecutionID),
				"segments belong to the execution that produced them; pass its id")
		}
		if r.DocumentKey == "" {
			return nil, nil, nil, nil, nil, invalidArg(fmt.Sprintf("record %d: empty document key", i),
				"set DocumentKey to the document's URL or storage key")
		}
		if r.Index < 0 {
			return nil, nil, nil, nil, nil, invalidArg(fmt.Sprintf("record %d: negative segment index %d", i, r.Index),
				"segments are numbered from 0 within their document")
		}
		docMeta, err := jsonObject(r.DocMetadata)
		if err != nil {
			return nil, nil, nil, nil, nil, invalidArg(fmt.Sprintf("record %d: document metadata: %v", i, err), "metadata must encode as JSON")
		}
		meta, err := jsonObject(r.Metadata)
		if err != nil {
			return nil, nil, nil, nil, nil, invalidArg(fmt.Sprintf("record %d: metadata: %v", i, err), "metadata must encode as JSON")
		}
		path, _ := json.Marshal(nonNil(r.HeadingPath))
		lang := strings.ToLower(strings.TrimSpace(r.Language))
		if lang == "" {
			lang = "english"
		}
		langSet[lang] = true
		for name, vec := range r.Embeddings {
			if err := validModelName(name); err != nil {
				return nil, nil, nil, nil, nil, err
			}
			if len(vec) == 0 {
				return nil, nil, nil, nil, nil, invalidArg(fmt.Sprintf("record %d: empty vector for slot %q", i, name), "drop the slot from Embeddings or pass its vector")
			}
			slotSet[name] = true
		}

		dk := exec + "\x00" + r.DocumentKey
		d := docRow{exec: exec, key: r.DocumentKey, url: r.URL, title: r.Title, storage: r.StorageKey,
			markdown: r.MarkdownKey, meta: docMeta}
		if j, ok := docIdx[dk]; ok {
			// Later records of a document refine it: fields they leave
			// empty keep what an earlier record set.
			prev := docs[j]
			d.id = prev.id
			d.url, d.title = orString(d.url, prev.url), orString(d.title, prev.title)
			d.storage, d.markdown = orString(d.storage, prev.storage), orString(d.markdown, prev.markdown)
			if r.DocMetadata == nil {
				d.meta = prev.meta
			}
			docs[j] = d
		} else {
			if d.id, err = NewID(); err != nil {
				return nil, nil, nil, nil, nil, err
			}
			docIdx[dk] = len(docs)
			docs = append(docs, d)
		}
		sum := sha256.Sum256([]byte(r.Text))
		s := segRow{exec: exec, index: r.Index, tokens: r.Tokens, text: r.Text, heading: r.Heading,
			path: string(path), meta: meta, lang: lang, hash: hex.EncodeToString(sum[:]),
			embeddings: r.Embeddings, docKey: dk}
		sk := fmt.Sprintf("%s\x00%d", dk, r.Index)
		if j, ok := segIdx[sk]; ok {
			s.id = segs[j].id
			segs[j] = s
			recSeg[i] = j
		} else {
			if s.id, err = NewID(); err != nil {
				return nil, nil, nil, nil, nil, err
			}
			segIdx[sk] = len(segs)
			recSeg[i] = len(segs)
			segs = append(segs, s)
		}
	}
	slots := make([]string, 0, len(slotSet))
	for s := range slotSet {
		slots = append(slots, s)
	}
	sort.Strings(slots)
	langs := make([]string, 0, len(langSet))
	for l := range langSet {
		langs = append(langs, l)
	}
	return docs, segs, recSeg, slots, langs, nil
}

func (v *Vectors) saveTx(ctx context.Context, docs []docRow, segs []segRow, recSeg []int, models map[string]EmbeddingModel) ([]string, error) {
	segIDs := make([]string, len(segs))
	err := pgx.BeginFunc(ctx, v.pool, func(tx pgx.Tx) error {
		// Sorted keys make concurrent saves lock rows in one order.
		order := make([]int, len(docs))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool {
			da, db := docs[order[a]], docs[order[b]]
			if da.exec != db.exec {
				return da.exec < db.exec
			}
			return da.key < db.key
		})
		n := len(docs)
		ids, execs, keys, urls, titles, storages, markdowns, metas :=
			make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, j := range order {
			d := docs[j]
			ids[i], execs[i], keys[i], urls[i], titles[i], storages[i], markdowns[i], metas[i] =
				d.id, d.exec, d.key, d.url, d.title, d.storage, d.markdown, d.meta
		}
		rows, err := tx.Query(ctx, sqlUpsertDocuments, ids, execs, keys, urls, titles, storages, markdowns, metas)
		if err != nil {
			return fmt.Errorf("saving documents: %w", err)
		}
		docID := make(map[string]string, n)
		var id, exec, key string
		if _, err := pgx.ForEachRow(rows, []any{&id, &exec, &key}, func() error {
			docID[exec+"\x00"+key] = id
			return nil
		}); err != nil {
			return fmt.Errorf("saving documents: %w", err)
		}

		for i := range segs {
			segs[i].doc = docID[segs[i].docKey]
		}
		order = make([]int, len(segs))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool {
			sa, sb := segs[order[a]], segs[order[b]]
			if sa.doc != sb.doc {
				return sa.doc < sb.doc
			}
			return sa.index < sb.index
		})
		m := len(segs)
		sIDs, sDocs, sExecs, sIdx, sText, sTok, sHead, sPath, sMeta, sLang, sHash :=
			make([]string, m), make([]string, m), make([]string, m), make([]int32, m), make([]string, m),
			make([]int32, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m)
		for i, j := range order {
			s := segs[j]
			sIDs[i], sDocs[i], sExecs[i], sIdx[i], sText[i], sTok[i], sHead[i], sPath[i], sMeta[i], sLang[i], sHash[i] =
				s.id, s.doc, s.exec, int32(s.index), s.text, int32(s.tokens), s.heading, s.path, s.meta, s.lang, s.hash
		}
		rows, err = tx.Query(ctx, sqlUpsertSegments, sIDs, sDocs, sExecs, sIdx, sText, sTok, sHead, sPath, sMeta, sLang, sHash)
		if err != nil {
			return fmt.Errorf("saving segments: %w", err)
		}
		segID := make(map[string]string, m)
		var doc string
		var idx int32
		if _, err := pgx.ForEachRow(rows, []any{&id, &doc, &idx}, func() error {
			segID[fmt.Sprintf("%s\x00%d", doc, idx)] = id
			return nil
		}); err != nil {
			return fmt.Errorf("saving segments: %w", err)
		}
		var stage [][]any
		for i := range segs {
			segIDs[i] = segID[fmt.Sprintf("%s\x00%d", segs[i].doc, segs[i].index)]
			for name, vec := range segs[i].embeddings {
				stage = append(stage, []any{segIDs[i], name, segs[i].exec, int32(models[name].Dims), vec})
			}
		}
		if len(stage) == 0 {
			return nil
		}
		sort.Slice(stage, func(a, b int) bool {
			if stage[a][1].(string) != stage[b][1].(string) {
				return stage[a][1].(string) < stage[b][1].(string)
			}
			return stage[a][0].(string) < stage[b][0].(string)
		})
		if _, err := tx.Exec(ctx, sqlCreateStage); err != nil {
			return fmt.Errorf("preparing the embedding stage: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"factflow_embedding_stage"}, stageColumns, pgx.CopyFromRows(stage)); err != nil {
			return fmt.Errorf("copying embeddings: %w", err)
		}
		if _, err := tx.Exec(ctx, sqlUpsertEmbeddings); err != nil {
			return fmt.Errorf("saving embeddings: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(recSeg))
	for i, j := range recSeg {
		out[i] = segIDs[j]
	}
	return out, nil
}

// checkLanguages validates text search configurations, remembering the
// good ones.
func (v *Vectors) checkLanguages(ctx context.Context, langs []string) error {
	var unknown []string
	v.state.mu.Lock()
	for _, l := range langs {
		if !v.state.langs[l] {
			unknown = append(unknown, l)
		}
	}
	v.state.mu.Unlock()
	if len(unknown) == 0 {
		return nil
	}
	rows, err := v.pool.Query(ctx, sqlLanguages, unknown)
	if err != nil {
		return fmt.Errorf("checking text search languages: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("checking text search languages: %w", err)
	}
	v.state.mu.Lock()
	if v.state.langs == nil {
		v.state.langs = map[string]bool{}
	}
	for _, l := range found {
		v.state.langs[l] = true
	}
	v.state.mu.Unlock()
	for _, l := range unknown {
		ok := false
		for _, f := range found {
			ok = ok || f == l
		}
		if !ok {
			return invalidArg(fmt.Sprintf("unknown text search language %q", l),
				"use a PostgreSQL text search configuration such as english, simple, german, norwegian "+
					"(SELECT cfgname FROM pg_ts_config lists them)")
		}
	}
	return nil
}

func jsonObject(m map[string]any) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// quoteLiteral quotes s as an SQL string literal whatever
// standard_conforming_strings says: backslashes use the E” form.
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}
