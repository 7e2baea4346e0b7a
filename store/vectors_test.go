package store_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// vectorDB is a fresh database with the vector schema.
func vectorDB(t *testing.T) (*store.DB, *store.Vectors) {
	t.Helper()
	db := storetest.NewDB(t)
	ok, err := db.EnsureVectorSchema(testCtx(t))
	require.NoError(t, err)
	require.True(t, ok, "the test server must have pgvector (scripts/services.sh up postgres installs it)")
	return db, db.Vectors()
}

func registerSlot(t *testing.T, v *store.Vectors, name string, dims int) {
	t.Helper()
	require.NoError(t, v.RegisterModel(testCtx(t), store.EmbeddingModel{Name: name, Profile: "hashing", Dims: dims}))
}

// unit returns a normalised vector.
func unit(xs ...float32) []float32 {
	var n float64
	for _, x := range xs {
		n += float64(x * x)
	}
	out := make([]float32, len(xs))
	for i, x := range xs {
		out[i] = float32(float64(x) / math.Sqrt(n))
	}
	return out
}

func ids(hits []store.SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.SegmentID
	}
	return out
}

func texts(hits []store.SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Text
	}
	return out
}

func TestVectorsEnsureSchemaIdempotent(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	require.False(t, db.Vectors().Available())
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.EnsureVectorSchema(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	ok, err := db.EnsureVectorSchema(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, db.Vectors().Available())
}

func TestVectorsSaveUpsertIdempotent(t *testing.T) {
	t.Parallel()
	db, v := vectorDB(t)
	ctx := testCtx(t)
	registerSlot(t, v, "s3", 3)
	exec := newExecution(t, db)
	recs := []store.SegmentRecord{
		{ExecutionID: exec.ID, DocumentKey: "https://a.example/x", URL: "https://a.example/x", Title: "X",
			StorageKey: "raw/x.html", MarkdownKey: "md/x.md", DocMetadata: map[string]any{"site": "a"},
			Index: 0, Text: "first part", Heading: "Intro", HeadingPath: []string{"X", "Intro"},
			Metadata: map[string]any{"lang": "en"}, Embeddings: map[string][]float32{"s3": unit(1, 0, 0)}},
		{ExecutionID: exec.ID, DocumentKey: "https://a.example/x", Index: 1, Text: "second part",
			Embeddings: map[string][]float32{"s3": unit(0, 1, 0)}},
	}
	first, err := v.Save(ctx, recs)
	require.NoError(t, err)
	require.Len(t, first, 2)
	require.NotEqual(t, first[0], first[1])

	recs[1].Text = "second part, edited"
	recs[1].Embeddings["s3"] = unit(0, 0, 1)
	again, err := v.Save(ctx, recs)
	require.NoError(t, err)
	require.Equal(t, first, again, "saving again keeps the segment ids")

	m, err := v.Model(ctx, "s3")
	require.NoError(t, err)
	require.EqualValues(t, 2, m.Vectors)

	segs, err := v.Segments(ctx, []string{again[1], again[0]})
	require.NoError(t, err)
	require.Equal(t, []string{"second part, edited", "first part"}, texts(segs))
	require.Equal(t, "https://a.example/x", segs[1].URL)
	require.Equal(t, "X", segs[1].Title)
	require.Equal(t, "raw/x.html", segs[1].StorageKey)
	require.Equal(t, "md/x.md", segs[1].MarkdownKey)
	require.Equal(t, []string{"X", "Intro"}, segs[1].HeadingPath)
	require.Equal(t, map[string]any{"lang": "en"}, segs[1].Metadata)

	hits, err := v.Semantic(ctx, store.VectorQuery{Model: "s3", Vector: unit(0, 0, 1), Limit: 1})
	require.NoError(t, err)
	require.Equal(t, []string{again[1]}, ids(hits), "the updated vector is the one searched")

	// The same key twice in one call: the last record wins.
	dup, err := v.Save(ctx, []store.SegmentRecord{
		{ExecutionID: exec.ID, DocumentKey: "d2", Index: 0, Text: "old"},
		{ExecutionID: exec.ID, DocumentKey: "d2", Index: 0, Text: "new"},
	})
	require.NoError(t, err)
	require.Equal(t, dup[0], dup[1])
	segs, err = v.Segments(ctx, dup[:1])
	require.NoError(t, err)
	require.Equal(t, []string{"new"}, texts(segs))
}

func TestVectorsSaveErrors(t *testing.T) {
	t.Parallel()
	db, v := vectorDB(t)
	ctx := testCtx(t)
	registerSlot(t, v, "s3", 3)
	exec := newExecution(t, db)

	_, err := v.Save(ctx, []store.SegmentRecord{{ExecutionID: exec.ID, DocumentKey: "d", Text: "x",
		Embeddings: map[string][]float32{"s3": {1, 2}}}})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	require.Equal(t, store.CodeEmbeddingDimsMismatch, store.Code(err))

	_, err = v.Save(ctx, []store.SegmentRecord{{ExecutionID: exec.ID, DocumentKey: "d", Text: "x",
		Embeddings: map[string][]float32{"nope": {1, 2}}}})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, store.CodeEmbeddingModelNotFound, store.Code(err))
	require.Contains(t, err.Error(), "RegisterModel")

	_, err = v.Save(ctx, []store.SegmentRecord{{ExecutionID: "not-a-uuid", DocumentKey: "d"}})
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	_, err = v.Save(ctx, []store.SegmentRecord{{ExecutionID: exec.ID, DocumentKey: "d", Language: "klingon"}})
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	err = v.RegisterModel(ctx, store.EmbeddingModel{Name: "s3", Dims: 4})
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, store.CodeEmbeddingDimsMismatch, store.Code(err))
	require.NoError(t, v.RegisterModel(ctx, store.EmbeddingModel{Name: "s3", Dims: 3, Profile: "other"}))
	m, err := v.Model(ctx, "s3")
	require.NoError(t, err)
	require.Equal(t, "other", m.Profile)

	_, err = v.Model(ctx, "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, store.CodeEmbeddingModelNotFound, store.Code(err))
	// Nothing was written by the failed saves.
	src, err := v.Sources(ctx, "", 0)
	require.NoError(t, err)
	require.Empty(t, src)
}

// seedCorpus saves a small corpus in slots of 3 and 5 dimensions.
func seedCorpus(t *testing.T, db *store.DB, v *store.Vectors) (execA, execB *store.Execution, seg map[string]string) {
	t.Helper()
	ctx := testCtx(t)
	registerSlot(t, v, "small", 3)
	registerSlot(t, v, "wide", 5)
	cfg := newConfig(t, db, "docs-crawl")
	execA = &store.Execution{ConfigID: cfg.ID, Tag: "gen-a"}
	require.NoError(t, db.Executions().Create(ctx, execA))
	execB = newExecution(t, db)
	type row struct {
		exec          *store.Execution
		doc, text     string
		small, wide   []float32
		meta, docMeta map[string]any
		lang          string
	}
	rowsIn := []row{
		{execA, "cats", "Cats purr and sleep in the sun", unit(1, 0, 0), unit(1, 0, 0, 0, 0), map[string]any{"kind": "pet"}, map[string]any{"site": "zoo"}, ""},
		{execA, "dogs", "Dogs bark at the mailman", unit(0.9, 0.1, 0), unit(0, 1, 0, 0, 0), map[string]any{"kind": "pet"}, map[string]any{"site": "zoo"}, ""},
		{execA, "cars", "Cars need fuel and tyres", unit(0, 1, 0), unit(0.9, 0.1, 0, 0, 0), map[string]any{"kind": "machine"}, map[string]any{"site": "garage"}, ""},
		{execB, "boats", "Boats sail on the sea", unit(0, 0.2, 1), unit(0, 0, 1, 0, 0), map[string]any{"kind": "machine"}, map[string]any{"site": "harbour"}, ""},
		{execB, "hunder", "Hundene bjeffer på postbudet", unit(0.5, 0.5, 0), nil, map[string]any{"kind": "pet"}, nil, "norwegian"},
	}
	var recs []store.SegmentRecord
	for _, r := range rowsIn {
		emb := map[string][]float32{"small": r.small}
		if r.wide != nil {
			emb["wide"] = r.wide
		}
		recs = append(recs, store.SegmentRecord{ExecutionID: r.exec.ID, DocumentKey: r.doc, URL: "https://ex.test/" + r.doc,
			Title: strings.ToUpper(r.doc), DocMetadata: r.docMeta, Text: r.text, Metadata: r.meta, Language: r.lang,
			Embeddings: emb})
	}
	got, err := v.Save(ctx, recs)
	require.NoError(t, err)
	seg = map[string]string{}
	for i, r := range rowsIn {
		seg[r.doc] = got[i]
	}
	return execA, execB, seg
}

func TestVectorsSemanticSlotsAndFilters(t *testing.T) {
	t.Parallel()
	db, v := vectorDB(t)
	ctx := testCtx(t)
	execA, execB, seg := seedCorpus(t, db, v)

	hits, err := v.Semantic(ctx, store.VectorQuery{Model: "small", Vector: unit(1, 0, 0), Limit: 3})
	require.NoError(t, err)
	require.Equal(t, []string{seg["cats"], seg["dogs"], seg["hunder"]}, ids(hits))
	require.InDelta(t, 1.0, hits[0].Score, 1e-6)
	require.InDelta(t, 0.9/math.Sqrt(0.82), hits[1].Score, 1e-5)
	require.Equal(t, "small", hits[0].Model)
	require.Equal(t, "https://ex.test/cats", hits[0].URL)
	require.Equal(t, "CATS", hits[0].Title)
	require.Equal(t, execA.ID, hits[0].ExecutionID)

	// The 5-d slot lives beside the 3-d one with its own geometry.
	hits, err = v.Semantic(ctx, store.VectorQuery{Model: "wide", Vector: unit(1, 0, 0, 0, 0), Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []string{seg["cats"], seg["cars"]}, ids(hits)[:2])
	require.Len(t, hits, 4, "the Norwegian segment has no wide vector")

	hits, err = v.Semantic(ctx, store.VectorQuery{Model: "small", Vector: unit(1, 0, 0), MinScore: 0.8})
	require.NoError(t, err)
	require.Equal(t, []string{seg["cats"], seg["dogs"]}, ids(hits))

	cases := []struct {
		name string
		f    store.SearchFilter
		want []string
	}{
		{"execution", store.SearchFilter{ExecutionIDs: []string{execB.ID}}, []string{seg["hunder"], seg["boats"]}},
		{"config", store.SearchFilter{ConfigIDs: []string{execA.ConfigID}}, []string{seg["cats"], seg["dogs"], seg["cars"]}},
		{"metadata", store.SearchFilter{Metadata: map[string]any{"kind": "machine"}}, []string{seg["cars"], seg["boats"]}},
		{"document metadata", store.SearchFilter{DocumentMetadata: map[string]any{"site": "zoo"}}, []string{seg["cats"], seg["dogs"]}},
		{"combined", store.SearchFilter{ExecutionIDs: []string{execA.ID}, Metadata: map[string]any{"kind": "pet"}}, []string{seg["cats"], seg["dogs"]}},
	}
	for _, c := range cases {
		hits, err := v.Semantic(ctx, store.VectorQuery{Model: "small", Vector: unit(1, 0, 0), Filter: c.f})
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, ids(hits), c.name)
	}

	_, err = v.Semantic(ctx, store.VectorQuery{Model: "small", Vector: unit(1, 0, 0, 0, 0)})
	require.Equal(t, store.CodeEmbeddingDimsMismatch, store.Code(err))
	_, err = v.Semantic(ctx, store.VectorQuery{Model: "nope", Vector: unit(1, 0, 0)})
	require.Equal(t, store.CodeEmbeddingModelNotFound, store.Code(err))
	_, err = v.Semantic(ctx, store.VectorQuery{Model: "small", Vector: unit(1, 0, 0), Filter: store.SearchFilter{ExecutionIDs: []string{"x"}}})
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	models, err := v.Models(ctx)
	require.NoError(t, err)
	require.Len(t, models, 2)
	require.Equal(t, "small", models[0].Name)
	require.EqualValues(t, 5, models[0].Vectors)
	require.EqualValues(t, 4, models[1].Vectors)

	src, err := v.Sources(ctx, "", 0)
	require.NoError(t, err)
	require.Len(t, src, 2)
	byExec := map[string]store.IndexedSource{}
	for _, s := range src {
		byExec[s.ExecutionID] = s
	}
	a := byExec[execA.ID]
	require.Equal(t, "docs-crawl", a.ConfigName)
	require.Equal(t, execA.ConfigID, a.ConfigID)
	require.Equal(t, execA.Tag, a.Tag)
	require.EqualValues(t, 3, a.Documents)
	require.EqualValues(t, 3, a.Segments)
	require.Equal(t, []string{"small", "wide"}, a.Models)
	require.False(t, a.IndexedAt.IsZero())
	src, err = v.Sources(ctx, "", 3)
	require.NoError(t, err)
	require.Len(t, src, 1)
	registerSlot(t, v, "empty", 2)
	src, err = v.Sources(ctx, "empty", 0)
	require.NoError(t, err)
	require.Empty(t, src)
}

func TestVectorsFullTextHybridRRFMulti(t *testing.T) {
	t.Parallel()
	db, v := vectorDB(t)
	ctx := testCtx(t)
	execA, _, seg := seedCorpus(t, db, v)

	hits, err := v.FullText(ctx, store.TextQuery{Query: "barking dogs"})
	require.NoError(t, err)
	require.Equal(t, []string{seg["dogs"]}, ids(hits), "english stemming: barking matches bark")
	require.Greater(t, hits[0].Score, 0.0)
	require.NotNil(t, hits[0].TextScore)

	hits, err = v.FullText(ctx, store.TextQuery{Query: "bjeffer", Language: "norwegian"})
	require.NoError(t, err)
	require.Equal(t, []string{seg["hunder"]}, ids(hits))

	hits, err = v.FullText(ctx, store.TextQuery{Query: "sea OR sun -cats"})
	require.NoError(t, err)
	require.Equal(t, []string{seg["boats"]}, ids(hits))

	hits, err = v.FullText(ctx, store.TextQuery{Query: "fuel", Filter: store.SearchFilter{ExecutionIDs: []string{execA.ID}}})
	require.NoError(t, err)
	require.Equal(t, []string{seg["cars"]}, ids(hits))

	_, err = v.FullText(ctx, store.TextQuery{Query: "x", Language: "english'; DROP TABLE segments; --"})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	require.Equal(t, store.CodeInvalidArgument, store.Code(err))
	_, err = v.FullText(ctx, store.TextQuery{Query: "  "})
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	// Hybrid: the vector points at cats, the text at cars; with weight 0.7
	// cats wins, with 0.1 the text match does.
	vq := store.VectorQuery{Model: "small", Vector: unit(1, 0, 0), Limit: 5}
	tq := store.TextQuery{Query: "fuel tyres"}
	hits, err = v.Hybrid(ctx, vq, tq, 0)
	require.NoError(t, err)
	require.Equal(t, seg["cats"], hits[0].SegmentID)
	require.NotNil(t, hits[0].VectorScore)
	require.NotNil(t, hits[0].TextScore)
	var cars *store.SearchHit
	for i := range hits {
		if hits[i].SegmentID == seg["cars"] {
			cars = &hits[i]
		}
	}
	require.NotNil(t, cars, "the text match is a candidate")
	require.InDelta(t, 0.7*0+0.3*1, cars.Score, 1e-6, "cars: orthogonal vector, best text score")
	hits, err = v.Hybrid(ctx, vq, tq, 0.1)
	require.NoError(t, err)
	require.Equal(t, seg["cars"], hits[0].SegmentID)
	_, err = v.Hybrid(ctx, vq, tq, 1.5)
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	// RRF: dogs is second in both vector lists and first in text.
	hits, err = v.RRF(ctx, []store.VectorQuery{
		{Model: "small", Vector: unit(1, 0, 0)},
		{Model: "wide", Vector: unit(1, 0, 0, 0, 0)},
	}, &store.TextQuery{Query: "cats"}, 0, 2)
	require.NoError(t, err)
	require.Len(t, hits, 2)
	require.Equal(t, seg["cats"], hits[0].SegmentID)
	require.InDelta(t, 3.0/61, hits[0].Score, 1e-9, "first in all three lists")
	require.Len(t, hits[0].ModelScores, 2)
	require.NotNil(t, hits[0].TextScore)
	hits, err = v.RRF(ctx, nil, &store.TextQuery{Query: "cats OR dogs"}, 10, 5)
	require.NoError(t, err)
	require.Len(t, hits, 2)
	require.InDelta(t, 1.0/11, hits[0].Score, 1e-9)

	// Multi-model: mean of the slots' similarities; cats scores 1 in both.
	hits, err = v.MultiModel(ctx, []store.VectorQuery{
		{Model: "small", Vector: unit(1, 0, 0)},
		{Model: "wide", Vector: unit(1, 0, 0, 0, 0)},
	}, 3)
	require.NoError(t, err)
	require.Equal(t, seg["cats"], hits[0].SegmentID)
	require.InDelta(t, 1.0, hits[0].Score, 1e-6)
	require.Len(t, hits[0].ModelScores, 2)
	for _, h := range hits {
		var sum float64
		for _, s := range h.ModelScores {
			sum += s
		}
		require.InDelta(t, sum/2, h.Score, 1e-9)
	}
	// The Norwegian segment has no wide vector: it counts 0 there.
	// dogs (0.99 in small, 0 in wide) and cars (0, 0.99) tie on the mean.
	require.ElementsMatch(t, []string{seg["dogs"], seg["cars"]}, ids(hits)[1:3])
	require.InDelta(t, hits[1].Score, hits[2].Score, 1e-6)
}

// seedRandom saves n clustered vectors of dims in slot.
func seedRandom(t *testing.T, db *store.DB, v *store.Vectors, slot string, n, dims int) *store.Execution {
	t.Helper()
	registerSlot(t, v, slot, dims)
	exec := newExecution(t, db)
	var recs []store.SegmentRecord
	for i := 0; i < n; i++ {
		vec := make([]float32, dims)
		for d := range vec {
			// Deterministic, clustered: ten centres plus a spread.
			vec[d] = float32(math.Sin(float64((i%10)*dims+d))) + 0.3*float32(math.Cos(float64(i*7+d*13)))
		}
		recs = append(recs, store.SegmentRecord{ExecutionID: exec.ID, DocumentKey: fmt.Sprintf("doc-%d", i/10),
			Index: i % 10, Text: fmt.Sprintf("segment %d", i), Embeddings: map[string][]float32{slot: vec}})
	}
	_, err := v.Save(testCtx(t), recs)
	require.NoError(t, err)
	return exec
}

func TestVectorsIndexesLifecycle(t *testing.T) {
	t.Parallel()
	db, v := vectorDB(t)
	ctx := testCtx(t)
	slot := "mini'lm\\\"; DROP TABLE embeddings; --"
	exec := seedRandom(t, db, v, slot, 6000, 8)
	registerSlot(t, v, "tiny", 4)

	ixs, err := v.Indexes(ctx)
	require.NoError(t, err)
	require.Empty(t, ixs)

	_, err = v.CreateIndex(ctx, store.IndexSpec{Model: "unknown", Type: "hnsw"})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	require.Equal(t, store.CodeEmbeddingModelNotFound, store.Code(err))
	_, err = v.CreateIndex(ctx, store.IndexSpec{Model: slot, Type: "btree"})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	_, err = v.CreateIndex(ctx, store.IndexSpec{Model: slot, Type: "hnsw", Parameters: map[string]int{"lists": 3}})
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	info, err := v.CreateIndex(ctx, store.IndexSpec{Model: slot, Type: "hnsw", Parameters: map[string]int{"m": 8}})
	require.NoError(t, err)
	require.Equal(t, store.IndexName("hnsw", slot), info.Name)
	require.Equal(t, slot, info.Model)
	require.Equal(t, "hnsw", info.Type)
	require.Equal(t, 8, info.Dims)
	require.EqualValues(t, 6000, info.Rows)
	require.Equal(t, map[string]int{"m": 8, "ef_construction": 64}, info.Parameters)
	require.Positive(t, info.SizeBytes)
	require.NotEmpty(t, info.SizePretty)
	require.True(t, info.Valid)
	require.Regexp(t, `^[a-z0-9_]+$`, info.Name)

	_, err = v.CreateIndex(ctx, store.IndexSpec{Model: slot, Type: "ivfflat"})
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, store.CodeVectorIndexExists, store.Code(err))

	// The tables survived the slot name, and the semantic query walks the
	// index.
	// On 300 rows a sequential scan is cheaper, so the plan is asked
	// without one: what matters is that the query's expression and
	// predicate match the index.
	var plan strings.Builder
	_, err = db.Pool().Exec(ctx, "ANALYZE embeddings")
	require.NoError(t, err)
	tx, err := db.Pool().Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
	require.NoError(t, err)
	rows, err := tx.Query(ctx, "EXPLAIN "+store.SemanticSQLForTest(slot, 8), make([]float32, 8), 5)
	require.NoError(t, err)
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	require.NoError(t, rows.Err())
	require.NoError(t, tx.Rollback(ctx))
	require.Contains(t, plan.String(), "Index Scan using "+info.Name, plan.String())

	// HNSW is approximate and its graph depends on random levels, so the
	// indexed answers are held to a recall floor over ten queries rather
	// than to the exact list: with statistics, the indexed query walks the
	// index on its own.
	_, err = db.Pool().Exec(ctx, "ANALYZE embeddings, segments, documents")
	require.NoError(t, err)
	var found, found2, want int
	for i := 0; i < 10; i++ {
		q := make([]float32, 8)
		for d := range q {
			q[d] = float32(math.Sin(float64(i*8+d))) + 0.1
		}
		exact, err := v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: q, Limit: 5, Exact: true})
		require.NoError(t, err)
		approx, err := v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: q, Limit: 5, EfSearch: 200})
		require.NoError(t, err)
		require.Len(t, exact, 5)
		require.Len(t, approx, 5)
		found += overlap(ids(exact), ids(approx))
		want += len(exact)
		// A filter matching more than FilteredExactMax vectors walks the
		// index (iteratively on pgvector 0.8) and still fills the limit.
		f := store.SearchFilter{ExecutionIDs: []string{exec.ID}}
		exact, err = v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: q, Limit: 5, Exact: true, Filter: f})
		require.NoError(t, err)
		approx, err = v.Semantic(ctx, store.VectorQuery{Model: slot, Vector: q, Limit: 5, EfSearch: 200, Filter: f})
		require.NoError(t, err)
		require.Len(t, approx, 5)
		found2 += overlap(ids(exact), ids(approx))
	}
	require.GreaterOrEqual(t, float64(found)/float64(want), 0.9, "recall@5 of the index")
	require.GreaterOrEqual(t, float64(found2)/float64(want), 0.9, "recall@5 of the filtered index walk")
	// Index statistics reach pg_stat_user_indexes a moment later.
	require.Eventually(t, func() bool {
		ixs, err = v.Indexes(ctx)
		return err == nil && len(ixs) == 1 && ixs[0].Scans > 0
	}, 30*time.Second, 200*time.Millisecond, "the searches used the index")

	err = v.DropIndex(ctx, "embeddings_pkey")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, store.CodeVectorIndexNotFound, store.Code(err))
	require.NoError(t, v.DropIndex(ctx, info.Name))
	err = v.DropIndex(ctx, info.Name)
	require.Equal(t, store.CodeVectorIndexNotFound, store.Code(err))
	ixs, err = v.Indexes(ctx)
	require.NoError(t, err)
	require.Empty(t, ixs)
}

func TestVectorsAutoManage(t *testing.T) {
	t.Parallel()
	db, v := vectorDB(t)
	ctx := testCtx(t)
	seedRandom(t, db, v, "grow", 400, 6)
	seedRandom(t, db, v, "few", 20, 3)

	p := store.AutoManagePolicy{DryRun: true, CreateAt: 100, HNSWAt: 1000}
	acts, err := v.AutoManage(ctx, p)
	require.NoError(t, err)
	require.Len(t, acts, 2)
	require.Equal(t, "none", acts[0].Action, acts[0].Reason) // few
	require.Equal(t, "create", acts[1].Action)
	require.False(t, acts[1].Applied)
	ixs, err := v.Indexes(ctx)
	require.NoError(t, err)
	require.Empty(t, ixs, "a dry run changes nothing")

	p.DryRun = false
	acts, err = v.AutoManage(ctx, p)
	require.NoError(t, err)
	require.True(t, acts[1].Applied)
	require.Equal(t, "ivfflat", acts[1].Index.Type)
	require.Equal(t, 1, acts[1].Index.Parameters["lists"])

	// Past HNSWAt: IVFFlat gives way to HNSW.
	p.HNSWAt = 300
	acts, err = v.AutoManage(ctx, store.AutoManagePolicy{DryRun: true, CreateAt: 100, HNSWAt: 300})
	require.NoError(t, err)
	require.Equal(t, "upgrade", acts[1].Action)
	acts, err = v.AutoManage(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "upgrade", acts[1].Action)
	require.True(t, acts[1].Applied)
	ixs, err = v.Indexes(ctx)
	require.NoError(t, err)
	require.Len(t, ixs, 1)
	require.Equal(t, "hnsw", ixs[0].Type)
	require.Equal(t, "grow", ixs[0].Model)
	acts, err = v.AutoManage(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "none", acts[1].Action)

	// An upgrade interrupted before the IVFFlat drop is finished.
	_, err = db.Pool().Exec(ctx, fmt.Sprintf(
		`CREATE INDEX %s ON embeddings USING ivfflat ((embedding::vector(6)) vector_cosine_ops) WITH (lists = 1) WHERE model_name = 'grow'`,
		store.IndexName("ivfflat", "grow")))
	require.NoError(t, err)
	acts, err = v.AutoManage(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "upgrade", acts[1].Action, acts[1].Reason)
	require.True(t, acts[1].Applied)
	ixs, err = v.Indexes(ctx)
	require.NoError(t, err)
	require.Len(t, ixs, 1)
	require.Equal(t, "hnsw", ixs[0].Type)

	// An IVFFlat index whose lists are far off is rebuilt in place.
	require.NoError(t, v.DropIndex(ctx, ixs[0].Name))
	_, err = v.CreateIndex(ctx, store.IndexSpec{Model: "grow", Type: "ivfflat", Parameters: map[string]int{"lists": 40}})
	require.NoError(t, err)
	acts, err = v.AutoManage(ctx, store.AutoManagePolicy{CreateAt: 100, HNSWAt: 100000})
	require.NoError(t, err)
	require.Equal(t, "rebuild", acts[1].Action, acts[1].Reason)
	require.True(t, acts[1].Applied)
	require.Equal(t, 1, acts[1].Index.Parameters["lists"])
	hits, err := v.Semantic(ctx, store.VectorQuery{Model: "grow", Vector: []float32{1, 0, 0, 0, 0, 0}, Limit: 3})
	require.NoError(t, err)
	require.Len(t, hits, 3)
}

func TestVectorsConcurrentSave(t *testing.T) {
	t.Parallel()
	db, v := vectorDB(t)
	ctx := testCtx(t)
	registerSlot(t, v, "c", 4)
	exec := newExecution(t, db)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 5; round++ {
				var recs []store.SegmentRecord
				// Overlapping documents across goroutines.
				for i := 0; i < 20; i++ {
					recs = append(recs, store.SegmentRecord{ExecutionID: exec.ID, DocumentKey: fmt.Sprintf("doc-%d", (g+i)%8),
						Index: i, Text: fmt.Sprintf("g%d r%d i%d", g, round, i),
						Embeddings: map[string][]float32{"c": {float32(g), float32(round), float32(i), 1}}})
				}
				if _, err := v.Save(ctx, recs); err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	m, err := v.Model(ctx, "c")
	require.NoError(t, err)
	pairs := map[string]bool{}
	for g := range errs {
		for i := 0; i < 20; i++ {
			pairs[fmt.Sprintf("%d/%d", (g+i)%8, i)] = true
		}
	}
	require.EqualValues(t, len(pairs), m.Vectors)
}

func TestVectorsWithoutPgvector(t *testing.T) {
	t.Parallel()
	dbURL := storetest.NoVectorDatabaseURL(t)
	ctx := testCtx(t)
	db, err := store.Open(ctx, dbURL, store.Options{})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	ok, err := db.EnsureVectorSchema(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	v := db.Vectors()
	require.False(t, v.Available())

	registerSlot(t, v, "s", 3)
	_, err = v.Semantic(ctx, store.VectorQuery{Model: "s", Vector: []float32{1, 0, 0}})
	require.ErrorIs(t, err, store.ErrVectorUnavailable)
	require.Equal(t, store.CodeVectorUnavailable, store.Code(err))
	var se *store.Error
	require.True(t, errors.As(err, &se))
	require.Contains(t, se.Hint, "pgvector")
	_, err = v.Indexes(ctx)
	require.Equal(t, store.CodeVectorUnavailable, store.Code(err))
	_, err = v.AutoManage(ctx, store.AutoManagePolicy{DryRun: true})
	require.Equal(t, store.CodeVectorUnavailable, store.Code(err))

	exec := newExecution(t, db)
	_, err = v.Save(ctx, []store.SegmentRecord{{ExecutionID: exec.ID, DocumentKey: "d", Text: "x",
		Embeddings: map[string][]float32{"s": {1, 0, 0}}}})
	require.Equal(t, store.CodeVectorUnavailable, store.Code(err))
	got, err := v.Save(ctx, []store.SegmentRecord{{ExecutionID: exec.ID, DocumentKey: "d", Text: "Herons wade in shallow water"}})
	require.NoError(t, err)
	hits, err := v.FullText(ctx, store.TextQuery{Query: "heron wading"})
	require.NoError(t, err)
	require.Equal(t, got, ids(hits))
	src, err := v.Sources(ctx, "", 0)
	require.NoError(t, err)
	require.Len(t, src, 1)
	require.Empty(t, src[0].Models)
	models, err := v.Models(ctx)
	require.NoError(t, err)
	require.Len(t, models, 1)
}

func TestVectorsSearchSettingsStayLocal(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	// One connection: the search and the check share the session.
	db, err := store.Open(ctx, storetest.URL(t), store.Options{MaxConns: 1})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	ok, err := db.EnsureVectorSchema(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	v := db.Vectors()
	seedRandom(t, db, v, "local", 50, 4)
	_, err = v.CreateIndex(ctx, store.IndexSpec{Model: "local", Type: "hnsw"})
	require.NoError(t, err)
	hits, err := v.Semantic(ctx, store.VectorQuery{Model: "local", Vector: []float32{1, 2, 3, 4}, Limit: 3, EfSearch: 7})
	require.NoError(t, err)
	require.Len(t, hits, 3)
	var ef string
	require.NoError(t, db.Pool().QueryRow(ctx, "SHOW hnsw.ef_search").Scan(&ef))
	require.Equal(t, "40", ef, "pgvector's default: the search's SET LOCAL ended with its transaction")
	// ef_search past pgvector's maximum is capped, not an error.
	_, err = v.Semantic(ctx, store.VectorQuery{Model: "local", Vector: []float32{1, 2, 3, 4}, EfSearch: 5000, Limit: 3})
	require.NoError(t, err)
}

// overlap counts the ids of got that are also in want.
func overlap(want, got []string) int {
	in := make(map[string]bool, len(want))
	for _, id := range want {
		in[id] = true
	}
	n := 0
	for _, id := range got {
		if in[id] {
			n++
		}
	}
	return n
}
