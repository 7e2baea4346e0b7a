package markdown

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/factflow/factflow/tokenize"
)

// frame is what pieces of a cut block are wrapped in (a code fence, a
// table header) and the token budget a wrapped piece must fit.
type frame struct {
	open, close string
	budget      int
}

// wrap frames a piece the way block.frame does.
func (f frame) wrap(s string) string {
	if f.open != "" {
		s = f.open + "\n" + s
	}
	if f.close != "" {
		s += "\n" + f.close
	}
	return s
}

func (f frame) fits(s string) bool { return tokenize.Count(f.wrap(s)) <= f.budget }

func (f frame) suffix() string {
	if f.close == "" {
		return ""
	}
	return "\n" + f.close
}

// splitBlock cuts a block whose text exceeds budget tokens into pieces of
// at most budget tokens each. Code blocks are cut between lines and each
// piece is fenced again; tables are cut between rows and each piece repeats
// the header; lists between items; prose between lines, then sentences,
// then words, and a single word longer than the budget by characters.
func splitBlock(b block, budget int) []block {
	if tokenize.Count(b.text) <= budget {
		return []block{b}
	}
	plain := frame{budget: budget}
	switch b.kind {
	case kindCode, kindTable:
		f := frame{open: b.open, close: b.close, budget: budget}
		if len(b.body) > 0 && f.fits("") {
			chunks := pack(b.body, "\n", f, func(line string) []string { return splitText(line, f) })
			out := make([]block, 0, len(chunks))
			for _, c := range chunks {
				out = append(out, b.frame(strings.Split(c, "\n")))
			}
			return out
		}
		// The frame alone is too large: fall back to plain text so the
		// limit holds.
	case kindList:
		items := splitListItems(b.text)
		return textBlocks(b.kind, pack(items, "\n", plain, func(item string) []string {
			return pack(listItemUnits(item), "\n", plain, func(u string) []string {
				if code, ok := fencedUnit(u); ok {
					var out []string
					for _, p := range splitBlock(code, budget) {
						out = append(out, p.text)
					}
					return out
				}
				return splitText(u, plain)
			})
		}))
	}
	return textBlocks(b.kind, splitText(b.text, plain))
}

func textBlocks(kind blockKind, texts []string) []block {
	out := make([]block, 0, len(texts))
	for _, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue
		}
		out = append(out, block{kind: kind, text: t})
	}
	return out
}

// splitListItems cuts a list before each line that starts an item at the
// list's outer indentation.
func splitListItems(text string) []string {
	lines := strings.Split(text, "\n")
	base := indentOf(lines[0])
	var items []string
	start := 0
	for i := 1; i < len(lines); i++ {
		if reListItem.MatchString(lines[i]) && indentOf(lines[i]) <= base {
			items = append(items, strings.TrimRight(strings.Join(lines[start:i], "\n"), "\n"))
			start = i
		}
	}
	return append(items, strings.Join(lines[start:], "\n"))
}

// listItemUnits cuts a list item into lines, keeping each fenced code
// block in it as one unit.
func listItemUnits(item string) []string {
	lines := strings.Split(item, "\n")
	var units []string
	for i := 0; i < len(lines); i++ {
		fence, ok := fenceOpen(strings.TrimLeft(lines[i], " \t"))
		if !ok {
			units = append(units, lines[i])
			continue
		}
		j := i + 1
		for j < len(lines) && !fenceCloses(strings.TrimLeft(lines[j], " \t"), fence) {
			j++
		}
		end := min(j+1, len(lines))
		units = append(units, strings.Join(lines[i:end], "\n"))
		i = end - 1
	}
	return units
}

// fencedUnit turns a unit from listItemUnits that holds a fenced code
// block back into a code block, indentation included.
func fencedUnit(u string) (block, bool) {
	lines := strings.Split(u, "\n")
	fence, ok := fenceOpen(strings.TrimLeft(lines[0], " \t"))
	if !ok || len(lines) < 2 {
		return block{}, false
	}
	b := block{kind: kindCode, open: lines[0]}
	last := lines[len(lines)-1]
	if fenceCloses(strings.TrimLeft(last, " \t"), fence) {
		b.close = last
		lines = lines[:len(lines)-1]
	} else {
		b.close = strings.Repeat(" ", indentOf(lines[0])) + fence
	}
	return b.frame(lines[1:]), true
}

// splitText cuts prose into pieces that fit f: between lines, then
// sentences, then words, then characters.
func splitText(text string, f frame) []string {
	if f.fits(text) {
		return []string{text}
	}
	if strings.Contains(text, "\n") {
		return pack(strings.Split(text, "\n"), "\n", f, func(s string) []string { return splitText(s, f) })
	}
	if sentences := splitSentences(text); len(sentences) > 1 {
		return pack(sentences, " ", f, func(s string) []string { return splitText(s, f) })
	}
	if words := strings.Fields(text); len(words) > 1 {
		return pack(words, " ", f, func(s string) []string { return splitRunes(s, f) })
	}
	return splitRunes(text, f)
}

// splitSentences cuts after ., ! or ? (and their full-width forms)
// followed by white space.
func splitSentences(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if !strings.ContainsRune(".!?。！？", r) {
			continue
		}
		end := i + utf8.RuneLen(r)
		if next, _ := utf8.DecodeRuneInString(text[end:]); end < len(text) && unicode.IsSpace(next) {
			if piece := strings.TrimSpace(text[start:end]); piece != "" {
				out = append(out, piece)
			}
			start = end
		}
	}
	if rest := strings.TrimSpace(text[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// splitRunes cuts text at character boundaries into the longest pieces
// that fit f. A character that does not fit alone is kept alone: there is
// nothing smaller to cut.
func splitRunes(text string, f frame) []string {
	var out []string
	for text != "" {
		// ends[k] is the byte length of the first k+1 characters. Pieces
		// are capped at four characters per budget token to keep each
		// search short; text denser than that is only cut into more pieces.
		limit := len(text)
		ends := make([]int, 0, min(len(text), 4*f.budget+4))
		for i := range text {
			if i > 0 {
				ends = append(ends, i)
				if len(ends) >= 4*f.budget+4 {
					limit = i
					break
				}
			}
		}
		ends = append(ends, limit)
		// Gallop, then binary search, for the longest fitting prefix so
		// that no probe counts much more text than the answer holds; the
		// first character is taken even when it does not fit.
		lo, hi := 0, len(ends)-1
		for step := 1; lo+step <= hi; step *= 2 {
			if !f.fits(text[:ends[lo+step]]) {
				hi = lo + step - 1
				break
			}
			lo += step
		}
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if f.fits(text[:ends[mid]]) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		out = append(out, text[:ends[lo]])
		text = text[ends[lo]:]
	}
	return out
}

// pack joins parts with sep greedily into as few pieces as possible that
// fit f once wrapped. A part that does not fit alone is replaced by what
// split makes of it. Counting is incremental: each step counts only the
// newest part and the line it continues.
func pack(parts []string, sep string, f frame, split func(string) []string) []string {
	var out []string
	var cur strings.Builder
	var cnt tokenize.Counter
	has := false
	start := func(p string) {
		cur.Reset()
		cur.WriteString(p)
		cnt.Reset()
		if f.open != "" {
			cnt.Append(f.open + "\n")
		}
		cnt.Append(p)
		has = true
	}
	suffix := f.suffix()
	for _, p := range parts {
		if has {
			if cnt.With(sep+p+suffix) <= f.budget {
				cur.WriteString(sep)
				cur.WriteString(p)
				cnt.Append(sep + p)
				continue
			}
			out = append(out, cur.String())
			has = false
		}
		if f.fits(p) {
			start(p)
			continue
		}
		pieces := split(p)
		if len(pieces) == 0 {
			continue
		}
		out = append(out, pieces[:len(pieces)-1]...)
		start(pieces[len(pieces)-1])
	}
	if has {
		out = append(out, cur.String())
	}
	return out
}
