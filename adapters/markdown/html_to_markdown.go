package markdown

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/factflow/factflow/adapters"
)

// HTMLToMarkdownConfig configures html_to_markdown.
type HTMLToMarkdownConfig struct {
	SourceField         string   `json:"source_field" default:"content" doc:"Payload field (dotted path) holding the HTML."`
	TargetField         string   `json:"target_field" default:"markdown" doc:"Payload field (dotted path) that receives the Markdown."`
	PreserveImages      bool     `json:"preserve_images" default:"false" doc:"Keep images as Markdown image links; when false they are dropped."`
	RemoveSelectors     []string `json:"remove_selectors" default:"[nav, footer, script, style, noscript, button, \"body > header\", \"[role=navigation]\", \"[role=banner]\", \"[role=contentinfo]\"]" doc:"CSS selectors (tag, #id, .class, [attr=value], descendant and child combinators) of elements dropped before conversion: site navigation, footers and the like."`
	MainContentSelector string   `json:"main_content_selector" doc:"CSS selector of the element holding the page's content, such as main or article; when set and found, only that element is converted."`
	DropSource          bool     `json:"drop_source" default:"true" doc:"Remove the HTML field from the payload after conversion, keeping messages small."`
}

// Validate parses the selectors so that a typo shows up when the pipeline
// is validated, not on the first message.
func (c HTMLToMarkdownConfig) Validate() error {
	errs := []error{checkFieldPath("source_field", c.SourceField), checkFieldPath("target_field", c.TargetField)}
	for i, s := range c.RemoveSelectors {
		if _, err := parseSelector(s); err != nil {
			errs = append(errs, fmt.Errorf("remove_selectors[%d]: %w", i, err))
		}
	}
	if c.MainContentSelector != "" {
		if _, err := parseSelector(c.MainContentSelector); err != nil {
			errs = append(errs, fmt.Errorf("main_content_selector: %w", err))
		}
	}
	return errors.Join(errs...)
}

func htmlToMarkdownSpec() adapters.Spec {
	s := adapters.Define("html_to_markdown", "markdown", "Convert HTML to Markdown",
		func(cfg HTMLToMarkdownConfig, _ adapters.Deps) (adapters.Adapter, error) {
			return newHTMLToMarkdown(cfg)
		})
	s.Description = "Converts the HTML in `source_field` (default `content`) to CommonMark with GitHub " +
		"tables and strikethrough, and writes it to `target_field` (default `markdown`).\n\n" +
		"Before converting, elements matching `remove_selectors` are dropped (by default navigation, " +
		"footers, scripts and styles); with `main_content_selector` only the first matching element " +
		"is converted (the whole page when nothing matches). Relative links are made absolute against " +
		"the payload's `final_url` or `url`. When the payload has no `title`, it is taken from the " +
		"page's `<title>`, else its first `<h1>`.\n\n" +
		"When `content_type` says the content already is Markdown or plain text, it is passed through " +
		"unchanged; images, audio, video, PDFs and archives fail permanently with " +
		"`CONTENT_TYPE_UNSUPPORTED`."
	s.Reads = []string{"content", "content_type", "url", "final_url", "title"}
	s.Writes = []string{"markdown", "title"}
	return s
}

type htmlToMarkdown struct {
	cfg    HTMLToMarkdownConfig
	remove selector
	main   selector
	conv   *converter.Converter
}

func newHTMLToMarkdown(cfg HTMLToMarkdownConfig) (*htmlToMarkdown, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &htmlToMarkdown{cfg: cfg}
	for _, s := range cfg.RemoveSelectors {
		sel, _ := parseSelector(s)
		a.remove = append(a.remove, sel...)
	}
	if cfg.MainContentSelector != "" {
		a.main, _ = parseSelector(cfg.MainContentSelector)
	}
	a.conv = converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(
			// The end-of-list comments the library adds between adjacent
			// lists would end up in every segment's text.
			commonmark.WithListEndComment(false),
		),
		table.NewTablePlugin(
			table.WithSpanCellBehavior(table.SpanBehaviorMirror),
			table.WithNewlineBehavior(table.NewlineBehaviorPreserve),
		),
		strikethrough.NewStrikethroughPlugin(),
	))
	// Inline SVGs are icons and drawings: their <title> and <text> would
	// surface as stray words.
	a.conv.Register.TagType("svg", converter.TagTypeRemove, converter.PriorityEarly)
	if !cfg.PreserveImages {
		for _, tag := range []string{"img", "picture"} {
			a.conv.Register.TagType(tag, converter.TagTypeRemove, converter.PriorityEarly)
		}
	}
	return a, nil
}

func (a *htmlToMarkdown) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	v, ok := adapters.Lookup(in.Payload, a.cfg.SourceField)
	src, isString := v.(string)
	if !ok || !isString {
		return nil, adapters.PermanentCoded("HTML_SOURCE_MISSING",
			fmt.Sprintf("the payload needs the document text in %q; load it first (storage_retriever) or set source_field", a.cfg.SourceField),
			fmt.Errorf("payload field %s is missing or not a string", a.cfg.SourceField))
	}
	out := in.Payload
	ct := adapters.StringAt(out, "content_type")
	if isBinaryType(ct) {
		return nil, adapters.PermanentCoded("CONTENT_TYPE_UNSUPPORTED",
			"html_to_markdown converts HTML; send PDFs and other documents through document_text, or filter them out",
			fmt.Errorf("content type %s is not HTML", ct))
	}
	var md, title string
	if isMarkdownType(ct) {
		md = strings.TrimSpace(src)
		title = markdownTitle(md)
	} else {
		var err error
		md, title, err = a.convert(ctx, src, baseURL(out))
		if err != nil {
			return nil, err
		}
	}
	if a.cfg.DropSource {
		adapters.Remove(out, a.cfg.SourceField)
	}
	if err := assignField(out, "target_field", a.cfg.TargetField, md); err != nil {
		return nil, err
	}
	if strings.TrimSpace(adapters.StringAt(out, "title")) == "" && title != "" {
		out["title"] = title
	}
	return adapters.Pass(out), nil
}

func (a *htmlToMarkdown) convert(ctx context.Context, src, base string) (md, title string, err error) {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		// html.Parse recovers from any malformed markup; an error here
		// means the input cannot be read at all.
		return "", "", adapters.PermanentCoded("HTML_PARSE_FAILED", "the content is not HTML; check content_type", err)
	}
	title = pageTitle(doc)
	a.remove.removeAll(doc)
	root := doc
	if a.main != nil {
		if n := a.main.first(doc); n != nil {
			root = n
		}
	}
	if title == "" {
		title = firstH1(root)
	}
	opts := []converter.ConvertOptionFunc{converter.WithContext(ctx)}
	if base != "" {
		opts = append(opts, converter.WithDomain(base))
	}
	out, err := a.conv.ConvertNode(root, opts...)
	if err != nil {
		return "", "", fmt.Errorf("converting HTML to Markdown: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	return strings.TrimSpace(string(out)), title, nil
}

func baseURL(p map[string]any) string {
	if u := adapters.StringAt(p, "final_url"); u != "" {
		return u
	}
	return adapters.StringAt(p, "url")
}

// isMarkdownType reports whether a MIME type names Markdown or plain text,
// which need no conversion.
func isMarkdownType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	}
	switch mt {
	case "text/markdown", "text/x-markdown", "text/plain":
		return true
	}
	return false
}

// isBinaryType reports whether a MIME type names content that is surely
// not markup. Unknown and generic types are given the benefit of the doubt:
// servers often label HTML badly.
func isBinaryType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	for _, prefix := range []string{"image/", "audio/", "video/", "font/"} {
		if strings.HasPrefix(mt, prefix) {
			return true
		}
	}
	switch mt {
	case "application/pdf", "application/zip", "application/gzip", "application/x-gzip":
		return true
	}
	return false
}

func pageTitle(doc *html.Node) string {
	var find func(n *html.Node) string
	find = func(n *html.Node) string {
		if n.Type == html.ElementNode && n.DataAtom == atom.Title {
			return collapseSpace(textOf(n))
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Svg {
			return "" // an SVG's <title> names the image, not the page
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if t := find(c); t != "" {
				return t
			}
		}
		return ""
	}
	return find(doc)
}

func firstH1(root *html.Node) string {
	var find func(n *html.Node) string
	find = func(n *html.Node) string {
		if n.Type == html.ElementNode && n.DataAtom == atom.H1 {
			return collapseSpace(textOf(n))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if t := find(c); t != "" {
				return t
			}
		}
		return ""
	}
	return find(root)
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// markdownTitle returns the text of the first level-1 heading.
func markdownTitle(md string) string {
	for _, b := range parseBlocks(md) {
		if b.kind == kindHeading && b.level == 1 {
			return b.heading
		}
	}
	return ""
}
