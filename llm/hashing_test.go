package llm

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func TestHashingDeterministicAndNormalised(t *testing.T) {
	e := Hashing(0)
	assert.Equal(t, DefaultHashingDims, e.Dims())
	assert.Equal(t, "hashing", e.Profile())
	texts := []string{"The quick brown fox jumps over the lazy dog.", "Ünïcode wörds, ÆØÅ and 日本語 text 42", "", "!!! ..."}
	a, err := e.Embed(context.Background(), texts)
	require.NoError(t, err)
	b, err := Hashing(DefaultHashingDims).Embed(context.Background(), texts)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same text, same vector, across instances")
	for i, v := range a[:2] {
		require.Len(t, v, DefaultHashingDims)
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		assert.InDelta(t, 1, n, 1e-5, "text %d is unit length", i)
	}
	for _, v := range a[2:] {
		for _, x := range v {
			require.Zero(t, x, "no words: zero vector")
		}
	}

	upper, _ := e.Embed(context.Background(), []string{"THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"})
	assert.InDelta(t, 1, cosine(a[0], upper[0]), 1e-6, "case does not matter")

	small, _ := Hashing(32).Embed(context.Background(), texts[:1])
	assert.Len(t, small[0], 32)
}

func TestHashingRelatedTextsAreCloser(t *testing.T) {
	e := Hashing(DefaultHashingDims)
	docs := []string{
		"PostgreSQL stores the pipeline lineage and dead letters in tables.",
		"Lineage records and dead letters of every pipeline are kept in PostgreSQL.",
		"The cat slept on a warm windowsill all afternoon.",
	}
	v, err := e.Embed(context.Background(), docs)
	require.NoError(t, err)
	related, unrelated := cosine(v[0], v[1]), cosine(v[0], v[2])
	assert.Greater(t, related, unrelated)
	assert.Greater(t, related, 0.3)

	q, _ := e.Embed(context.Background(), []string{"where are dead letters stored"})
	assert.Greater(t, cosine(q[0], v[0]), cosine(q[0], v[2]))
}

func TestHashingRespectsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Hashing(8).Embed(ctx, []string{"a"})
	assert.Equal(t, CodeCanceled, Code(err))
	assert.ErrorIs(t, err, context.Canceled)
}

func BenchmarkHashing(b *testing.B) {
	e := Hashing(DefaultHashingDims)
	text := strings.Repeat("Factflow runs YAML pipelines of adapters over a message broker, with lineage in PostgreSQL. ", 12)
	batch := make([]string, 32)
	for i := range batch {
		batch[i] = text
	}
	ctx := context.Background()
	b.SetBytes(int64(len(text) * len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Embed(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
