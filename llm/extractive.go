package llm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

const extractiveModel = "extractive-v1"

// NoAnswer is the extractive profile's answer when no passage shares a
// content word with the question (or there are no passages). It carries
// no citation: there is nothing to cite.
const NoAnswer = "I could not find an answer in the indexed sources."

// Limits of an extractive answer: a few sentences read as an answer, more
// read as a dump of the sources.
const (
	extractiveMaxSentences = 4
	extractiveMaxChars     = 1200
	// extractiveChunkWords is how many words one streamed delta carries.
	extractiveChunkWords = 3
)

// extractive is the offline completer: it quotes the passage sentences
// that best overlap the question's content words, each followed by its
// citation [n]. It never invents text, so its answers are only as good as
// the retrieval that chose the passages.
type extractive struct {
	profile string
	model   string
}

// Extractive returns the offline completer of profile "extractive".
func Extractive() Completer {
	return &extractive{profile: DefaultCompletionProfile, model: extractiveModel}
}

func (x *extractive) Profile() string { return x.profile }
func (x *extractive) Model() string   { return x.model }

func (x *extractive) Complete(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, x.canceled(err)
	}
	return &ChatResponse{Content: composeExtractive(req), Model: x.model, FinishReason: "stop"}, nil
}

// Stream emits the composed answer a few words at a time.
func (x *extractive) Stream(ctx context.Context, req ChatRequest, onDelta func(string) error) (*ChatResponse, error) {
	if onDelta == nil {
		onDelta = func(string) error { return nil }
	}
	answer := composeExtractive(req)
	for _, chunk := range wordChunks(answer, extractiveChunkWords) {
		if err := ctx.Err(); err != nil {
			return nil, x.canceled(err)
		}
		if err := onDelta(chunk); err != nil {
			return nil, err
		}
	}
	return &ChatResponse{Content: answer, Model: x.model, FinishReason: "stop"}, nil
}

func (x *extractive) canceled(err error) error {
	return &Error{Code: CodeCanceled, Class: Terminal, Profile: x.profile, Msg: "answer cancelled", Cause: err}
}

// wordChunks cuts s into pieces of n words, each keeping the whitespace
// that follows it, so the pieces concatenate back to s.
func wordChunks(s string, n int) []string {
	var out []string
	start, words, inWord := 0, 0, false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if !space && !inWord {
			if words == n {
				out = append(out, s[start:i])
				start, words = i, 0
			}
			words++
		}
		inWord = !space
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about an and are as at be been but by can could
		did do does for from had has have how i if in into is it its me my no not of on or
		our so than that the their them then there these they this those to was we were what
		when where which who whom why will with would you your please tell explain describe
		give show list find about any some there here get got should shall may might must`) {
		m[w] = true
	}
	return m
}()

// contentWords returns the distinct lower-cased non-stopwords of s, with a
// light plural folding so "indexes" meets "index" and "pipelines" meets
// "pipeline".
func contentWords(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len([]rune(w)) < 2 || stopwords[w] {
			continue
		}
		out[fold(w)] = true
	}
	return out
}

func fold(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 4 && (strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "sses")):
		return w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		return w[:len(w)-1]
	}
	return w
}

type candidate struct {
	passage, sentence int // positions, for ordering
	cite              int
	text              string
	score             int
}

func lastUserMessage(msgs []Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content
		}
	}
	if len(msgs) > 0 {
		return msgs[len(msgs)-1].Content
	}
	return ""
}

func composeExtractive(req ChatRequest) string {
	question := contentWords(lastUserMessage(req.Messages))
	if len(question) == 0 || len(req.Passages) == 0 {
		return NoAnswer
	}
	var cands []candidate
	best := 0
	for pi, p := range req.Passages {
		cite := p.Index
		if cite <= 0 {
			cite = pi + 1
		}
		for si, s := range splitSentences(p.Text) {
			score := 0
			for w := range contentWords(s) {
				if question[w] {
					score++
				}
			}
			if score == 0 {
				continue
			}
			best = max(best, score)
			cands = append(cands, candidate{passage: pi, sentence: si, cite: cite, text: s, score: score})
		}
	}
	if best == 0 {
		return NoAnswer
	}
	// Best first; among equals the earlier passage (retrieval ranked it
	// higher), then the earlier sentence.
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if a.score != b.score {
			return b.score - a.score
		}
		if a.passage != b.passage {
			return a.passage - b.passage
		}
		return a.sentence - b.sentence
	})
	// Weak matches next to a strong one are noise, not support.
	threshold := (best + 1) / 2
	var picked []candidate
	chars := 0
	for _, c := range cands {
		if c.score < threshold || len(picked) == extractiveMaxSentences {
			break
		}
		if len(picked) == 0 && len(c.text) > extractiveMaxChars {
			c.text = truncateWords(c.text, extractiveMaxChars)
		}
		if chars+len(c.text) > extractiveMaxChars {
			continue
		}
		chars += len(c.text)
		picked = append(picked, c)
	}
	// Read in source order: passage by passage, sentences as written.
	slices.SortFunc(picked, func(a, b candidate) int {
		if a.passage != b.passage {
			return a.passage - b.passage
		}
		return a.sentence - b.sentence
	})
	parts := make([]string, len(picked))
	for i, c := range picked {
		parts[i] = fmt.Sprintf("%s [%d]", c.text, c.cite)
	}
	return strings.Join(parts, " ")
}

func truncateWords(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := strings.LastIndexFunc(s[:limit-len("…")], unicode.IsSpace)
	if cut <= 0 {
		cut = limit - len("…")
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
	}
	return strings.TrimSpace(s[:cut]) + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// splitSentences splits text into sentences: at line breaks (headings and
// list items stand alone) and after . ! ? followed by a space. Markdown
// headings are dropped (a title is not an answer), list and quote markers
// are trimmed and whitespace is collapsed.
func splitSentences(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(strings.TrimLeft(line, ">*-+ \t"))
		if line == "" {
			continue
		}
		start := 0
		for i := 0; i < len(line); i++ {
			c := line[i]
			if (c == '.' || c == '!' || c == '?') && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\t') {
				if s := strings.Join(strings.Fields(line[start:i+1]), " "); s != "" {
					out = append(out, s)
				}
				start = i + 1
			}
		}
		if s := strings.Join(strings.Fields(line[start:]), " "); s != "" {
			out = append(out, s)
		}
	}
	return out
}
