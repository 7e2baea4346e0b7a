// Package searchtest seeds a small corpus for tests of search and chat:
// four single-segment documents on distinct subjects, embedded by the
// offline hashing profile in two slots of different dimensions, in two
// executions.
package searchtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func testContext(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// Slots of the corpus: the same texts embedded by two offline profiles of
// different sizes.
const (
	Slot384 = "hash384"
	Slot256 = "hash256"
)

// Doc is one single-segment document of the corpus.
type Doc struct{ Key, Title, Heading, Text string }

var Corpus = []Doc{
	{"aurora", "Aurora borealis", "Cause", "The aurora borealis appears when charged solar particles strike oxygen and nitrogen high in the atmosphere, painting green curtains across polar skies."},
	{"sourdough", "Sourdough", "Fermentation", "Sourdough bread rises because a starter culture of wild yeast and lactobacilli ferments the flour, producing carbon dioxide and lactic acid."},
	{"glacier", "Glaciers", "Erosion", "Glaciers carve U-shaped valleys as compacted ice grinds bedrock while flowing slowly downhill under its own weight."},
	{"volcano", "Volcanoes", "Eruptions", "Volcanic eruptions eject molten magma, ash and sulfur dioxide gas from vents in the crust."},
}

// Fixture is a migrated database with the corpus indexed in two slots;
// the volcano document belongs to a second execution.
type Fixture struct {
	DB       *store.DB
	V        *store.Vectors
	Reg      *llm.Registry
	ExecA    string
	ExecB    string
	Segments map[string]string // doc key -> segment id
}

// New stores the corpus in a fresh database, embedded in slots (both
// by default).
func New(t testing.TB, slots ...string) *Fixture {
	t.Helper()
	if len(slots) == 0 {
		slots = []string{Slot384, Slot256}
	}
	ctx := testContext(t)
	db := storetest.NewDB(t)
	ok, err := db.EnsureVectorSchema(ctx)
	require.NoError(t, err)
	require.True(t, ok, "pgvector is needed for these tests")
	reg, err := llm.NewRegistry([]llm.Profile{{Name: "hash256", ProviderType: llm.ProviderHashing, Dims: 256}}, llm.Options{})
	require.NoError(t, err)
	f := &Fixture{DB: db, V: db.Vectors(), Reg: reg, Segments: map[string]string{}}
	for _, e := range []*string{&f.ExecA, &f.ExecB} {
		ex := &store.Execution{}
		require.NoError(t, db.Executions().Create(ctx, ex))
		*e = ex.ID
	}
	profiles := map[string]string{Slot384: "hashing", Slot256: "hash256"}
	embedders := map[string]llm.Embedder{}
	for _, s := range slots {
		emb, err := reg.Embedder(profiles[s])
		require.NoError(t, err)
		embedders[s] = emb
		require.NoError(t, f.V.RegisterModel(ctx, store.EmbeddingModel{Name: s, Profile: profiles[s], ProviderModel: emb.Model(), Dims: emb.Dims()}))
	}
	recs := make([]store.SegmentRecord, len(Corpus))
	for i, d := range Corpus {
		exec := f.ExecA
		if d.Key == "volcano" {
			exec = f.ExecB
		}
		rec := store.SegmentRecord{
			ExecutionID: exec, DocumentKey: "https://example.org/" + d.Key, URL: "https://example.org/" + d.Key,
			Title: d.Title, StorageKey: "raw/" + d.Key + ".html", MarkdownKey: "md/" + d.Key + ".md",
			Text: d.Text, Heading: d.Heading, Metadata: map[string]any{"topic": d.Key},
			Embeddings: map[string][]float32{},
		}
		for s, emb := range embedders {
			vecs, err := emb.Embed(ctx, []string{d.Text})
			require.NoError(t, err)
			rec.Embeddings[s] = vecs[0]
		}
		recs[i] = rec
	}
	ids, err := f.V.Save(ctx, recs)
	require.NoError(t, err)
	for i, d := range Corpus {
		f.Segments[d.Key] = ids[i]
	}
	return f
}
