package pipelinetest

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline/condition"
)

// Finding codes.
const (
	CodeFailed       = "T001"
	CodeUnknownRoute = "T002"
	CodeBadTest      = "T003"
	CodeBadPipeline  = "T004"
	CodeSetup        = "T005"
)

var (
	caseKeys    = []string{"name", "description", "route", "files", "storage", "http", "input", "expect"}
	inputKeys   = []string{"payload", "attempt", "replay_batch_id"}
	expectKeys  = []string{"error", "skipped", "count", "outputs", "every", "storage"}
	errorKeys   = []string{"code", "permanent", "class", "message_contains", "step"}
	outputKeys  = []string{"queue", "payload_equals", "payload_contains", "fields", "conditions"}
	fixtureKeys = []string{"status", "content_type", "body", "headers"}
	storageKeys = []string{"key", "exists", "contains", "equals"}
	errClasses  = []string{"retryable", "permanent", "retry_after"}
)

// Case is one test: a message fed into a route and what must come out.
type Case struct {
	Name        string
	Description string
	Route       string
	// Line and Column locate the case in its file.
	Line, Column int
	// Files are written below the case's temporary directory (${TESTDIR}),
	// by slash-separated relative path.
	Files map[string]string
	// Storage seeds the test storage by key.
	Storage map[string]StoredObject
	// HTTP fixtures by request path, served at ${HTTP}.
	HTTP   map[string]Fixture
	Input  Input
	Expect Expect

	node *yaml.Node
}

// Fixture is one canned HTTP response.
type Fixture struct {
	Status      int
	ContentType string
	Body        string
	Headers     map[string]string
}

// StoredObject is one object seeded into the test storage.
type StoredObject struct {
	Content     string
	ContentType string
}

// Input is the message fed into the route.
type Input struct {
	Payload       map[string]any
	Attempt       int
	ReplayBatchID string
}

// Expect is what the route must do with the message.
type Expect struct {
	Error   *ErrorExpect
	Skipped *bool
	Count   *int
	// Outputs are checked in order against the published messages.
	Outputs []OutputExpect
	// Every applies to every published message.
	Every   *OutputExpect
	Storage []StorageExpect

	countAt, skippedAt *yaml.Node
}

// ErrorExpect asserts that the chain failed.
type ErrorExpect struct {
	Code            string
	Permanent       *bool
	Class           string
	MessageContains string
	Step            string
	at              *yaml.Node
}

// OutputExpect asserts one published message.
type OutputExpect struct {
	Queue           *string
	PayloadEquals   map[string]any
	PayloadContains any
	Fields          []FieldExpect
	Conditions      []ConditionExpect
	at              *yaml.Node
}

// FieldExpect asserts the value at a dotted path of a payload.
type FieldExpect struct {
	Path  string
	Value any
	at    *yaml.Node
}

// ConditionExpect asserts that a payload matches a route condition.
type ConditionExpect struct {
	Condition *condition.Condition
	at        *yaml.Node
}

// StorageExpect asserts an object of the test storage after the run.
type StorageExpect struct {
	Key      string
	Exists   *bool
	Contains string
	Equals   *string
	at       *yaml.Node
}

// parser collects T003 findings while decoding test cases.
type parser struct {
	file     string
	findings []Finding
}

func (p *parser) bad(n *yaml.Node, format string, args ...any) {
	p.findings = append(p.findings, at(p.file, n, CodeBadTest, "", fmt.Sprintf(format, args...)))
}

// pairs lists a mapping's entries, reporting unknown keys; nil when n is
// not a mapping (reported).
func (p *parser) pairs(n *yaml.Node, what string, known []string) map[string]configspec.Pair {
	n = configspec.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.bad(n, "%s must be a mapping, got %s", what, configspec.Describe(n))
		return nil
	}
	ps, dups := configspec.Pairs(n, "")
	for _, d := range dups {
		p.findings = append(p.findings, Finding{File: p.file, Line: d.Line, Column: d.Column, Code: CodeBadTest, Message: d.Message})
	}
	out := make(map[string]configspec.Pair, len(ps))
	for _, pr := range ps {
		if known != nil && !slices.Contains(known, pr.Name) && !strings.HasPrefix(pr.Name, "x-") {
			p.bad(pr.Key, "unknown key %q in %s%s (known: %s)", pr.Name, what,
				configspec.DidYouMean(pr.Name, known), strings.Join(known, ", "))
			continue
		}
		out[pr.Name] = pr
	}
	return out
}

func (p *parser) str(n *yaml.Node, what string) string {
	n = configspec.Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || configspec.IsNull(n) {
		p.bad(n, "%s must be a string, got %s", what, configspec.Describe(n))
		return ""
	}
	return n.Value
}

func (p *parser) integer(n *yaml.Node, what string) int {
	n = configspec.Resolve(n)
	var v int
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v < 0 {
		p.bad(n, "%s must be a whole number ≥ 0, got %s", what, configspec.Describe(n))
		return 0
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, what string) *bool {
	n = configspec.Resolve(n)
	var v bool
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.bad(n, "%s must be true or false, got %s", what, configspec.Describe(n))
		return nil
	}
	return &v
}

// value decodes a node into JSON-shaped values as the engine sees them
// (numbers become float64, as after a trip through the broker).
func (p *parser) value(n *yaml.Node, what string) (any, bool) {
	v, fs := configspec.Value(n, what)
	if len(fs) > 0 {
		for _, f := range fs {
			p.findings = append(p.findings, Finding{File: p.file, Line: f.Line, Column: f.Column, Code: CodeBadTest, Message: what + ": " + f.Message})
		}
		return nil, false
	}
	norm, err := normalize(v)
	if err != nil {
		p.bad(n, "%s cannot be represented as JSON: %v", what, err)
		return nil, false
	}
	return norm, true
}

func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (p *parser) object(n *yaml.Node, what string) map[string]any {
	v, ok := p.value(n, what)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		p.bad(n, "%s must be a mapping (a JSON object), got %s", what, configspec.Describe(n))
		return nil
	}
	return m
}

func (p *parser) stringMap(n *yaml.Node, what string) map[string]string {
	ps := p.pairs(n, what, nil)
	if ps == nil {
		return nil
	}
	out := make(map[string]string, len(ps))
	for name, pr := range ps {
		out[name] = p.str(pr.Value, what+"."+name)
	}
	return out
}

// parseCase decodes one test case. The case node has had its ${…}
// variables replaced already.
func (p *parser) parseCase(n *yaml.Node, index int) *Case {
	n = configspec.Resolve(n)
	c := &Case{node: n}
	if n != nil {
		c.Line, c.Column = n.Line, n.Column
	}
	what := "tests[" + strconv.Itoa(index) + "]"
	ps := p.pairs(n, what, caseKeys)
	if ps == nil {
		return nil
	}
	if v, ok := ps["name"]; ok {
		c.Name = p.str(v.Value, what+".name")
	} else {
		p.bad(n, "%s has no name", what)
	}
	who := what
	if c.Name != "" {
		// Findings name the test already.
		what, who = "this test's", "the test"
	}
	if v, ok := ps["description"]; ok {
		c.Description = p.str(v.Value, what+" description")
	}
	if v, ok := ps["route"]; ok {
		c.Route = p.str(v.Value, what+" route")
	} else {
		p.bad(n, "%s names no route: add route: <route key>", who)
	}
	if v, ok := ps["files"]; ok {
		c.Files = p.stringMap(v.Value, what+" files")
		for name := range c.Files {
			if !validRelPath(name) {
				p.bad(v.Value, "%s files: %q must be a relative path that stays inside ${TESTDIR}", what, name)
			}
		}
	}
	if v, ok := ps["storage"]; ok {
		c.Storage = p.objects(v.Value, what+" storage")
	}
	if v, ok := ps["http"]; ok {
		c.HTTP = p.fixtures(v.Value, what+" http")
	}
	c.Input.Payload = map[string]any{}
	if v, ok := ps["input"]; ok {
		p.input(v.Value, what+" input", &c.Input)
	}
	if v, ok := ps["expect"]; ok {
		p.expect(v.Value, what+" expect", &c.Expect)
	} else {
		p.bad(n, "%s has no expect section: say what the route must emit (expect: {} asserts only that it succeeds)", who)
	}
	return c
}

func validRelPath(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return false
	}
	clean := path.Clean(name)
	return clean != "." && clean != ".." && !strings.HasPrefix(clean, "../")
}

func (p *parser) fixtures(n *yaml.Node, what string) map[string]Fixture {
	ps := p.pairs(n, what, nil)
	if ps == nil {
		return nil
	}
	out := make(map[string]Fixture, len(ps))
	for name, pr := range ps {
		fw := what + " " + strconv.Quote(name)
		if !strings.HasPrefix(name, "/") {
			p.bad(pr.Key, "%s: fixture paths start with / (the request path, query included if any)", fw)
			continue
		}
		f := Fixture{Status: 200}
		v := configspec.Resolve(pr.Value)
		if v != nil && v.Kind == yaml.ScalarNode {
			// A bare string is the body of a 200 response.
			f.Body = p.str(v, fw)
			out[name] = f
			continue
		}
		fp := p.pairs(v, fw, fixtureKeys)
		if fp == nil {
			continue
		}
		if s, ok := fp["status"]; ok {
			f.Status = p.integer(s.Value, fw+" status")
			if f.Status < 100 || f.Status > 599 {
				p.bad(s.Value, "%s status must be an HTTP status (100–599)", fw)
			}
		}
		if s, ok := fp["content_type"]; ok {
			f.ContentType = p.str(s.Value, fw+" content_type")
		}
		if s, ok := fp["body"]; ok {
			f.Body = p.str(s.Value, fw+" body")
		}
		if s, ok := fp["headers"]; ok {
			f.Headers = p.stringMap(s.Value, fw+" headers")
		}
		out[name] = f
	}
	return out
}

func (p *parser) objects(n *yaml.Node, what string) map[string]StoredObject {
	ps := p.pairs(n, what, nil)
	if ps == nil {
		return nil
	}
	out := make(map[string]StoredObject, len(ps))
	for key, pr := range ps {
		ow := what + " " + strconv.Quote(key)
		v := configspec.Resolve(pr.Value)
		if v != nil && v.Kind == yaml.ScalarNode {
			out[key] = StoredObject{Content: p.str(v, ow)}
			continue
		}
		op := p.pairs(v, ow, []string{"content", "content_type"})
		if op == nil {
			continue
		}
		var o StoredObject
		if c, ok := op["content"]; ok {
			o.Content = p.str(c.Value, ow+" content")
		}
		if c, ok := op["content_type"]; ok {
			o.ContentType = p.str(c.Value, ow+" content_type")
		}
		out[key] = o
	}
	return out
}

func (p *parser) input(n *yaml.Node, what string, in *Input) {
	ps := p.pairs(n, what, inputKeys)
	if ps == nil {
		return
	}
	if v, ok := ps["payload"]; ok {
		if m := p.object(v.Value, what+" payload"); m != nil {
			in.Payload = m
		}
	}
	if v, ok := ps["attempt"]; ok {
		in.Attempt = p.integer(v.Value, what+" attempt")
	}
	if v, ok := ps["replay_batch_id"]; ok {
		in.ReplayBatchID = p.str(v.Value, what+" replay_batch_id")
	}
}

func (p *parser) expect(n *yaml.Node, what string, e *Expect) {
	if configspec.IsNull(n) {
		return
	}
	ps := p.pairs(n, what, expectKeys)
	if ps == nil {
		return
	}
	if v, ok := ps["error"]; ok {
		e.Error = p.errorExpect(v.Value, what+" error")
	}
	if v, ok := ps["skipped"]; ok {
		e.Skipped = p.boolean(v.Value, what+" skipped")
		e.skippedAt = configspec.Resolve(v.Value)
	}
	if v, ok := ps["count"]; ok {
		c := p.integer(v.Value, what+" count")
		e.Count, e.countAt = &c, configspec.Resolve(v.Value)
	}
	if v, ok := ps["outputs"]; ok {
		list := configspec.Resolve(v.Value)
		if list == nil || list.Kind != yaml.SequenceNode {
			p.bad(list, "%s outputs must be a list, got %s", what, configspec.Describe(list))
		} else {
			for i, item := range list.Content {
				if o := p.output(item, fmt.Sprintf("%s outputs[%d]", what, i)); o != nil {
					e.Outputs = append(e.Outputs, *o)
				}
			}
		}
	}
	if v, ok := ps["every"]; ok {
		e.Every = p.output(v.Value, what+" every")
	}
	if v, ok := ps["storage"]; ok {
		list := configspec.Resolve(v.Value)
		if list == nil || list.Kind != yaml.SequenceNode {
			p.bad(list, "%s storage must be a list, got %s", what, configspec.Describe(list))
		} else {
			for i, item := range list.Content {
				if s := p.storageExpect(item, fmt.Sprintf("%s storage[%d]", what, i)); s != nil {
					e.Storage = append(e.Storage, *s)
				}
			}
		}
	}
	if e.Error != nil && (e.Count != nil || len(e.Outputs) > 0 || e.Every != nil) {
		p.bad(n, "%s: a test expecting an error cannot also expect outputs", what)
	}
	if e.Error != nil && e.Skipped != nil && *e.Skipped {
		p.bad(n, "%s: a message is either skipped or failed, not both", what)
	}
}

func (p *parser) errorExpect(n *yaml.Node, what string) *ErrorExpect {
	e := &ErrorExpect{at: configspec.Resolve(n)}
	if configspec.IsNull(n) {
		return e
	}
	if v := configspec.Resolve(n); v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
		if b := p.boolean(v, what); b != nil && !*b {
			p.bad(v, "%s: write error: true (or a mapping), or leave error out to expect success", what)
		}
		return e
	}
	ps := p.pairs(n, what, errorKeys)
	if ps == nil {
		return e
	}
	if v, ok := ps["code"]; ok {
		e.Code = p.str(v.Value, what+" code")
	}
	if v, ok := ps["permanent"]; ok {
		e.Permanent = p.boolean(v.Value, what+" permanent")
	}
	if v, ok := ps["class"]; ok {
		e.Class = p.str(v.Value, what+" class")
		if e.Class != "" && !slices.Contains(errClasses, e.Class) {
			p.bad(v.Value, "%s class %q is not one of %s", what, e.Class, strings.Join(errClasses, ", "))
		}
	}
	if v, ok := ps["message_contains"]; ok {
		e.MessageContains = p.str(v.Value, what+" message_contains")
	}
	if v, ok := ps["step"]; ok {
		e.Step = p.str(v.Value, what+" step")
	}
	return e
}

func (p *parser) output(n *yaml.Node, what string) *OutputExpect {
	o := &OutputExpect{at: configspec.Resolve(n)}
	ps := p.pairs(n, what, outputKeys)
	if ps == nil {
		return nil
	}
	if v, ok := ps["queue"]; ok {
		q := ""
		if !configspec.IsNull(v.Value) {
			q = p.str(v.Value, what+" queue")
		}
		o.Queue = &q
	}
	if v, ok := ps["payload_equals"]; ok {
		o.PayloadEquals = p.object(v.Value, what+" payload_equals")
	}
	if v, ok := ps["payload_contains"]; ok {
		o.PayloadContains, _ = p.value(v.Value, what+" payload_contains")
	}
	if o.PayloadEquals != nil && o.PayloadContains != nil {
		p.bad(n, "%s: use payload_equals or payload_contains, not both", what)
	}
	if v, ok := ps["fields"]; ok {
		fp, _ := configspec.Pairs(v.Value, "")
		if f := configspec.Resolve(v.Value); f == nil || f.Kind != yaml.MappingNode {
			p.bad(f, "%s fields must be a mapping of dotted.path: value, got %s", what, configspec.Describe(f))
		}
		for _, pr := range fp {
			val, ok := p.value(pr.Value, what+" fields."+pr.Name)
			if !ok {
				continue
			}
			o.Fields = append(o.Fields, FieldExpect{Path: pr.Name, Value: val, at: pr.Key})
		}
	}
	if v, ok := ps["conditions"]; ok {
		list := configspec.Resolve(v.Value)
		items := []*yaml.Node{list}
		if list != nil && list.Kind == yaml.SequenceNode {
			items = list.Content
		}
		for i, item := range items {
			c, fs := condition.Parse(item, fmt.Sprintf("conditions[%d]", i))
			if len(fs) > 0 {
				for _, f := range fs {
					p.findings = append(p.findings, Finding{File: p.file, Line: f.Line, Column: f.Column, Code: CodeBadTest,
						Message: what + " " + f.Path + ": " + f.Message})
				}
				continue
			}
			if c != nil {
				o.Conditions = append(o.Conditions, ConditionExpect{Condition: c, at: configspec.Resolve(item)})
			}
		}
	}
	return o
}

func (p *parser) storageExpect(n *yaml.Node, what string) *StorageExpect {
	s := &StorageExpect{at: configspec.Resolve(n)}
	ps := p.pairs(n, what, storageKeys)
	if ps == nil {
		return nil
	}
	if v, ok := ps["key"]; ok {
		s.Key = p.str(v.Value, what+" key")
	} else {
		p.bad(n, "%s names no key", what)
	}
	if v, ok := ps["exists"]; ok {
		s.Exists = p.boolean(v.Value, what+" exists")
	}
	if v, ok := ps["contains"]; ok {
		s.Contains = p.str(v.Value, what+" contains")
	}
	if v, ok := ps["equals"]; ok {
		e := ""
		if !configspec.IsNull(v.Value) {
			e = p.str(v.Value, what+" equals")
		}
		s.Equals = &e
	}
	return s
}

// substitute copies n with every string scalar's ${NAME} variables
// replaced, aliases expanded (the caller has bounded their expansion).
func substitute(n *yaml.Node, r *strings.Replacer) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return substitute(n.Alias, r)
	}
	c := *n
	if c.Kind == yaml.ScalarNode && c.ShortTag() == "!!str" {
		if v := r.Replace(c.Value); v != c.Value {
			// Pinned, so that a replaced value reading like a number or a
			// boolean stays the string it was written as.
			c.Value, c.Tag = v, "!!str"
		}
	}
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, ch := range n.Content {
			c.Content[i] = substitute(ch, r)
		}
	}
	return &c
}
