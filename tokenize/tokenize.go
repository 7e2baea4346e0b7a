package tokenize

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding is the name of the vocabulary every function here uses.
const Encoding = tiktoken.MODEL_CL100K_BASE

// encoder is built on first use: loading the vocabulary takes a moment and
// most commands never count a token.
var encoder = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	// The offline loader reads the vocabulary embedded in the binary; the
	// default loader would fetch it over HTTP.
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding(Encoding)
	if err != nil {
		return nil, fmt.Errorf("loading the %s vocabulary: %w", Encoding, err)
	}
	return enc, nil
})

// Init loads the vocabulary now instead of at the first call, and reports
// whether it could be loaded. Calling it is optional.
func Init() error {
	_, err := encoder()
	return err
}

func mustEncoder() *tiktoken.Tiktoken {
	enc, err := encoder()
	if err != nil {
		// The vocabulary is embedded: failing to load it is a broken build,
		// not a condition a caller could handle.
		panic(err)
	}
	return enc
}

// Encode returns the tokens of text. Special-token markers such as
// <|endoftext|> are encoded as ordinary text, so any input is accepted.
func Encode(text string) []int {
	if text == "" {
		return nil
	}
	return mustEncoder().EncodeOrdinary(text)
}

// Decode returns the text of tokens. A slice cut at an arbitrary token may
// end inside a multi-byte character; the result then holds invalid UTF-8
// (see Truncate for a cut that never does).
func Decode(tokens []int) string {
	if len(tokens) == 0 {
		return ""
	}
	return mustEncoder().Decode(tokens)
}

// Count returns the number of tokens of text.
func Count(text string) int {
	if text == "" {
		return 0
	}
	return len(mustEncoder().EncodeOrdinary(text))
}

// Truncate returns the longest prefix of text, cut at a character
// boundary, whose token count is at most max.
func Truncate(text string, max int) string {
	return cut(text, max, false)
}

// TruncateStart returns the longest suffix of text, cut at a character
// boundary, whose token count is at most max.
func TruncateStart(text string, max int) string {
	return cut(text, max, true)
}

func cut(text string, max int, fromEnd bool) string {
	if max <= 0 || text == "" {
		return ""
	}
	toks := Encode(text)
	if len(toks) <= max {
		return text
	}
	// Decoding max tokens gives a first guess; re-tokenising a piece can
	// differ slightly from the original slice, so shrink until it fits.
	var guess string
	if fromEnd {
		guess = Decode(toks[len(toks)-max:])
	} else {
		guess = Decode(toks[:max])
	}
	n := min(len(guess), len(text))
	for n > 0 {
		var s string
		if fromEnd {
			start := len(text) - n
			for start < len(text) && !utf8.RuneStart(text[start]) {
				start++
			}
			s = text[start:]
		} else {
			end := n
			for end > 0 && !utf8.RuneStart(text[end]) {
				end--
			}
			s = text[:end]
		}
		c := Count(s)
		if c <= max {
			return s
		}
		// Shrink in proportion to the excess, by at least one byte.
		n = min(len(s)-1, len(s)*max/c)
	}
	return ""
}
