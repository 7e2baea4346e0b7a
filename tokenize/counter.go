package tokenize

import (
	"unicode"
	"unicode/utf8"
)

// Counter counts the tokens of a text built by appending, without
// re-tokenising all of it at each step. The zero value is an empty text.
//
// It relies on how the cl100k_base pre-tokeniser cuts text into pieces
// before byte-pair encoding: no piece runs across the start of a line that
// begins with a non-space character. So the text before the last such line
// start never changes its count again, and only the tail after it is
// counted anew. The counts are exact (TestCounterMatchesCount checks the
// property), not estimates.
type Counter struct {
	done      int    // tokens of the text before tail
	tail      string // text after the last stable line start
	tailCount int
	// The last With call, which Append usually repeats.
	lastWith  string
	lastCount int
	hasLast   bool
}

// With returns the token count the text would have with s appended,
// leaving the text unchanged.
func (c *Counter) With(s string) int {
	n := c.done + Count(c.tail+s)
	c.lastWith, c.lastCount, c.hasLast = s, n, true
	return n
}

// Total returns the token count of the text.
func (c *Counter) Total() int { return c.done + c.tailCount }

// Append adds s to the text.
func (c *Counter) Append(s string) {
	t := c.tail + s
	var total int
	if c.hasLast && c.lastWith == s {
		total = c.lastCount
	} else {
		total = c.done + Count(t)
	}
	c.hasLast = false
	c.lastWith = ""
	if k := lastStableStart(t); k > 0 {
		t = t[k:]
		c.tailCount = Count(t)
	} else {
		c.tailCount = total - c.done
	}
	c.tail = t
	c.done = total - c.tailCount
}

// Reset empties the text.
func (c *Counter) Reset() { *c = Counter{} }

// lastStableStart returns the last offset k > 0 where t[k-1] is a newline
// and t[k] begins a letter, digit or visible ASCII character, or 0.
func lastStableStart(t string) int {
	for k := len(t) - 1; k > 0; k-- {
		if t[k-1] != '\n' {
			continue
		}
		if b := t[k]; b < utf8.RuneSelf {
			if b > ' ' && b < 0x7f {
				return k
			}
			continue
		}
		r, _ := utf8.DecodeRuneInString(t[k:])
		if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r)) {
			return k
		}
	}
	return 0
}
