package llmadapters

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/llm"
)

// placeholder matches {{field.path}}, spaces inside the braces allowed.
// The template language is deliberately this small: a prompt is written by
// pipeline authors, and a full template engine would let a prompt call
// functions or loop where a plain field reference is all that is needed.
var placeholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// promptTemplate is a text with {{field.path}} placeholders over payload
// fields.
type promptTemplate struct {
	parts []promptPart
}

// promptPart is literal text or, when field is set, a placeholder.
type promptPart struct {
	text  string
	field string
}

// parsePrompt parses s; name is the config key, for messages.
func parsePrompt(name, s string) (*promptTemplate, error) {
	t := &promptTemplate{}
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(s, -1) {
		if err := t.literal(name, s[last:m[0]]); err != nil {
			return nil, err
		}
		field := s[m[2]:m[3]]
		if err := adapters.ValidatePath(field); err != nil || strings.ContainsAny(field, " \t\n") {
			return nil, fmt.Errorf("%s: placeholder %s must name a payload field such as {{segment.text}}", name, s[m[0]:m[1]])
		}
		t.parts = append(t.parts, promptPart{field: field})
		last = m[1]
	}
	if err := t.literal(name, s[last:]); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *promptTemplate) literal(name, s string) error {
	if s == "" {
		return nil
	}
	if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
		return fmt.Errorf("%s: unbalanced {{ or }} in %q; placeholders are written {{field.path}}", name, s)
	}
	t.parts = append(t.parts, promptPart{text: s})
	return nil
}

// fields lists the payload fields the template reads, in order, once each.
func (t *promptTemplate) fields() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.field != "" && !seen[p.field] {
			seen[p.field] = true
			out = append(out, p.field)
		}
	}
	return out
}

// missingFieldError names the placeholder field a payload lacks.
type missingFieldError struct{ field string }

func (e *missingFieldError) Error() string {
	return fmt.Sprintf("payload has no field %s", e.field)
}

// render fills the placeholders from p. It also returns the substituted
// values as passages: generating providers read the prompt, the offline
// extractive provider composes its answer from passages.
func (t *promptTemplate) render(p adapters.Payload) (string, []llm.Passage, error) {
	var b strings.Builder
	var passages []llm.Passage
	seen := map[string]bool{}
	for _, part := range t.parts {
		if part.field == "" {
			b.WriteString(part.text)
			continue
		}
		v, ok := adapters.Lookup(p, part.field)
		if !ok {
			return "", nil, &missingFieldError{field: part.field}
		}
		s := valueText(v)
		b.WriteString(s)
		if !seen[part.field] && strings.TrimSpace(s) != "" {
			seen[part.field] = true
			passages = append(passages, llm.Passage{Index: len(passages) + 1, Title: part.field, Text: s})
		}
	}
	return b.String(), passages, nil
}

// valueText renders a payload value into a prompt: strings verbatim,
// integral numbers without a fraction, objects and lists as JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if n, ok := adapters.IntOf(x); ok {
			return strconv.Itoa(n)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
