package markdown

import (
	"slices"
	"strings"
	"unicode"

	"github.com/factflow/factflow/tokenize"
)

// Segment is one piece of a document sized for embedding.
type Segment struct {
	Index int
	Text  string
	// Tokens is the exact token count of Text.
	Tokens int
	// HeadingPath is the chain of headings above the segment's content,
	// outermost first; Heading is its last element.
	HeadingPath []string
	Heading     string
}

// segmentOptions shape the segmenter; see SmartSegmenterConfig.
type segmentOptions struct {
	maxTokens     int
	minTokens     int
	overlapTokens int
}

// part is a block placed in the segment being built.
type part struct {
	block
	overlap bool // repeated tail of the previous segment
}

type builtSegment struct {
	parts []part
	path  []string
}

// segmenter packs blocks into segments. Headings start a new segment once
// the current one holds at least minTokens; smaller runs merge forward into
// the next section so that a page of short sections does not become a heap
// of crumbs. A heading is never the last thing in a segment. Overlap repeats
// the tail of prose when one section continues into the next segment; it is
// not added across headings, where the topic changes, nor taken from code
// or tables, which a cut would leave unbalanced.
type segmenter struct {
	opt  segmentOptions
	path []headingRef
	cur  []part
	// cnt counts the tokens of joinParts(cur) incrementally.
	cnt tokenize.Counter
	// curPath is the heading path of the current segment's first content.
	curPath []string
	out     []builtSegment
}

type headingRef struct {
	level int
	text  string
}

func segmentMarkdown(md string, opt segmentOptions) []Segment {
	s := &segmenter{opt: opt}
	// Payloads travel as JSON, which cannot carry invalid UTF-8 either.
	md = strings.ToValidUTF8(md, "\uFFFD")
	for _, b := range parseBlocks(md) {
		if b.kind == kindHeading {
			s.heading(b)
			continue
		}
		s.add(b)
	}
	s.flush(false)
	return s.finish()
}

func (s *segmenter) headingPath() []string {
	out := make([]string, len(s.path))
	for i, h := range s.path {
		out[i] = h.text
	}
	return out
}

func (s *segmenter) heading(b block) {
	for len(s.path) > 0 && s.path[len(s.path)-1].level >= b.level {
		s.path = s.path[:len(s.path)-1]
	}
	s.path = append(s.path, headingRef{level: b.level, text: b.heading})
	if s.hasContent() && s.cnt.Total() >= s.opt.minTokens {
		s.flush(false)
	}
	// A heading too long for any segment is cut like prose; only its first
	// piece keeps heading status.
	pieces := splitBlock(b, s.opt.maxTokens)
	for i, p := range pieces {
		if i > 0 {
			p.kind = kindParagraph
		}
		s.addFitting(p)
	}
}

// add places a content block, cutting it first if it is larger than a
// segment.
func (s *segmenter) add(b block) {
	budget := s.opt.maxTokens
	if !s.hasContent() && len(s.cur) > 0 && !s.onlyOverlap() {
		// Reserve room for the headings waiting for this content so that
		// they need not be orphaned.
		if r := budget - s.cnt.Total() - 2; r >= s.opt.maxTokens/4 {
			budget = r
		}
	}
	if s.opt.overlapTokens > 0 {
		// Pieces of a cut block leave room for the overlap that will
		// precede them.
		budget = min(budget, s.opt.maxTokens-s.opt.overlapTokens-2)
	}
	for _, p := range splitBlock(b, budget) {
		s.addFitting(p)
	}
}

// addFitting places a block of at most maxTokens.
func (s *segmenter) addFitting(b block) {
	if s.fits(b) {
		s.push(b)
		return
	}
	if !s.hasContent() {
		// Only headings and/or overlap wait: drop the overlap first.
		if s.dropOverlap() && s.fits(b) {
			s.push(b)
			return
		}
		if len(s.cur) > 0 {
			s.flush(false)
		}
		s.push(b)
		return
	}
	// Carry trailing headings over to the next segment.
	var carried []part
	for len(s.cur) > 0 && s.cur[len(s.cur)-1].kind == kindHeading {
		carried = append([]part{s.cur[len(s.cur)-1]}, carried...)
		s.cur = s.cur[:len(s.cur)-1]
	}
	s.flush(len(carried) == 0 && b.kind != kindHeading)
	s.cur = append(s.cur, carried...)
	s.recount()
	s.addFitting(b)
}

func (s *segmenter) fits(b block) bool {
	if len(s.cur) == 0 {
		return tokenize.Count(b.text) <= s.opt.maxTokens
	}
	return s.cnt.With("\n\n"+b.text) <= s.opt.maxTokens
}

func (s *segmenter) push(b block) {
	if b.kind != kindHeading && !s.hasContent() {
		s.curPath = s.headingPath()
	}
	s.appendPart(part{block: b})
}

func (s *segmenter) appendPart(p part) {
	if len(s.cur) > 0 {
		s.cnt.Append("\n\n")
	}
	s.cnt.Append(p.text)
	s.cur = append(s.cur, p)
}

// recount rebuilds the counter after parts were removed.
func (s *segmenter) recount() {
	parts := s.cur
	s.cur = nil
	s.cnt.Reset()
	for _, p := range parts {
		s.appendPart(p)
	}
}

func (s *segmenter) hasContent() bool {
	for _, p := range s.cur {
		if !p.overlap && p.kind != kindHeading {
			return true
		}
	}
	return false
}

func (s *segmenter) onlyOverlap() bool {
	for _, p := range s.cur {
		if !p.overlap {
			return false
		}
	}
	return true
}

func (s *segmenter) dropOverlap() bool {
	n := len(s.cur)
	s.cur = slices.DeleteFunc(s.cur, func(p part) bool { return p.overlap })
	if len(s.cur) == n {
		return false
	}
	s.recount()
	return true
}

func joinParts(parts []part) string {
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.text
	}
	return strings.Join(texts, "\n\n")
}

// flush closes the current segment. With overlap, the next segment starts
// with the tail of the closed one's last prose block.
func (s *segmenter) flush(overlap bool) {
	if !s.hasContent() && (len(s.cur) == 0 || s.onlyOverlap()) {
		s.cur = nil
		s.cnt.Reset()
		return
	}
	path := s.curPath
	if !s.hasContent() {
		path = s.headingPath()
	}
	seg := builtSegment{parts: s.cur, path: path}
	s.out = append(s.out, seg)
	s.cur = nil
	s.cnt.Reset()
	s.curPath = nil
	if !overlap || s.opt.overlapTokens <= 0 {
		return
	}
	last := seg.parts[len(seg.parts)-1]
	if last.kind != kindParagraph && last.kind != kindList && last.kind != kindQuote || holdsFence(last.text) {
		return
	}
	if tail := overlapTail(last.text, s.opt.overlapTokens); tail != "" {
		s.appendPart(part{block: block{kind: kindParagraph, text: tail}, overlap: true})
		s.curPath = path
	}
}

// overlapTail returns at most n tokens from the end of text, starting at a
// word boundary.
func overlapTail(text string, n int) string {
	tail := tokenize.TruncateStart(text, n)
	if tail == text || tail == "" {
		return tail
	}
	// Skip the partial word the cut landed in.
	if i := strings.IndexFunc(tail, unicode.IsSpace); i >= 0 {
		return strings.TrimSpace(tail[i:])
	}
	return ""
}

// finish merges a tiny last segment into the one before when both fit,
// then numbers and counts the segments.
func (s *segmenter) finish() []Segment {
	out := s.out
	if n := len(out); n >= 2 {
		last := out[n-1]
		body := slices.DeleteFunc(slices.Clone(last.parts), func(p part) bool { return p.overlap })
		if tokenize.Count(joinParts(body)) < s.opt.minTokens {
			merged := append(slices.Clone(out[n-2].parts), body...)
			if tokenize.Count(joinParts(merged)) <= s.opt.maxTokens {
				out[n-2].parts = merged
				out = out[:n-1]
			}
		}
	}
	segs := make([]Segment, 0, len(out))
	for _, b := range out {
		text := joinParts(b.parts)
		for _, piece := range enforceLimit(text, s.opt.maxTokens) {
			seg := Segment{
				Index:       len(segs),
				Text:        piece.text,
				Tokens:      piece.tokens,
				HeadingPath: slices.Clone(b.path),
			}
			if seg.HeadingPath == nil {
				seg.HeadingPath = []string{}
			}
			if n := len(seg.HeadingPath); n > 0 {
				seg.Heading = seg.HeadingPath[n-1]
			}
			segs = append(segs, seg)
		}
	}
	return segs
}

// enforceLimit is a last guard for the invariant that no segment exceeds
// the limit; packing already checks every step, so it returns text as is
// unless a cut misjudged a frame.
func enforceLimit(text string, max int) []counted {
	if n := tokenize.Count(text); n <= max {
		return []counted{{text, n}}
	}
	var out []counted
	for _, p := range splitText(text, frame{budget: max}) {
		out = append(out, counted{p, tokenize.Count(p)})
	}
	return out
}

type counted struct {
	text   string
	tokens int
}

// holdsFence reports whether text holds a code fence (a list item's code
// block), which an overlap cut could leave open.
func holdsFence(text string) bool {
	for line := range strings.SplitSeq(text, "\n") {
		if isFenceStart(strings.TrimLeft(line, " \t")) {
			return true
		}
	}
	return false
}
