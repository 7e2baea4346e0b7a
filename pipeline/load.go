package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline/condition"
	"github.com/factflow/factflow/queue"
)

// Catalog tells the loader which adapter types exist and how their
// configs look; *adapters.Registry satisfies it.
type Catalog interface {
	// ConfigType returns the config struct type of an adapter type (nil
	// when it takes no config) and whether the type exists.
	ConfigType(typ string) (reflect.Type, bool)
	// Types lists every adapter type (for "did you mean" suggestions).
	Types() []string
}

var (
	topLevelKeys = []string{"version", "description", "defaults", "routes", "init_message", "allow_cycles", "execution", "tests", "error_handling", "backpressure"}
	defaultsKeys = []string{"error_handling", "backpressure", "circuit_breaker", "timeout"}
	routeKeys    = []string{"name", "description", "inbound", "adapters", "outbound", "timeout", "ordering", "ordering_key", "error_handling", "backpressure", "circuit_breaker"}
	stepKeys     = []string{"type", "name", "config", "condition"}
	outboundKeys = []string{"queue", "condition"}
	initKeys     = []string{"route", "payload"}
	timeoutKeys  = []string{"timeout", "timeout_seconds", "timeout_ms"}

	// Route keys and step names become storage key segments and URL path
	// parts, so they keep to a conservative alphabet.
	identRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$`)

	lineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	// anchorRe recognises the composer's error for an undefined alias.
	anchorRe = regexp.MustCompile(`unknown anchor '(.*)' referenced`)
)

// MaxDocumentSize is the largest pipeline document Load parses (1 MiB).
// Pipelines arrive from API callers with write scope only, so a document
// is measured before the YAML parser sees it; real pipelines are a few
// KiB.
const MaxDocumentSize = 1 << 20

// Load parses and validates a pipeline document. The Pipeline is nil only
// when the document is larger than MaxDocumentSize (E009) or cannot be
// read as a YAML mapping; otherwise it holds
// whatever could be decoded (defaults applied) even if the report has
// errors — such a pipeline must not be run. A nil cat skips adapter type
// and config checks (Step.Config then holds the raw config map).
func Load(data []byte, cat Catalog) (*Pipeline, *Report) {
	l := &loader{cat: cat, report: &Report{}, routes: map[string]*routeNodes{}}
	p := l.load(data)
	l.report.normalize()
	return p, l.report
}

// LoadFile reads and loads a pipeline file. It reads at most one byte
// past MaxDocumentSize, so a huge file is refused without being read whole.
func LoadFile(path string, cat Catalog) (*Pipeline, *Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading pipeline %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDocumentSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading pipeline %s: %w", path, err)
	}
	p, r := Load(data, cat)
	return p, r, nil
}

type loader struct {
	cat    Catalog
	report *Report
	root   *yaml.Node
	routes map[string]*routeNodes
}

// routeNodes remembers where a route's wiring was written, for findings
// reported after every route is known.
type routeNodes struct {
	key      *yaml.Node
	inbound  *yaml.Node
	outbound []*yaml.Node // parallel to Route.Outbound
	backpres *yaml.Node
}

func (l *loader) add(fs ...Finding) { l.report.Findings = append(l.report.Findings, fs...) }

// addAt adds findings, placing those without a position at fallback.
func (l *loader) addAt(fallback *yaml.Node, fs ...Finding) {
	for _, f := range fs {
		if f.Line == 0 && fallback != nil {
			f.Line, f.Column = fallback.Line, fallback.Column
		}
		l.add(f)
	}
}

// find records a finding whose severity follows its code (W… = warning)
// and whose remediation defaults to the catalogue's.
func (l *loader) find(code, path string, n *yaml.Node, msg, remediation string) {
	if remediation == "" {
		remediation = catalogueRemediation(code)
	}
	var f Finding
	if strings.HasPrefix(code, "W") {
		f = configspec.Warning(code, path, n, msg, remediation)
	} else {
		f = configspec.Error(code, path, n, msg, remediation)
	}
	if f.Line == 0 && l.root != nil {
		f.Line, f.Column = l.root.Line, l.root.Column
	}
	l.add(f)
}

func (l *loader) load(data []byte) *Pipeline {
	root := l.parse(data)
	if root == nil {
		return nil
	}
	l.root = root
	if fs := configspec.CheckNode(root, ""); len(fs) > 0 {
		l.add(fs...)
		return nil
	}
	pairs, dups := configspec.Pairs(root, "")
	l.add(dups...)
	top := map[string]configspec.Pair{}
	for _, p := range pairs {
		if strings.HasPrefix(p.Name, "x-") {
			// Extension keys hold shared anchors (x-scraper: &scraper …),
			// as in Compose files.
			continue
		}
		if !slices.Contains(topLevelKeys, p.Name) {
			l.unknownKey(p, "", topLevelKeys)
			continue
		}
		top[p.Name] = p
	}
	p := &Pipeline{Routes: map[string]*Route{}, Execution: DefaultExecution()}
	l.version(top, p)
	if d, ok := top["description"]; ok {
		p.Description = l.str(d, "description")
	}
	if a, ok := top["allow_cycles"]; ok {
		p.AllowCycles = l.boolean(a, "allow_cycles")
	}
	if e, ok := top["execution"]; ok {
		spec := executionSpec(p.Execution)
		l.block(e, &spec, "execution", "E504")
		p.Execution = Execution(spec)
	}
	if t, ok := top["tests"]; ok && !configspec.IsNull(t.Value) {
		p.Tests = t.Value
	}
	pol := l.defaults(top)
	l.routeSet(top, p, pol)
	l.initMessage(top, p)
	l.wire(p)
	return p
}

// parse reads exactly one YAML document whose root is a mapping.
func (l *loader) parse(data []byte) (root *yaml.Node) {
	if len(data) > MaxDocumentSize {
		l.add(configspec.Finding{Severity: configspec.SeverityError, Code: "E009", Line: 1, Column: 1,
			Message:     fmt.Sprintf("the document is larger than %d bytes (%d KiB), the limit for a pipeline", MaxDocumentSize, MaxDocumentSize>>10),
			Remediation: catalogueRemediation("E009")})
		return nil
	}
	defer func() {
		// The YAML library is third-party code; a panic on hostile input
		// must become a finding, not a crash.
		if v := recover(); v != nil {
			l.add(configspec.Error("E001", "", nil, fmt.Sprintf("the YAML parser failed: %v", v), catalogueRemediation("E001")))
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(configspec.Finding{Severity: configspec.SeverityError, Code: "E002", Line: 1, Column: 1,
				Message: "the document is empty", Remediation: catalogueRemediation("E002")})
			return nil
		}
		l.add(syntaxFinding(err, data))
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		at := configspec.Resolve(&extra)
		if at == nil {
			at = &extra
		}
		l.add(configspec.Error("E002", "", at, "the file holds more than one YAML document",
			"keep one pipeline per file: remove the second --- separator and what follows"))
	case !errors.Is(err, io.EOF):
		l.add(syntaxFinding(err, data))
		return nil
	}
	root = configspec.Resolve(&doc)
	if root == nil {
		l.add(configspec.Finding{Severity: configspec.SeverityError, Code: "E002", Line: 1, Column: 1,
			Message: "the document is empty", Remediation: catalogueRemediation("E002")})
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.add(configspec.Error("E002", "", root,
			"the document must be a mapping of keys (version, routes, …), got "+configspec.Describe(root),
			catalogueRemediation("E002")))
		return nil
	}
	return root
}

// syntaxFinding turns a parser error into E001 with the line the parser
// names (it reports no column; 0 means unknown).
func syntaxFinding(err error, data []byte) Finding {
	msg := err.Error()
	f := Finding{Severity: configspec.SeverityError, Code: "E001", Line: 1, Remediation: catalogueRemediation("E001")}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		f.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if !isScannerProblem(msg) {
			// The library reports parser errors with 0-based lines and
			// scanner errors with 1-based ones.
			f.Line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if m := anchorRe.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			f.Line = bytes.Count(data[:i], []byte("\n")) + 1
			f.Column = i - bytes.LastIndexByte(data[:i], '\n')
		}
		f.Remediation = "define the anchor (&" + m[1] + ") before the alias that uses it"
	}
	f.Message = "YAML syntax error: " + msg
	return f
}

// scannerProblems are the problems the YAML scanner (as opposed to the
// parser) reports.
var scannerProblems = []string{
	"block sequence entries are not allowed in this context",
	"could not find expected ':'",
	"could not find expected directive name",
	"did not find expected alphabetic or numeric character",
	"did not find expected comment or line break",
	"did not find expected digit or '.' character",
	"did not find expected hexdecimal number",
	"did not find expected version number",
	"did not find expected whitespace or line break",
	"did not find expected whitespace",
	"did not find the expected '>'",
	"exceeded max depth",
	"found a tab character that violates indentation",
	"found a tab character where an indentation space is expected",
	"found an indentation indicator equal to 0",
	"found character that cannot start any token",
	"found extremely long version number",
	"found invalid Unicode character escape code",
	"found unexpected document indicator",
	"found unexpected end of stream",
	"found unexpected non-alphabetical character",
	"found unknown directive name",
	"found unknown escape character",
	"mapping keys are not allowed in this context",
	"mapping values are not allowed in this context",
}

func isScannerProblem(msg string) bool {
	for _, p := range scannerProblems {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (l *loader) unknownKey(p configspec.Pair, path string, known []string) {
	l.find("E004", configspec.Join(path, p.Name), p.Key,
		fmt.Sprintf("unknown key %q%s", p.Name, configspec.DidYouMean(p.Name, known)),
		"remove it or use one of: "+strings.Join(known, ", "))
}

func (l *loader) version(top map[string]configspec.Pair, p *Pipeline) {
	vp, ok := top["version"]
	if !ok {
		l.find("E003", "version", l.root, "version is missing", "")
		return
	}
	v := configspec.Resolve(vp.Value)
	if v == nil || v.Kind != yaml.ScalarNode || configspec.IsNull(v) {
		l.find("E003", "version", vp.Key, "version must be the string \"1.0\", got "+configspec.Describe(v), "")
		return
	}
	p.Version = v.Value
	if v.Value != SchemaVersion {
		l.find("E003", "version", v, fmt.Sprintf("unsupported version %q; this release reads %q", v.Value, SchemaVersion), "")
	}
}

// str reads a string-valued structural key ("" for null).
func (l *loader) str(p configspec.Pair, path string) string {
	v := configspec.Resolve(p.Value)
	if configspec.IsNull(v) {
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		l.find("E005", path, v, fmt.Sprintf("%s must be a string, got %s", lastPart(path), configspec.Describe(v)), "")
		return ""
	}
	return v.Value
}

func (l *loader) boolean(p configspec.Pair, path string) bool {
	v := configspec.Resolve(p.Value)
	if configspec.IsNull(v) {
		return false
	}
	var b bool
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		l.find("E005", path, v, fmt.Sprintf("%s must be true or false, got %s", lastPart(path), configspec.Describe(v)), "write true or false (unquoted)")
		return false
	}
	return b
}

func lastPart(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// mapping resolves a structural value that must be a mapping; it reports
// E005 and returns nil otherwise (and for null).
func (l *loader) mapping(p configspec.Pair, path, remediation string) *yaml.Node {
	v := configspec.Resolve(p.Value)
	if configspec.IsNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		l.find("E005", path, v, fmt.Sprintf("%s must be a mapping, got %s", lastPart(path), configspec.Describe(v)), remediation)
		return nil
	}
	return v
}

// block decodes a settings block with configspec and files its findings
// under the block's code: unknown keys are E004, bad values blockCode.
func (l *loader) block(p configspec.Pair, dst any, path, blockCode string) *yaml.Node {
	n := l.mapping(p, path, "write key: value settings")
	if n == nil {
		return nil
	}
	fs := configspec.DecodeInto(n, dst, path)
	l.addAt(p.Key, remap(fs, blockCode, lastPart(path))...)
	return n
}

func remap(fs []Finding, code, block string) []Finding {
	for i := range fs {
		switch fs[i].Code {
		case configspec.CodeUnknownField:
			fs[i].Code = "E004"
			fs[i].Message = strings.Replace(fs[i].Message, "unknown field", "unknown key", 1)
		case configspec.CodeMissingField, configspec.CodeWrongType, configspec.CodeOutOfRange, configspec.CodeInvalidConfig:
			fs[i].Code = code
			fs[i].Message = strings.Replace(fs[i].Message, "invalid config: ", "invalid "+block+": ", 1)
		}
	}
	return fs
}

// synthetic builds a mapping of some of a mapping's pairs, so that a few
// keys of a larger block can be decoded by configspec on their own.
func synthetic(pairs []configspec.Pair) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range pairs {
		n.Content = append(n.Content, p.Key, p.Value)
	}
	return n
}

// defaults resolves the policies every route inherits: built-in defaults,
// then the reference's top-level error_handling/backpressure, then the
// defaults block.
func (l *loader) defaults(top map[string]configspec.Pair) policies {
	pol := defaultPolicies()
	for _, key := range []string{"error_handling", "backpressure"} {
		if p, ok := top[key]; ok {
			l.find("W001", key, p.Key,
				fmt.Sprintf("top-level %s is the reference spelling of defaults.%s", key, key),
				fmt.Sprintf("move it under defaults, as defaults.%s", key))
			l.policy(&pol, p, key)
		}
	}
	dp, ok := top["defaults"]
	if !ok {
		return pol
	}
	n := l.mapping(dp, "defaults", "write defaults: {error_handling: {...}, backpressure: {...}}")
	if n == nil {
		return pol
	}
	pairs, dups := configspec.Pairs(n, "defaults")
	l.add(dups...)
	var timeouts []configspec.Pair
	for _, p := range pairs {
		switch {
		case slices.Contains(timeoutKeys, p.Name):
			timeouts = append(timeouts, p)
		case slices.Contains(defaultsKeys, p.Name):
			l.policy(&pol, p, configspec.Join("defaults", p.Name))
		default:
			l.unknownKey(p, "defaults", defaultsKeys)
		}
	}
	l.timeout(&pol.Timeout, timeouts, "defaults", dp.Key)
	return pol
}

// policy layers one error_handling / backpressure / circuit_breaker block
// over pol.
func (l *loader) policy(pol *policies, p configspec.Pair, path string) {
	switch p.Name {
	case "error_handling":
		n := l.block(p, &pol.ErrorHandling, path, "E501")
		if n == nil {
			return
		}
		pairs, _ := configspec.Pairs(n, path)
		for _, q := range pairs {
			if q.Name != "dead_letter_queue" || configspec.IsNull(q.Value) {
				continue
			}
			name, _ := l.queueName(q.Value, configspec.Join(path, q.Name), q.Key)
			pol.ErrorHandling.DeadLetterQueue = name
		}
	case "backpressure":
		l.block(p, &pol.Backpressure, path, "E502")
	case "circuit_breaker":
		// The block's presence turns the breaker on; `enabled: false`
		// inside it still wins.
		pol.CircuitBreaker.Enabled = true
		l.block(p, &pol.CircuitBreaker, path, "E503")
	}
}

func (l *loader) timeout(dst *time.Duration, pairs []configspec.Pair, path string, at *yaml.Node) {
	if len(pairs) == 0 {
		return
	}
	spec := timeoutSpec{Timeout: *dst}
	fs := configspec.DecodeInto(synthetic(pairs), &spec, path)
	l.addAt(at, remap(fs, "E504", "timeout")...)
	*dst = spec.Timeout
}

// queueName normalizes and validates a queue name written at n. at
// positions a missing name.
func (l *loader) queueName(n *yaml.Node, path string, at *yaml.Node) (string, bool) {
	v := configspec.Resolve(n)
	if configspec.IsNull(v) {
		l.find("E207", path, at, "the queue name is missing", "")
		return "", false
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!bool" {
		l.find("E005", path, v, "a queue name must be a string, got "+configspec.Describe(v), "write queue: docs.fetch")
		return "", false
	}
	raw := strings.TrimSpace(v.Value)
	name := queue.NormalizeName(raw)
	if strings.HasPrefix(raw, "/queue/") {
		l.find("W001", path, v,
			fmt.Sprintf("the /queue/ prefix of %q is the reference spelling; queue names are broker-neutral", raw),
			fmt.Sprintf("write %s", name))
	}
	if err := queue.ValidateName(name); err != nil {
		l.find("E204", path, v, err.Error(), "")
		return name, false
	}
	return name, true
}

func (l *loader) routeSet(top map[string]configspec.Pair, p *Pipeline, pol policies) {
	rp, ok := top["routes"]
	if !ok {
		l.find("E006", "routes", l.root, "routes is missing", "")
		return
	}
	n := configspec.Resolve(rp.Value)
	if configspec.IsNull(n) {
		l.find("E006", "routes", rp.Key, "routes is empty", "")
		return
	}
	if n.Kind != yaml.MappingNode {
		l.find("E005", "routes", n, "routes must be a mapping of route key to route, got "+configspec.Describe(n),
			"write routes as a mapping of route key to route: routes: {fetch: {inbound: …, adapters: […]}}")
		return
	}
	pairs, dups := configspec.Pairs(n, "routes")
	l.add(dups...)
	if len(pairs) == 0 {
		l.find("E006", "routes", n, "routes is empty", "")
		return
	}
	for _, rp := range pairs {
		r := l.route(rp, pol)
		p.Routes[r.ID] = r
		p.RouteOrder = append(p.RouteOrder, r.ID)
	}
}

func (l *loader) route(rp configspec.Pair, pol policies) *Route {
	id := rp.Name
	path := configspec.Join("routes", id)
	r := &Route{ID: id, Line: rp.Key.Line}
	nodes := &routeNodes{key: rp.Key}
	l.routes[id] = nodes
	if !identRe.MatchString(id) {
		l.find("E209", path, rp.Key, fmt.Sprintf("route key %q is not a valid identifier", id), "")
	}
	defer func() {
		// Policies apply even to routes that failed to decode, so that a
		// partial pipeline is still fully defaulted.
		r.ErrorHandling = ErrorHandling(pol.ErrorHandling)
		r.Backpressure = Backpressure(pol.Backpressure)
		r.CircuitBreaker = CircuitBreaker(pol.CircuitBreaker)
		r.Timeout = pol.Timeout
		if r.Inbound.Concurrency == 0 {
			r.Inbound.Concurrency = 1
		}
		if r.Inbound.Prefetch == 0 {
			r.Inbound.Prefetch = r.Inbound.Concurrency
		}
		if r.Backpressure.MaxConcurrency == 0 {
			r.Backpressure.MaxConcurrency = r.Inbound.Concurrency
		} else if r.Backpressure.MaxConcurrency < r.Inbound.Concurrency {
			at := nodes.backpres
			if at == nil {
				at = rp.Key
			}
			l.find("W501", configspec.Join(path, "backpressure.max_concurrency"), at,
				fmt.Sprintf("backpressure.max_concurrency (%d) is below inbound.concurrency (%d); the route never runs more than %d messages at once",
					r.Backpressure.MaxConcurrency, r.Inbound.Concurrency, r.Backpressure.MaxConcurrency), "")
		}
	}()
	n := configspec.Resolve(rp.Value)
	if n == nil || n.Kind != yaml.MappingNode {
		l.find("E005", path, n, "a route must be a mapping (inbound, adapters, outbound, …), got "+configspec.Describe(n), "")
		return r
	}
	pairs, dups := configspec.Pairs(n, path)
	l.add(dups...)
	got := map[string]configspec.Pair{}
	var timeouts, ordering []configspec.Pair
	for _, p := range pairs {
		switch {
		case slices.Contains(timeoutKeys, p.Name):
			timeouts = append(timeouts, p)
		case p.Name == "ordering" || p.Name == "ordering_key":
			ordering = append(ordering, p)
		case slices.Contains(routeKeys, p.Name):
			got[p.Name] = p
		default:
			l.unknownKey(p, path, routeKeys)
		}
	}
	if p, ok := got["name"]; ok {
		r.Name = l.str(p, configspec.Join(path, "name"))
	}
	if p, ok := got["description"]; ok {
		r.Description = l.str(p, configspec.Join(path, "description"))
	}
	l.inbound(got, r, nodes, path)
	l.steps(got, r, path)
	l.outbounds(got, r, nodes, path)
	l.timeout(&pol.Timeout, timeouts, path, rp.Key)
	if len(ordering) > 0 {
		spec := orderingSpec{}
		fs := configspec.DecodeInto(synthetic(ordering), &spec, path)
		l.addAt(ordering[0].Key, remap(fs, "E210", "ordering")...)
		if spec.Ordering == OrderingByKey {
			r.Ordering, r.OrderingKey = spec.Ordering, spec.OrderingKey
		}
	}
	for _, key := range []string{"error_handling", "backpressure", "circuit_breaker"} {
		if p, ok := got[key]; ok {
			l.policy(&pol, p, configspec.Join(path, key))
			if key == "backpressure" {
				nodes.backpres = p.Key
			}
		}
	}
	return r
}

func (l *loader) inbound(got map[string]configspec.Pair, r *Route, nodes *routeNodes, path string) {
	ip, ok := got["inbound"]
	ipath := configspec.Join(path, "inbound")
	qpath := configspec.Join(ipath, "queue")
	if !ok || configspec.IsNull(ip.Value) {
		at := nodes.key
		if ok {
			at = ip.Key
		}
		l.find("E207", qpath, at, fmt.Sprintf("route %q has no inbound queue", r.ID), "")
		return
	}
	v := configspec.Resolve(ip.Value)
	if v.Kind == yaml.ScalarNode {
		// Shorthand: inbound: docs.fetch
		nodes.inbound = v
		r.Inbound.Queue, _ = l.queueName(v, ipath, ip.Key)
		return
	}
	if v.Kind != yaml.MappingNode {
		l.find("E005", ipath, v, "inbound must be a mapping {queue, concurrency, prefetch}, got "+configspec.Describe(v), "")
		return
	}
	spec := inboundSpec{}
	fs := configspec.DecodeInto(v, &spec, ipath)
	for _, f := range remap(fs, "E208", "inbound") {
		switch {
		case f.Path == qpath && f.Code != configspec.CodeDuplicateKey:
			// The queue is checked (and normalized) below.
		default:
			l.addAt(ip.Key, f)
		}
	}
	r.Inbound = Inbound(spec)
	r.Inbound.Queue = ""
	pairs, _ := configspec.Pairs(v, ipath)
	for _, p := range pairs {
		if p.Name == "queue" {
			nodes.inbound = configspec.Resolve(p.Value)
			if nodes.inbound == nil {
				nodes.inbound = p.Key
			}
			r.Inbound.Queue, _ = l.queueName(p.Value, qpath, p.Key)
			return
		}
	}
	l.find("E207", qpath, ip.Key, fmt.Sprintf("route %q has no inbound queue", r.ID), "")
}

func (l *loader) steps(got map[string]configspec.Pair, r *Route, path string) {
	ap, ok := got["adapters"]
	apath := configspec.Join(path, "adapters")
	if !ok {
		l.find("E103", apath, l.routes[r.ID].key, fmt.Sprintf("route %q has no adapters", r.ID), "")
		return
	}
	n := configspec.Resolve(ap.Value)
	switch {
	case configspec.IsNull(n):
		l.find("E103", apath, ap.Key, fmt.Sprintf("route %q has no adapters", r.ID), "")
		return
	case n.Kind != yaml.SequenceNode:
		l.find("E005", apath, n, "adapters must be a list, got "+configspec.Describe(n), "start each adapter with `- type: …`")
		return
	case len(n.Content) == 0:
		l.find("E103", apath, n, fmt.Sprintf("route %q has no adapters", r.ID), "")
		return
	}
	names := map[string]*yaml.Node{}
	for i, item := range n.Content {
		spath := configspec.Index(apath, i)
		st, nameAt := l.step(item, spath)
		if st.Name != "" {
			if first, dup := names[st.Name]; dup {
				l.find("E104", spath, nameAt,
					fmt.Sprintf("step name %q is already used at line %d of this route", st.Name, first.Line),
					fmt.Sprintf("give the step its own name: name: %s_%d", st.Name, i+1))
			} else {
				names[st.Name] = nameAt
			}
		}
		r.Adapters = append(r.Adapters, st)
	}
}

// step decodes one adapter entry; it returns the node naming the step (for
// duplicate-name findings).
func (l *loader) step(item *yaml.Node, path string) (Step, *yaml.Node) {
	var st Step
	n := configspec.Resolve(item)
	if n == nil {
		n = item
	}
	if n.Kind == yaml.ScalarNode && !configspec.IsNull(n) {
		// Shorthand: - noop
		st.Type, st.Name = n.Value, n.Value
		l.stepType(&st, n, nil, n, path)
		return st, n
	}
	if n.Kind != yaml.MappingNode {
		l.find("E005", path, n, "an adapter entry must be a mapping with type (and optional name, config, condition), got "+configspec.Describe(n), "")
		return st, n
	}
	pairs, dups := configspec.Pairs(n, path)
	l.add(dups...)
	got := map[string]configspec.Pair{}
	for _, p := range pairs {
		if !slices.Contains(stepKeys, p.Name) {
			l.unknownKey(p, path, stepKeys)
			continue
		}
		got[p.Name] = p
	}
	nameAt := n
	tp, ok := got["type"]
	tv := configspec.Resolve(tp.Value)
	switch {
	case !ok || configspec.IsNull(tv) || (tv.Kind == yaml.ScalarNode && strings.TrimSpace(tv.Value) == ""):
		l.find("E102", configspec.Join(path, "type"), n, "the adapter entry has no type", "")
	case tv.Kind != yaml.ScalarNode:
		l.find("E005", configspec.Join(path, "type"), tv, "type must be a string, got "+configspec.Describe(tv), "")
	default:
		st.Type = strings.TrimSpace(tv.Value)
		st.Name = st.Type
		nameAt = tv
	}
	if p, ok := got["name"]; ok {
		npath := configspec.Join(path, "name")
		if name := l.str(p, npath); name != "" {
			if !identRe.MatchString(name) {
				l.find("E105", npath, p.Value, fmt.Sprintf("step name %q is not a valid identifier", name), "")
			}
			st.Name = name
			nameAt = configspec.Resolve(p.Value)
		}
	}
	var cfg *yaml.Node
	if p, ok := got["config"]; ok {
		cfg = p.Value
	}
	if st.Type != "" {
		l.stepType(&st, tv, cfg, n, path)
	}
	if p, ok := got["condition"]; ok {
		c, fs := condition.Parse(p.Value, configspec.Join(path, "condition"))
		l.addAt(p.Key, fs...)
		st.Condition = c
	}
	return st, nameAt
}

// stepType checks the adapter type against the catalogue and decodes its
// config.
func (l *loader) stepType(st *Step, typeAt, cfg, entry *yaml.Node, path string) {
	cpath := configspec.Join(path, "config")
	if l.cat == nil {
		if !configspec.IsNull(cfg) {
			v, fs := configspec.Value(cfg, cpath)
			l.addAt(entry, fs...)
			st.Config = v
		}
		return
	}
	t, ok := l.cat.ConfigType(st.Type)
	if !ok {
		types := l.cat.Types()
		rem := "use a registered adapter type"
		if len(types) > 0 && len(types) <= 40 {
			rem += ": " + strings.Join(types, ", ")
		}
		l.find("E101", configspec.Join(path, "type"), typeAt,
			fmt.Sprintf("unknown adapter type %q%s", st.Type, configspec.DidYouMean(st.Type, types)), rem)
		return
	}
	at := entry
	if cfg != nil {
		at = cfg
	}
	v, fs := configspec.Decode(cfg, t, cpath)
	l.addAt(at, fs...)
	st.Config = v
}

func (l *loader) outbounds(got map[string]configspec.Pair, r *Route, nodes *routeNodes, path string) {
	op, ok := got["outbound"]
	if !ok {
		return
	}
	opath := configspec.Join(path, "outbound")
	n := configspec.Resolve(op.Value)
	if configspec.IsNull(n) {
		return
	}
	var entries []*yaml.Node
	var paths []string
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			entries = append(entries, item)
			paths = append(paths, configspec.Index(opath, i))
		}
	default:
		// Shorthands: outbound: docs.fetch / outbound: {queue: docs.fetch}
		entries, paths = []*yaml.Node{op.Value}, []string{opath}
	}
	seen := map[string]bool{}
	for i, item := range entries {
		o, at := l.outbound(item, paths[i])
		if at == nil {
			continue
		}
		if o.Queue != "" && seen[o.Queue] && o.Condition == nil {
			l.find("W203", paths[i], at, fmt.Sprintf("queue %q is listed more than once; every message is published to it once per entry", o.Queue), "")
		}
		seen[o.Queue] = true
		r.Outbound = append(r.Outbound, o)
		nodes.outbound = append(nodes.outbound, at)
	}
}

// outbound decodes one entry; at is where its queue was written (nil when
// the entry is unusable).
func (l *loader) outbound(item *yaml.Node, path string) (Outbound, *yaml.Node) {
	var o Outbound
	n := configspec.Resolve(item)
	if n == nil {
		return o, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if configspec.IsNull(n) {
			return o, nil
		}
		name, ok := l.queueName(n, path, n)
		if !ok {
			return o, nil
		}
		o.Queue = name
		return o, n
	case yaml.MappingNode:
	default:
		l.find("E005", path, n, "an outbound entry must be a queue name or a mapping {queue, condition}, got "+configspec.Describe(n), "")
		return o, nil
	}
	pairs, dups := configspec.Pairs(n, path)
	l.add(dups...)
	var at *yaml.Node
	found := false
	for _, p := range pairs {
		switch p.Name {
		case "queue":
			found = true
			name, ok := l.queueName(p.Value, configspec.Join(path, "queue"), p.Key)
			if ok {
				o.Queue = name
				at = configspec.Resolve(p.Value)
			}
		case "condition":
			c, fs := condition.Parse(p.Value, configspec.Join(path, "condition"))
			l.addAt(p.Key, fs...)
			o.Condition = c
		default:
			l.unknownKey(p, path, outboundKeys)
		}
	}
	if !found {
		l.find("E207", configspec.Join(path, "queue"), n, "the outbound entry has no queue", "add queue: <the inbound queue of the next route>")
	}
	return o, at
}

func (l *loader) initMessage(top map[string]configspec.Pair, p *Pipeline) {
	ip, ok := top["init_message"]
	if !ok || configspec.IsNull(ip.Value) {
		at := l.root
		if ok {
			at = ip.Key
		}
		l.find("W101", "init_message", at, "there is no init_message, so starting an execution publishes nothing", "")
		return
	}
	n := l.mapping(ip, "init_message", "write init_message: {route: <route key>, payload: {...}}")
	if n == nil {
		return
	}
	pairs, dups := configspec.Pairs(n, "init_message")
	l.add(dups...)
	im := &InitMessage{Payload: map[string]any{}}
	var routeAt *yaml.Node
	for _, q := range pairs {
		switch q.Name {
		case "route":
			im.Route = l.str(q, "init_message.route")
			routeAt = configspec.Resolve(q.Value)
			if configspec.IsNull(routeAt) {
				routeAt = q.Key
			}
		case "payload":
			pn := l.mapping(q, "init_message.payload", "write payload: {key: value}")
			if pn == nil {
				continue
			}
			v, fs := configspec.Value(pn, "init_message.payload")
			l.add(fs...)
			if m, ok := v.(map[string]any); ok {
				im.Payload = m
			}
		default:
			l.unknownKey(q, "init_message", initKeys)
		}
	}
	p.InitMessage = im
	switch {
	case im.Route == "" && routeAt == nil:
		l.find("E201", "init_message.route", ip.Key, "init_message has no route", "")
	case im.Route == "":
		l.find("E201", "init_message.route", routeAt, "init_message.route is empty", "")
	case p.Routes[im.Route] == nil && len(p.Routes) > 0:
		l.find("E201", "init_message.route", routeAt,
			fmt.Sprintf("init_message.route %q is not a route of this pipeline%s", im.Route, configspec.DidYouMean(im.Route, p.RouteOrder)),
			"use one of the route keys: "+strings.Join(p.RouteOrder, ", "))
	}
}
