package llm

import (
	"context"
	"math"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"
)

const hashingModel = "feature-hashing-v1"

// bigramWeight scales word-pair features against single words: pairs add
// some word-order sensitivity without drowning the vocabulary overlap.
const bigramWeight = 0.5

// hashing is the offline embedder. It is lexical, not semantic: a vector
// is a signed feature hash of the text's lower-cased words (runs of
// Unicode letters and digits) and adjacent word pairs, with sublinear term
// frequency (1 + ln tf), L2-normalised. Texts sharing words score a high
// cosine; synonyms and paraphrases do not. A text with no words (empty,
// only punctuation) gives the zero vector, whose cosine with anything is
// undefined — callers searching with it get no meaningful ranking.
//
// The scheme is frozen: changing tokenisation or hashing would silently
// invalidate every stored vector, so a new scheme needs a new model name.
type hashing struct {
	dims    int
	profile string
	model   string
}

// Hashing returns the offline embedder of profile "hashing" with dims
// dimensions (DefaultHashingDims when dims <= 0).
func Hashing(dims int) Embedder {
	if dims <= 0 {
		dims = DefaultHashingDims
	}
	return &hashing{dims: dims, profile: DefaultEmbeddingProfile, model: hashingModel}
}

func (h *hashing) Profile() string { return h.profile }
func (h *hashing) Model() string   { return h.model }
func (h *hashing) Dims() int       { return h.dims }

// Embed is pure CPU work; ctx is checked between texts so a large batch
// can be abandoned.
func (h *hashing) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	buf := featurePool.Get().(*featureBuf)
	defer featurePool.Put(buf)
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, &Error{Code: CodeCanceled, Class: Terminal, Profile: h.profile, Msg: "embedding cancelled", Cause: err}
			}
		}
		out[i] = h.embed(t, buf)
	}
	return out, nil
}

type featureBuf struct{ words, pairs []uint64 }

var featurePool = sync.Pool{New: func() any { return &featureBuf{} }}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix is the splitmix64 finaliser: FNV's low bits are weak for short
// inputs and the bucket is taken from the low bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (h *hashing) embed(text string, buf *featureBuf) []float32 {
	words, pairs := buf.words[:0], buf.pairs[:0]
	var (
		cur    uint64 = fnvOffset
		inWord bool
		prev   uint64
		have   bool
		enc    [utf8.UTFMax]byte
	)
	endWord := func() {
		w := mix(cur)
		words = append(words, w)
		if have {
			pairs = append(pairs, mix(prev*fnvPrime^w^0x9e3779b97f4a7c15))
		}
		prev, have = w, true
		cur, inWord = fnvOffset, false
	}
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			r = unicode.ToLower(r)
			n := utf8.EncodeRune(enc[:], r)
			for _, b := range enc[:n] {
				cur ^= uint64(b)
				cur *= fnvPrime
			}
			inWord = true
		} else if inWord {
			endWord()
		}
	}
	if inWord {
		endWord()
	}
	vec := make([]float32, h.dims)
	h.accumulate(vec, words, 1)
	h.accumulate(vec, pairs, bigramWeight)
	buf.words, buf.pairs = words, pairs

	var norm float64
	for _, v := range vec {
		norm += float64(v) * float64(v)
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range vec {
			vec[i] *= inv
		}
	}
	return vec
}

// accumulate adds each distinct feature once with weight·(1+ln tf); the
// sign comes from the top bit so colliding features tend to cancel rather
// than pile up.
func (h *hashing) accumulate(vec []float32, feats []uint64, weight float64) {
	slices.Sort(feats)
	dims := uint64(h.dims)
	for i := 0; i < len(feats); {
		j := i + 1
		for j < len(feats) && feats[j] == feats[i] {
			j++
		}
		f := feats[i]
		v := float32(weight * (1 + math.Log(float64(j-i))))
		if f>>63 == 1 {
			v = -v
		}
		vec[f%dims] += v
		i = j
	}
}
