package markdown

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseBlocks(t *testing.T) {
	type want struct {
		kind  blockKind
		text  string
		level int
	}
	tests := []struct {
		name string
		md   string
		want []want
	}{
		{"atx headings and paragraph", "# One\n\ntext line\nmore text\n\n### Three ###\n",
			[]want{{kindHeading, "# One", 1}, {kindParagraph, "text line\nmore text", 0}, {kindHeading, "### Three ###", 3}}},
		{"setext headings", "Title\n=====\n\nSub\n---\nbody",
			[]want{{kindHeading, "# Title", 1}, {kindHeading, "## Sub", 2}, {kindParagraph, "body", 0}}},
		{"fence with blank lines and hashes", "```sh\n# not a heading\n\necho hi\n```\nafter",
			[]want{{kindCode, "```sh\n# not a heading\n\necho hi\n```", 0}, {kindParagraph, "after", 0}}},
		{"tilde fence closes only on tildes", "~~~\n```\ncode\n~~~",
			[]want{{kindCode, "~~~\n```\ncode\n~~~", 0}}},
		{"unterminated fence is closed", "```\nline",
			[]want{{kindCode, "```\nline\n```", 0}}},
		{"table", "| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\n\npara",
			[]want{{kindTable, "| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |", 0}, {kindParagraph, "para", 0}}},
		{"list with nested fence and lazy line", "- a\n  lazy\n- b\n\n  ```\n  x\n\n  y\n  ```\n- c\n\nafter",
			[]want{{kindList, "- a\n  lazy\n- b\n\n  ```\n  x\n\n  y\n  ```\n- c", 0}, {kindParagraph, "after", 0}}},
		{"ordered list", "1. one\n2) two\n", []want{{kindList, "1. one\n2) two", 0}}},
		{"quote", "> a\n> b\nlazy\n\n# H", []want{{kindQuote, "> a\n> b\nlazy", 0}, {kindHeading, "# H", 1}}},
		{"thematic breaks dropped", "a\n\n***\n\n- - -\n\nb", []want{{kindParagraph, "a", 0}, {kindParagraph, "b", 0}}},
		{"indented code", "para\n\n    code 1\n\n    code 2\nnext",
			[]want{{kindParagraph, "para", 0}, {kindCode, "    code 1\n\n    code 2", 0}, {kindParagraph, "next", 0}}},
		{"heading interrupts paragraph", "text\n## H\nmore", []want{{kindParagraph, "text", 0}, {kindHeading, "## H", 2}, {kindParagraph, "more", 0}}},
		{"crlf", "# A\r\n\r\nb\r\n", []want{{kindHeading, "# A", 1}, {kindParagraph, "b", 0}}},
		{"seven hashes is text", "####### x", []want{{kindParagraph, "####### x", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []want
			for _, b := range parseBlocks(tt.md) {
				got = append(got, want{b.kind, b.text, b.level})
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSelector(t *testing.T) {
	tests := []struct {
		sel     string
		matches []string // ids of matching elements in the fixture
	}{
		{"nav", []string{"n1", "n2"}},
		{"main nav", []string{"n2"}},
		{"body > nav", []string{"n1"}},
		{".ad", []string{"ad"}},
		{"div.ad.wide", []string{"ad"}},
		{"#n2", []string{"n2"}},
		{"[role=navigation]", []string{"r"}},
		{"[data-x^=pre]", []string{"r"}},
		{"[hidden]", []string{"h"}},
		{"p, .ad", []string{"ad", "h"}},
	}
	doc := `<html><body><nav id="n1"></nav><main id="m"><nav id="n2"></nav><div id="ad" class="ad wide"></div>
<p id="h" hidden>x</p><div id="r" role="navigation" data-x="prefix"></div></main></body></html>`
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := parseSelector(tt.sel)
			require.NoError(t, err)
			root := mustParseHTML(t, doc)
			var got []string
			walkElements(root, func(n nodeRef) {
				if sel.matches(n) {
					id, _ := attr(n, "id")
					got = append(got, id)
				}
			})
			require.ElementsMatch(t, tt.matches, got)
		})
	}
	for _, bad := range []string{"", "a,", "> a", "a >", "a[", "a..b", "a:hover", "#"} {
		_, err := parseSelector(bad)
		require.Error(t, err, "selector %q", bad)
	}
}
