package markdown

import (
	"context"
	"errors"
	"fmt"

	"github.com/factflow/factflow/adapters"
)

// SmartSegmenterConfig configures smart_segmenter.
type SmartSegmenterConfig struct {
	SourceField   string `json:"source_field" default:"markdown" doc:"Payload field (dotted path) holding the Markdown to segment."`
	MaxTokens     int    `json:"max_tokens" default:"512" minimum:"16" maximum:"32768" doc:"Largest segment, in cl100k_base tokens; no segment exceeds it."`
	MinTokens     int    `json:"min_tokens" default:"64" minimum:"0" maximum:"32767" doc:"Sections smaller than this merge into the next segment instead of standing alone; a smaller last segment merges into the one before when both fit."`
	OverlapTokens int    `json:"overlap_tokens" default:"0" minimum:"0" maximum:"16384" doc:"Tokens of prose repeated from the end of a segment at the start of the next when a section spans several segments."`
	KeepMarkdown  bool   `json:"keep_markdown" default:"false" doc:"Keep the source Markdown in the payload; by default it is removed once segmented."`
}

// Validate checks the relations between limits.
func (c SmartSegmenterConfig) Validate() error {
	errs := []error{checkFieldPath("source_field", c.SourceField)}
	if c.MaxTokens < 16 {
		errs = append(errs, fmt.Errorf("max_tokens: %d is below 16", c.MaxTokens))
	}
	if c.MinTokens < 0 || c.MinTokens >= c.MaxTokens {
		errs = append(errs, fmt.Errorf("min_tokens: %d must be at least 0 and below max_tokens (%d)", c.MinTokens, c.MaxTokens))
	}
	if c.OverlapTokens < 0 || c.OverlapTokens > c.MaxTokens/2 {
		errs = append(errs, fmt.Errorf("overlap_tokens: %d must be at least 0 and at most half of max_tokens (%d)", c.OverlapTokens, c.MaxTokens/2))
	}
	return errors.Join(errs...)
}

func smartSegmenterSpec() adapters.Spec {
	s := adapters.Define("smart_segmenter", "markdown", "Cut Markdown into heading- and token-aware segments",
		func(cfg SmartSegmenterConfig, _ adapters.Deps) (adapters.Adapter, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			return &smartSegmenter{cfg: cfg}, nil
		})
	s.Description = "Parses the Markdown structure (headings, paragraphs, lists, block quotes, fenced " +
		"and indented code, tables) and packs whole blocks into segments of at most `max_tokens` " +
		"tokens, counted exactly with the cl100k_base BPE vocabulary (embedded, works offline).\n\n" +
		"- A heading starts a new segment once the current one holds `min_tokens`; a heading is " +
		"never left at the end of a segment.\n" +
		"- Code blocks and tables are never cut, unless one alone exceeds `max_tokens`: then a code " +
		"block is cut between lines and each piece is fenced again, and a table between rows with " +
		"its header repeated. Prose too long for a segment is cut between lines, then sentences, " +
		"then words.\n" +
		"- `overlap_tokens` repeats the end of a segment's prose at the start of the next when a " +
		"section continues.\n\n" +
		"Writes `segments`, a list of `{index, text, tokens, heading, heading_path}` where " +
		"`heading_path` is the chain of headings above the segment, and `segment_count`."
	s.Reads = []string{"markdown"}
	s.Writes = []string{"segments", "segment_count"}
	return s
}

type smartSegmenter struct {
	cfg SmartSegmenterConfig
}

func (a *smartSegmenter) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	v, ok := adapters.Lookup(in.Payload, a.cfg.SourceField)
	md, isString := v.(string)
	if !ok || !isString {
		return nil, adapters.PermanentCoded("MARKDOWN_MISSING",
			fmt.Sprintf("the payload needs Markdown in %q; convert it first (html_to_markdown) or set source_field", a.cfg.SourceField),
			fmt.Errorf("payload field %s is missing or not a string", a.cfg.SourceField))
	}
	segs := segmentMarkdown(md, segmentOptions{
		maxTokens:     a.cfg.MaxTokens,
		minTokens:     a.cfg.MinTokens,
		overlapTokens: a.cfg.OverlapTokens,
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list := make([]any, len(segs))
	for i, s := range segs {
		list[i] = s.payload()
	}
	out := in.Payload
	out["segments"] = list
	out["segment_count"] = len(segs)
	if !a.cfg.KeepMarkdown {
		adapters.Remove(out, a.cfg.SourceField)
	}
	return adapters.Pass(out), nil
}

// payload renders a segment in the shape it has after a JSON round trip,
// so that later adapters meet one shape whether or not a broker sat
// between them.
func (s Segment) payload() map[string]any {
	path := make([]any, len(s.HeadingPath))
	for i, h := range s.HeadingPath {
		path[i] = h
	}
	return map[string]any{
		"index":        s.Index,
		"text":         s.Text,
		"tokens":       s.Tokens,
		"heading":      s.Heading,
		"heading_path": path,
	}
}
