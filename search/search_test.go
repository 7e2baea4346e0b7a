package search_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/search/searchtest"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

const question = "Why does sourdough bread rise?"

func TestSearchModesRankTheLexicalMatchFirst(t *testing.T) {
	f := searchtest.New(t)
	svc := service(f, search.Options{DefaultModel: searchtest.Slot384})
	ctx := testCtx(t)
	want := f.Segments["sourdough"]

	for _, tc := range []struct {
		mode string
		run  func() (*search.Response, error)
	}{
		{search.ModeSemantic, func() (*search.Response, error) { return svc.Semantic(ctx, search.Request{Query: question}) }},
		{search.ModeSemantic, func() (*search.Response, error) {
			return svc.Semantic(ctx, search.Request{Query: question, Model: searchtest.Slot256})
		}},
		{search.ModeHybrid, func() (*search.Response, error) { return svc.Hybrid(ctx, search.Request{Query: question}) }},
		{search.ModeRRF, func() (*search.Response, error) { return svc.RRF(ctx, search.Request{Query: question}) }},
		{search.ModeRRF, func() (*search.Response, error) {
			return svc.RRF(ctx, search.Request{Query: question, Models: []string{searchtest.Slot384, searchtest.Slot256}})
		}},
		{search.ModeMultiModel, func() (*search.Response, error) {
			return svc.MultiModel(ctx, search.Request{Query: question, Models: []string{searchtest.Slot384, searchtest.Slot256}})
		}},
	} {
		resp, err := tc.run()
		require.NoError(t, err, tc.mode)
		require.Equal(t, tc.mode, resp.Mode)
		require.Equal(t, question, resp.Query)
		require.NotEmpty(t, resp.Hits, tc.mode)
		require.Equal(t, want, resp.Hits[0].SegmentID, "%s %v: %+v", tc.mode, resp.Models, resp.Hits[0])
		require.Equal(t, "raw/sourdough.html", resp.Hits[0].StorageKey)
		require.Equal(t, len(resp.Hits), resp.Total)
		if tc.mode == search.ModeMultiModel {
			require.Len(t, resp.Hits[0].ModelScores, 2)
		}
	}

	// Limit and filters reach the store.
	resp, err := svc.Semantic(ctx, search.Request{Query: question, Limit: 2})
	require.NoError(t, err)
	require.Len(t, resp.Hits, 2)
	resp, err = svc.Semantic(ctx, search.Request{Query: question, Filter: store.SearchFilter{ExecutionIDs: []string{f.ExecB}}})
	require.NoError(t, err)
	require.Len(t, resp.Hits, 1)
	require.Equal(t, f.Segments["volcano"], resp.Hits[0].SegmentID)
	resp, err = svc.Hybrid(ctx, search.Request{Query: "molten magma", Language: "simple"})
	require.NoError(t, err)
	require.Equal(t, f.Segments["volcano"], resp.Hits[0].SegmentID)
}

func requireCode(t *testing.T, err error, code string, kind error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.Code(err), "error: %v", err)
	require.True(t, errors.Is(err, kind), "error %v is not %v", err, kind)
}

func TestSearchModelResolution(t *testing.T) {
	f := searchtest.New(t)
	ctx := testCtx(t)

	// Two slots and no default: the caller must choose.
	svc := service(f, search.Options{})
	_, err := svc.Semantic(ctx, search.Request{Query: question})
	requireCode(t, err, search.CodeModelRequired, store.ErrInvalidArgument)
	require.Contains(t, err.Error(), searchtest.Slot384)
	require.Contains(t, err.Error(), searchtest.Slot256)
	resp, err := svc.Semantic(ctx, search.Request{Query: question, Model: searchtest.Slot256})
	require.NoError(t, err)
	require.Equal(t, searchtest.Slot256, resp.Model)

	_, err = svc.Semantic(ctx, search.Request{Query: question, Model: "nope"})
	requireCode(t, err, search.CodeModelNotFound, store.ErrNotFound)
	require.Contains(t, err.Error(), searchtest.Slot384)
	_, err = service(f, search.Options{DefaultModel: "gone"}).Hybrid(ctx, search.Request{Query: question})
	requireCode(t, err, search.CodeModelNotFound, store.ErrNotFound)
	_, err = svc.MultiModel(ctx, search.Request{Query: question})
	requireCode(t, err, search.CodeModelRequired, store.ErrInvalidArgument)
	_, err = svc.MultiModel(ctx, search.Request{Query: question, Models: []string{searchtest.Slot384, "nope"}})
	requireCode(t, err, search.CodeModelNotFound, store.ErrNotFound)

	_, err = svc.Semantic(ctx, search.Request{Query: "  ", Model: searchtest.Slot384})
	requireCode(t, err, search.CodeQueryEmpty, store.ErrInvalidArgument)
	_, err = svc.Semantic(ctx, search.Request{Query: question, Model: searchtest.Slot384, Limit: search.MaxLimit + 1})
	requireCode(t, err, search.CodeInvalidRequest, store.ErrInvalidArgument)
	_, err = svc.Hybrid(ctx, search.Request{Query: question, Model: searchtest.Slot384, Language: "klingon"})
	requireCode(t, err, search.CodeLanguageUnknown, store.ErrInvalidArgument)
	_, err = svc.Hybrid(ctx, search.Request{Query: question, Model: searchtest.Slot384, VectorWeight: 1.5})
	requireCode(t, err, search.CodeInvalidRequest, store.ErrInvalidArgument)

	// The slot's profile, not the default one, embeds the query: a
	// 256-dimensional slot searched with the 384-dimensional default
	// profile would fail in the store.
	require.Equal(t, searchtest.Slot256, resp.Hits[0].Model)

	// One slot only: it is the default.
	one := searchtest.New(t, searchtest.Slot256)
	resp, err = service(one, search.Options{}).Semantic(ctx, search.Request{Query: question})
	require.NoError(t, err)
	require.Equal(t, searchtest.Slot256, resp.Model)
	require.Equal(t, one.Segments["sourdough"], resp.Hits[0].SegmentID)
}

func TestSearchCapabilitiesAndSources(t *testing.T) {
	f := searchtest.New(t)
	ctx := testCtx(t)
	svc := service(f, search.Options{DefaultModel: searchtest.Slot384})

	c, err := svc.Capabilities(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{search.ModeSemantic, search.ModeHybrid, search.ModeRRF, search.ModeMultiModel}, c.Modes)
	require.True(t, c.PgvectorAvailable)
	require.Equal(t, searchtest.Slot384, c.DefaultModel)
	require.Contains(t, c.Languages, "english")
	require.Contains(t, c.Languages, "simple")
	require.Equal(t, "english", c.DefaultLanguage)
	require.Len(t, c.Models, 2)
	for _, m := range c.Models {
		require.EqualValues(t, len(searchtest.Corpus), m.Vectors, m.Name)
		require.True(t, m.ProfileAvailable, m.Name)
		require.NotNil(t, m.Indexes)
		switch m.Name {
		case searchtest.Slot384:
			require.Equal(t, 384, m.Dims)
			require.Equal(t, "hashing", m.Profile)
		case searchtest.Slot256:
			require.Equal(t, 256, m.Dims)
		default:
			t.Fatalf("unexpected slot %q", m.Name)
		}
	}

	srcs, err := svc.Sources(ctx, "", 0)
	require.NoError(t, err)
	require.Len(t, srcs, 2)
	srcs, err = svc.Sources(ctx, searchtest.Slot256, 2)
	require.NoError(t, err)
	require.Len(t, srcs, 1)
	require.Equal(t, f.ExecA, srcs[0].ExecutionID)
	_, err = svc.Sources(ctx, "nope", 0)
	requireCode(t, err, search.CodeModelNotFound, store.ErrNotFound)
}

func TestSearchWithoutPgvector(t *testing.T) {
	ctx := testCtx(t)
	db, err := store.Open(ctx, storetest.NoVectorDatabaseURL(t), store.Options{})
	require.NoError(t, err)
	t.Cleanup(db.Close)
	ok, err := db.EnsureVectorSchema(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	reg, err := llm.NewRegistry(nil, llm.Options{})
	require.NoError(t, err)
	v := db.Vectors()
	require.NoError(t, v.RegisterModel(ctx, store.EmbeddingModel{Name: searchtest.Slot384, Profile: "hashing", Dims: 384}))
	svc := search.New(v, reg, search.Options{})

	c, err := svc.Capabilities(ctx)
	require.NoError(t, err)
	require.False(t, c.PgvectorAvailable)
	require.Len(t, c.Models, 1)
	require.Contains(t, c.Languages, "english")

	for _, run := range []func(context.Context, search.Request) (*search.Response, error){svc.Semantic, svc.Hybrid, svc.RRF} {
		_, err = run(ctx, search.Request{Query: question})
		require.Equal(t, store.CodeVectorUnavailable, store.Code(err), "%v", err)
	}
	// The missing extension is the first thing to fix, so it is what an
	// unknown slot hears too.
	_, err = svc.Semantic(ctx, search.Request{Query: question, Model: "nope"})
	require.Equal(t, store.CodeVectorUnavailable, store.Code(err), "%v", err)
}
