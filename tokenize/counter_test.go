package tokenize

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCounterMatchesCount checks the property Counter rests on: cutting a
// text at any stable line start splits its token count exactly. Texts mix
// what documents hold: prose, punctuation before newlines, indented code,
// blank runs, tables, CRLF, non-Latin scripts and numbers.
func TestCounterMatchesCount(t *testing.T) {
	pieces := []string{
		"The engine acks after publishing.", "Hello, world!", "```go", "```", "\tindented()", "    four spaces",
		"| a | b |", "|---|---|", "- item", "1. step", "> quote", "# Heading", "Grüße aus Köln.", "日本語の文章。",
		"12345678", "x = 1 + 2;", "'s and 'll", "", "  ", "\r", "...", "—dash", "🎉 emoji", "\u00a0nbsp", "\u3000ideographic",
		"café's", "a\tb", "?!", "<|endoftext|>",
	}
	seps := []string{"\n", "\n\n", "\n\n\n", " ", "\r\n", "\n \n", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 150 {
		var b strings.Builder
		for range 2 + rng.IntN(20) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		text := b.String()
		want := Count(text)
		for k := 1; k < len(text); k++ {
			if lastStableStart(text[:k+1]) == k {
				require.Equal(t, want, Count(text[:k])+Count(text[k:]), "cut at %d of %q", k, text)
			}
		}
	}
}

func TestCounterIncremental(t *testing.T) {
	var doc strings.Builder
	for i := range 80 {
		switch i % 5 {
		case 0:
			doc.WriteString("## Section\n\n")
		case 1:
			doc.WriteString(strings.Repeat("Messages are acknowledged after their results are published. ", 3) + "\n\n")
		case 2:
			doc.WriteString("```go\nfunc f() {\n\treturn\n}\n```\n\n")
		case 3:
			doc.WriteString("| a | b |\n|---|---|\n| 1 | 2 |\n\n")
		case 4:
			doc.WriteString("- Grüße\n  - 日本語。\n\n")
		}
	}
	parts := strings.SplitAfter(doc.String(), "\n")
	var c Counter
	text := ""
	for i, p := range parts {
		if i%17 == 0 {
			require.Equal(t, Count(text+p), c.With(p))
		}
		c.Append(p)
		text += p
		if i%29 == 0 {
			require.Equal(t, Count(text), c.Total())
		}
	}
	require.Equal(t, Count(text), c.Total())
	c.Reset()
	require.Zero(t, c.Total())
	require.Equal(t, Count("a b"), c.With("a b"))
}
