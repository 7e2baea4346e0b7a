package markdown

import (
	"regexp"
	"strings"
)

// blockKind is the structural role of a Markdown block; it decides where
// the segmenter may cut.
type blockKind int

const (
	kindParagraph blockKind = iota
	kindHeading
	kindCode
	kindTable
	kindList
	kindQuote
)

// block is one top-level Markdown block. Code blocks and tables keep their
// frame (fences, header rows) apart from their body so that a piece of an
// oversized block can be framed again and stay valid Markdown.
type block struct {
	kind  blockKind
	text  string
	level int // heading level 1–6

	heading string // heading text without the #s

	// Code: open and close are the fence lines (empty for indented code);
	// Table: open is the header and delimiter rows. body holds the lines
	// between.
	open  string
	close string
	body  []string
}

func (b block) frame(body []string) block {
	nb := b
	nb.body = body
	parts := make([]string, 0, len(body)+2)
	if b.open != "" {
		parts = append(parts, b.open)
	}
	parts = append(parts, body...)
	if b.close != "" {
		parts = append(parts, b.close)
	}
	nb.text = strings.Join(parts, "\n")
	return nb
}

var (
	reFence      = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})(.*)$")
	reATX        = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	reThematic   = regexp.MustCompile(`^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$`)
	reListItem   = regexp.MustCompile(`^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)`)
	reQuote      = regexp.MustCompile(`^ {0,3}>`)
	reSetext1    = regexp.MustCompile(`^ {0,3}=+[ \t]*$`)
	reSetext2    = regexp.MustCompile(`^ {0,3}-+[ \t]*$`)
	reTableDelim = regexp.MustCompile(`^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$`)
)

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func indentOf(s string) int {
	n := 0
	for _, r := range s {
		switch r {
		case ' ':
			n++
		case '\t':
			n += 4 - n%4
		default:
			return n
		}
	}
	return n
}

// fenceOpen reports whether line opens a fenced code block and returns the
// fence marker.
func fenceOpen(line string) (string, bool) {
	m := reFence.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	// A backtick fence's info string may not hold a backtick.
	if m[1][0] == '`' && strings.Contains(m[2], "`") {
		return "", false
	}
	return m[1], true
}

func fenceCloses(line, fence string) bool {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return false
	}
	t = strings.TrimRight(t, " \t")
	if len(t) < len(fence) {
		return false
	}
	return strings.Trim(t, fence[:1]) == ""
}

func isTableStart(lines []string, i int) bool {
	return i+1 < len(lines) && strings.Contains(lines[i], "|") && reTableDelim.MatchString(lines[i+1]) &&
		strings.Contains(lines[i+1], "-")
}

// startsBlock reports whether line would interrupt a paragraph.
func startsBlock(lines []string, i int) bool {
	line := lines[i]
	if _, ok := fenceOpen(line); ok {
		return true
	}
	return reATX.MatchString(line) || reThematic.MatchString(line) || reQuote.MatchString(line) ||
		reListItem.MatchString(line) || isTableStart(lines, i)
}

// parseBlocks splits Markdown into top-level blocks. It follows CommonMark
// closely enough for segmenting: it must recognise every construct that may
// not be cut (fenced code, tables) and every heading; finer inline syntax
// does not matter here. Thematic breaks are dropped: they carry no text.
func parseBlocks(md string) []block {
	md = strings.ReplaceAll(md, "\r\n", "\n")
	md = strings.ReplaceAll(md, "\r", "\n")
	lines := strings.Split(md, "\n")
	var out []block
	for i := 0; i < len(lines); {
		line := lines[i]
		switch {
		case isBlank(line):
			i++
		case isFenceStart(line):
			b, next := parseFenced(lines, i)
			out = append(out, b)
			i = next
		case reATX.MatchString(line):
			m := reATX.FindStringSubmatch(line)
			text := strings.TrimSpace(m[2])
			out = append(out, block{kind: kindHeading, level: len(m[1]), heading: text, text: strings.TrimSpace(line)})
			i++
		case reThematic.MatchString(line):
			i++
		case isTableStart(lines, i):
			j := i + 2
			for j < len(lines) && !isBlank(lines[j]) && strings.Contains(lines[j], "|") {
				j++
			}
			b := block{kind: kindTable, open: lines[i] + "\n" + lines[i+1]}
			out = append(out, b.frame(trimRightAll(lines[i+2:j])))
			i = j
		case reListItem.MatchString(line):
			j := scanList(lines, i)
			out = append(out, block{kind: kindList, text: joinTrim(lines[i:j])})
			i = j
		case reQuote.MatchString(line):
			j := i + 1
			for j < len(lines) && !isBlank(lines[j]) && (reQuote.MatchString(lines[j]) || !startsBlock(lines, j)) {
				j++
			}
			out = append(out, block{kind: kindQuote, text: joinTrim(lines[i:j])})
			i = j
		case indentOf(line) >= 4:
			j := i + 1
			for j < len(lines) {
				if isBlank(lines[j]) {
					k := j
					for k < len(lines) && isBlank(lines[k]) {
						k++
					}
					if k < len(lines) && indentOf(lines[k]) >= 4 {
						j = k
						continue
					}
					break
				}
				if indentOf(lines[j]) < 4 {
					break
				}
				j++
			}
			b := block{kind: kindCode}
			out = append(out, b.frame(trimRightAll(lines[i:j])))
			i = j
		default:
			j := i + 1
			for j < len(lines) && !isBlank(lines[j]) {
				if reSetext1.MatchString(lines[j]) || reSetext2.MatchString(lines[j]) {
					break
				}
				if startsBlock(lines, j) {
					break
				}
				j++
			}
			if j < len(lines) && (reSetext1.MatchString(lines[j]) || reSetext2.MatchString(lines[j])) {
				level := 1
				if reSetext2.MatchString(lines[j]) {
					level = 2
				}
				parts := make([]string, 0, j-i)
				for _, l := range lines[i:j] {
					parts = append(parts, strings.TrimSpace(l))
				}
				text := strings.Join(parts, " ")
				out = append(out, block{
					kind: kindHeading, level: level, heading: text,
					text: strings.Repeat("#", level) + " " + text,
				})
				i = j + 1
				continue
			}
			out = append(out, block{kind: kindParagraph, text: joinTrim(lines[i:j])})
			i = j
		}
	}
	return out
}

func isFenceStart(line string) bool {
	_, ok := fenceOpen(line)
	return ok
}

func parseFenced(lines []string, i int) (block, int) {
	fence, _ := fenceOpen(lines[i])
	b := block{kind: kindCode, open: strings.TrimRight(lines[i], " \t")}
	j := i + 1
	for j < len(lines) && !fenceCloses(lines[j], fence) {
		j++
	}
	body := lines[i+1 : min(j, len(lines))]
	if j < len(lines) {
		b.close = strings.TrimSpace(lines[j])
		j++
	} else {
		// An unterminated fence runs to the end of the document; closing
		// it keeps every piece valid Markdown.
		b.close = fence
	}
	return b.frame(trimRightAll(body)), j
}

// scanList returns the end of the list that starts at i: items, their
// indented or lazy continuation lines, and blank lines inside the list.
func scanList(lines []string, i int) int {
	j := i + 1
	for j < len(lines) {
		line := lines[j]
		if isBlank(line) {
			k := j
			for k < len(lines) && isBlank(lines[k]) {
				k++
			}
			if k < len(lines) && (reListItem.MatchString(lines[k]) || indentOf(lines[k]) >= 2) {
				j = k
				continue
			}
			return j
		}
		if fence, ok := fenceOpen(strings.TrimLeft(line, " \t")); ok && indentOf(line) >= 2 {
			// A code block inside an item may hold blank lines and lines
			// that look like anything.
			j++
			for j < len(lines) && !fenceCloses(strings.TrimLeft(lines[j], " \t"), fence) {
				j++
			}
			if j < len(lines) {
				j++
			}
			continue
		}
		if indentOf(line) < 2 && !reListItem.MatchString(line) && startsBlock(lines, j) {
			return j
		}
		j++
	}
	return j
}

func trimRightAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimRight(l, " \t")
	}
	return out
}

func joinTrim(lines []string) string {
	return strings.TrimSpace(strings.Join(trimRightAll(lines), "\n"))
}
