package markdown

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/tokenize"
)

var reFenceLine = regexp.MustCompile("^ {0,3}(```|~~~)")

// requireValidSegments checks what every segmentation must guarantee.
func requireValidSegments(t *testing.T, segs []Segment, max int) {
	t.Helper()
	for i, s := range segs {
		require.Equal(t, i, s.Index)
		require.NotEmpty(t, strings.TrimSpace(s.Text), "segment %d is empty", i)
		require.Equal(t, tokenize.Count(s.Text), s.Tokens, "segment %d: tokens must be the exact count", i)
		require.LessOrEqual(t, s.Tokens, max, "segment %d exceeds max_tokens:\n%s", i, s.Text)
		require.NotNil(t, s.HeadingPath)
		if n := len(s.HeadingPath); n > 0 {
			require.Equal(t, s.HeadingPath[n-1], s.Heading)
		} else {
			require.Empty(t, s.Heading)
		}
		// Fences come in pairs: no segment leaves a code block open.
		fences := 0
		lines := strings.Split(s.Text, "\n")
		for _, l := range lines {
			if reFenceLine.MatchString(strings.TrimLeft(l, " ")) {
				fences++
			}
		}
		require.Zero(t, fences%2, "segment %d has an unbalanced code fence:\n%s", i, s.Text)
		// A heading is never left dangling at the end of a segment that
		// has content.
		var content bool
		for _, l := range lines {
			if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
				content = true
			}
		}
		if content {
			last := lines[len(lines)-1]
			require.False(t, strings.HasPrefix(last, "#"), "segment %d ends with heading %q", i, last)
		}
	}
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

func TestSegmentGuideRespectsLimits(t *testing.T) {
	md := readFixture(t, "guide.md")
	for _, max := range []int{48, 200, 1024} {
		for _, overlap := range []int{0, 16} {
			t.Run(fmt.Sprintf("max%d_overlap%d", max, overlap), func(t *testing.T) {
				segs := segmentMarkdown(md, segmentOptions{maxTokens: max, minTokens: max / 8, overlapTokens: overlap})
				require.NotEmpty(t, segs)
				requireValidSegments(t, segs, max)

				codeLines, rows := 0, 0
				for _, s := range segs {
					if strings.Contains(s.Text, "func step") {
						// Each piece of the big code block is fenced again.
						require.Contains(t, s.Text, "```go\n")
					}
					if strings.Contains(s.Text, "| `setting_") {
						// Each piece of the big table repeats its header.
						require.Contains(t, s.Text, "| Setting | Default | Meaning |\n|---------|---------|---------|")
					}
					codeLines += strings.Count(s.Text, "\nfunc step")
					rows += strings.Count(s.Text, "| `setting_")
				}
				if overlap == 0 {
					// Nothing is lost or repeated: each line of code and
					// each table row is in exactly one segment.
					require.Equal(t, 120, codeLines)
					require.Equal(t, 70, rows)
				}
			})
		}
	}
}

func TestSegmentKeepsSmallBlocksWhole(t *testing.T) {
	md := readFixture(t, "guide.md")
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 256, minTokens: 32})
	requireValidSegments(t, segs, 256)
	// The list holding a fenced block with a blank line is small: it stays
	// in one segment, fence and all.
	found := false
	for _, s := range segs {
		if strings.Contains(s.Text, "tar xzf factflow.tar.gz") {
			require.Contains(t, s.Text, "   ```sh\n   tar xzf factflow.tar.gz\n\n   cd factflow\n   ```")
			require.Contains(t, s.Text, "3. Run the binary once")
			found = true
		}
	}
	require.True(t, found)
}

func TestSegmentHeadingPaths(t *testing.T) {
	md := readFixture(t, "guide.md")
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 512, minTokens: 0})
	requireValidSegments(t, segs, 512)
	pathOf := func(needle string) []string {
		for _, s := range segs {
			if strings.Contains(s.Text, needle) {
				return s.HeadingPath
			}
		}
		t.Fatalf("no segment holds %q", needle)
		return nil
	}
	require.Equal(t, []string{"Operations Guide", "Installing", "From packages", "Verifying the download", "Checksums on Windows"},
		pathOf("certutil -hashfile"))
	require.Equal(t, []string{"Operations Guide", "Installing", "From packages"}, pathOf("Download the archive"))
	require.Equal(t, []string{"Operations Guide", "Configuring", "Settings reference"}, pathOf("setting_69"))
	// A setext heading under an ATX h2 sits one level below... a setext
	// h2 is level 2, so it replaces "Troubleshooting".
	require.Equal(t, []string{"Operations Guide", "Common problems"}, pathOf("\n- "))
	require.Equal(t, []string{"Operations Guide", "Appendix"}, pathOf("unterminated fence"))
	// With min_tokens 0 every heading starts a segment, and each segment
	// opens with its heading.
	for i, s := range segs {
		if i > 0 && s.Heading != segs[i-1].Heading {
			require.True(t, strings.HasPrefix(s.Text, "#"), "segment %d should open with its heading:\n%s", s.Index, s.Text)
		}
	}
}

func TestSegmentCodeBlockMovesWholeToNextSegment(t *testing.T) {
	para := strings.Repeat("Stages pass messages along the chain. ", 10) // ~70 tokens
	code := "```python\n" + strings.Repeat("print('a line of code that matters')\n", 10) + "```"
	require.Less(t, tokenize.Count(code), 128)
	require.Greater(t, tokenize.Count(para+"\n\n"+code), 128)
	segs := segmentMarkdown("# Title\n\n"+para+"\n\n"+code+"\n", segmentOptions{maxTokens: 128, minTokens: 0})
	requireValidSegments(t, segs, 128)
	require.Len(t, segs, 2)
	require.Equal(t, code, segs[1].Text)
	require.Equal(t, []string{"Title"}, segs[1].HeadingPath)
}

func TestSegmentLongParagraphCutsBetweenSentences(t *testing.T) {
	var sentences []string
	for i := range 60 {
		sentences = append(sentences, fmt.Sprintf("Sentence number %d explains one more detail of the retry policy.", i))
	}
	md := strings.Join(sentences, " ")
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 64, minTokens: 8})
	requireValidSegments(t, segs, 64)
	require.Greater(t, len(segs), 5)
	total := 0
	for _, s := range segs {
		require.True(t, strings.HasSuffix(s.Text, "policy."), "segment %d does not end at a sentence end: %q", s.Index, s.Text)
		total += strings.Count(s.Text, "Sentence number")
	}
	require.Equal(t, 60, total)
}

func TestSegmentOverlapRepeatsTail(t *testing.T) {
	var sentences []string
	for i := range 40 {
		sentences = append(sentences, fmt.Sprintf("Fact %d: the broker keeps message %d until it is acknowledged.", i, i))
	}
	md := "## Delivery\n\n" + strings.Join(sentences, " ")
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 96, minTokens: 8, overlapTokens: 16})
	requireValidSegments(t, segs, 96)
	require.Greater(t, len(segs), 2)
	for i := 1; i < len(segs); i++ {
		head, _, ok := strings.Cut(segs[i].Text, "\n\n")
		require.True(t, ok, "segment %d should start with an overlap", i)
		require.True(t, strings.HasSuffix(segs[i-1].Text, head), "segment %d should start with the end of segment %d: %q", i, i-1, head)
		require.LessOrEqual(t, tokenize.Count(head), 16)
		require.Equal(t, []string{"Delivery"}, segs[i].HeadingPath)
	}
	// Without overlap nothing is repeated.
	plain := segmentMarkdown(md, segmentOptions{maxTokens: 96, minTokens: 8})
	n := 0
	for _, s := range plain {
		n += strings.Count(s.Text, "Fact ")
	}
	require.Equal(t, 40, n)
}

func TestSegmentNoOverlapAcrossHeadingsOrCode(t *testing.T) {
	md := "# A\n\n" + strings.Repeat("Alpha beta gamma delta. ", 30) + "\n\n# B\n\n" + strings.Repeat("Epsilon zeta eta theta. ", 30)
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 256, minTokens: 8, overlapTokens: 32})
	requireValidSegments(t, segs, 256)
	require.Len(t, segs, 2)
	require.True(t, strings.HasPrefix(segs[1].Text, "# B\n\n"))
}

func TestSegmentMinTokensMergesTinySections(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Glossary\n\n")
	terms := []string{"Route", "Stage", "Adapter", "Queue", "Lineage", "Replay"}
	for _, term := range terms {
		fmt.Fprintf(&b, "## %s\n\nA %s is one part of a pipeline.\n\n", term, strings.ToLower(term))
	}
	md := b.String()
	tiny := segmentMarkdown(md, segmentOptions{maxTokens: 512, minTokens: 0})
	requireValidSegments(t, tiny, 512)
	require.Len(t, tiny, len(terms))

	merged := segmentMarkdown(md, segmentOptions{maxTokens: 512, minTokens: 40})
	requireValidSegments(t, merged, 512)
	require.Less(t, len(merged), len(terms))
	all := ""
	for _, s := range merged {
		all += s.Text + "\n\n"
	}
	for _, term := range terms {
		require.Equal(t, 1, strings.Count(all, "## "+term+"\n"), "section %s must appear once", term)
	}
	// The first merged segment is placed under its first content's path.
	require.Equal(t, []string{"Glossary", "Route"}, merged[0].HeadingPath)
}

func TestSegmentTinyLastSegmentMergesBack(t *testing.T) {
	body := strings.Repeat("The engine acknowledges a message after publishing its results. ", 6)
	md := "# Guide\n\n" + body + "\n\n## End\n\nDone."
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 256, minTokens: 120})
	requireValidSegments(t, segs, 256)
	require.Len(t, segs, 1)
	require.True(t, strings.HasSuffix(segs[0].Text, "## End\n\nDone."))
}

func TestSegmentUnbreakableText(t *testing.T) {
	blob := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVm", 120)
	cjk := strings.Repeat("日本語の文章は空白なしで続きます", 60)
	for name, md := range map[string]string{"base64": blob, "cjk": cjk} {
		t.Run(name, func(t *testing.T) {
			segs := segmentMarkdown(md, segmentOptions{maxTokens: 100, minTokens: 10})
			requireValidSegments(t, segs, 100)
			var joined strings.Builder
			for _, s := range segs {
				joined.WriteString(s.Text)
			}
			require.Equal(t, md, joined.String())
		})
	}
}

func TestSegmentHugeTableRowAndHeading(t *testing.T) {
	row := "| " + strings.Repeat("wide cell content ", 80) + " | x |"
	md := "# " + strings.Repeat("Very long heading ", 40) + "\n\n| a | b |\n|---|---|\n" + row + "\n| small | row |\n"
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 64, minTokens: 0})
	requireValidSegments(t, segs, 64)
	all := ""
	for _, s := range segs {
		all += s.Text
	}
	require.Contains(t, all, "| small | row |")
}

func TestSegmentEmptyInput(t *testing.T) {
	for _, md := range []string{"", "   \n\n\t\n", "***\n---\n"} {
		require.Empty(t, segmentMarkdown(md, segmentOptions{maxTokens: 64}))
	}
}

func FuzzSegment(f *testing.F) {
	f.Add("# T\n\ntext", 32, 4, 0)
	f.Add("```\ncode\n\ncode\n```\n| a |\n|---|\n| 1 |", 16, 0, 4)
	f.Add("- a\n  - b\n\n    ```\n    x\n    ```\n> q\nlazy\n", 20, 2, 3)
	f.Add(strings.Repeat("Word. ", 200), 24, 4, 8)
	f.Fuzz(func(t *testing.T, md string, max, min, overlap int) {
		if max < 16 || max > 256 || min < 0 || min >= max || overlap < 0 || overlap > max/2 || len(md) > 4000 {
			t.Skip()
		}
		segs := segmentMarkdown(md, segmentOptions{maxTokens: max, minTokens: min, overlapTokens: overlap})
		for i, s := range segs {
			if s.Tokens > max || s.Tokens != tokenize.Count(s.Text) || s.Index != i {
				t.Fatalf("segment %d breaks the limits: %d tokens (max %d): %q", i, s.Tokens, max, s.Text)
			}
		}
	})
}
