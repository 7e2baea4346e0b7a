package markdown

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

func TestHTMLToMarkdownDocsPage(t *testing.T) {
	page := readFixture(t, "docs_page.html")
	a := build(t, "html_to_markdown", "", adapters.Deps{})
	res, err := a.Process(t.Context(), &adapters.Input{
		Payload: adapters.Payload{"content": page, "content_type": "text/html; charset=utf-8", "url": "https://docs.acme.test/guides/ingest/"},
		Meta:    testMeta("html_to_markdown"),
	})
	require.NoError(t, err)
	out := res.Message
	md := out["markdown"].(string)

	require.NotContains(t, out, "content", "drop_source is on by default")
	require.Equal(t, "Configuring the Ingest Service | Acme Docs", out["title"])
	// Chrome is gone: navigation, header, footer, scripts, styles, buttons.
	for _, gone := range []string{"API reference", "Changelog", "Search tuning", "All rights reserved", "Privacy",
		"dataLayer", "font-family", "Copy", "[Acme Docs]"} {
		require.NotContains(t, md, gone)
	}
	// Content survives with its structure.
	require.True(t, strings.HasPrefix(md, "# Configuring the Ingest Service\n"), md)
	require.Contains(t, md, "## Configuration file")
	require.Contains(t, md, "### Environment variables")
	require.Contains(t, md, "```yaml\ningest:\n  workers: 8\n")
	require.Contains(t, md, "| `INGEST_WORKERS`   | 8       | Number of parallel workers      |")
	require.Contains(t, md, "- Keep batches between 50 and 500 documents.")
	require.Contains(t, md, "**Warning:** more workers than cores rarely helps.")
	// Relative links are made absolute against the page URL.
	require.Contains(t, md, "[sources](https://docs.acme.test/guides/sources/)")
	// Images are dropped unless preserved.
	require.NotContains(t, md, "ingest-diagram.png")

	// The Markdown segments cleanly.
	segs := segmentMarkdown(md, segmentOptions{maxTokens: 64, minTokens: 8})
	requireValidSegments(t, segs, 64)
}

func TestHTMLToMarkdownOptions(t *testing.T) {
	page := readFixture(t, "docs_page.html")
	a := build(t, "html_to_markdown", `
main_content_selector: "main article"
preserve_images: true
drop_source: false
remove_selectors: [".admonition", table]
source_field: doc.html
target_field: doc.md
`, adapters.Deps{})
	res, err := a.Process(t.Context(), &adapters.Input{
		Payload: adapters.Payload{"doc": map[string]any{"html": page}, "title": "Kept title", "final_url": "https://docs.acme.test/x/"},
	})
	require.NoError(t, err)
	doc := res.Message["doc"].(map[string]any)
	md := doc["md"].(string)
	require.Equal(t, page, doc["html"], "drop_source false keeps the HTML")
	require.Equal(t, "Kept title", res.Message["title"], "an existing title is kept")
	require.Contains(t, md, "![Ingest architecture diagram](https://docs.acme.test/img/ingest-diagram.png)")
	require.NotContains(t, md, "Warning")
	require.NotContains(t, md, "INGEST_WORKERS")
	// With the main content selected, the header outside it is gone even
	// though the default selectors were replaced.
	require.NotContains(t, md, "Acme Docs")
	require.True(t, strings.HasPrefix(md, "# Configuring the Ingest Service"))
}

func TestHTMLToMarkdownTitleFromH1(t *testing.T) {
	a := build(t, "html_to_markdown", "", adapters.Deps{})
	res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{
		"content": `<body><svg><title>icon</title></svg><h1>  Release   notes </h1><p>Fixed bugs.</p></body>`,
	}})
	require.NoError(t, err)
	require.Equal(t, "Release notes", res.Message["title"])
	require.Equal(t, "# Release notes\n\nFixed bugs.", res.Message["markdown"])
}

func TestHTMLToMarkdownPassesMarkdownThrough(t *testing.T) {
	a := build(t, "html_to_markdown", "", adapters.Deps{})
	for _, ct := range []string{"text/markdown", "text/markdown; charset=utf-8", "text/plain"} {
		src := "# Notes <b>raw</b>\n\nBody with <tags>.\n"
		res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"content": src, "content_type": ct}})
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(src), res.Message["markdown"], ct)
		require.Equal(t, "Notes <b>raw</b>", res.Message["title"], ct)
	}
}

func TestHTMLToMarkdownErrors(t *testing.T) {
	a := build(t, "html_to_markdown", "", adapters.Deps{})
	for _, p := range []adapters.Payload{{}, {"content": 42}} {
		_, err := a.Process(t.Context(), &adapters.Input{Payload: p})
		requireCode(t, err, "HTML_SOURCE_MISSING", adapters.ClassPermanent)
	}
	_, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"content": "%PDF-1.7", "content_type": "application/pdf"}})
	requireCode(t, err, "CONTENT_TYPE_UNSUPPORTED", adapters.ClassPermanent)
	res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"content": "<p>x</p>", "content_type": "application/octet-stream"}})
	require.NoError(t, err, "generic types get the benefit of the doubt")
	require.Equal(t, "x", res.Message["markdown"])
	_, err = htmlToMarkdownSpec().New(HTMLToMarkdownConfig{SourceField: "content", TargetField: "markdown",
		RemoveSelectors: []string{"div:first-child"}}, adapters.Deps{})
	require.ErrorContains(t, err, "remove_selectors[0]")
}

func TestHTMLToMarkdownConcurrent(t *testing.T) {
	page := readFixture(t, "docs_page.html")
	a := build(t, "html_to_markdown", "", adapters.Deps{})
	first, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"content": page}})
	require.NoError(t, err)
	want := first.Message["markdown"]
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"content": page}})
			if err != nil || res.Message["markdown"] != want {
				t.Errorf("concurrent conversion differs: %v", err)
			}
		})
	}
	wg.Wait()
}
