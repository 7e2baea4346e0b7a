package pipelinetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/pipeline/condition"
	"github.com/factflow/factflow/storage"
	fsstore "github.com/factflow/factflow/storage/fs"
)

// Fixed message identity of every test: adapters that put ids into
// storage keys produce the same keys on every run.
const (
	TestExecutionID   = "pipeline-test"
	TestCorrelationID = "pipeline-test-message"
)

// DefaultCaseTimeout bounds one case whose route sets no timeout.
const DefaultCaseTimeout = time.Minute

// Options tune a test run.
type Options struct {
	// Registry builds the adapters; required.
	Registry *adapters.Registry
	// Run, when set, runs only the cases whose name it matches.
	Run *regexp.Regexp
	// Logger receives the adapters' logs (discarded when nil).
	Logger *slog.Logger
	// CaseTimeout bounds each case (DefaultCaseTimeout when 0); a route's
	// own timeout, when shorter, still applies to its chain.
	CaseTimeout time.Duration
}

// suite is the tests of one file against one loaded pipeline.
type suite struct {
	file     string
	pipeFile string
	pipeline *pipeline.Pipeline
	tests    *yaml.Node
}

// placeholders stand in for run-time variables when a case is checked
// before it runs.
var placeholders = variables("http://127.0.0.1:1", "/pipeline-test")

// variables replaces the ${…} names a test may use in its strings.
func variables(httpURL, testDir string) *strings.Replacer {
	return strings.NewReplacer("${HTTP}", httpURL, "${TESTDIR}", testDir,
		"${EXECUTION_ID}", TestExecutionID, "${MESSAGE_ID}", TestCorrelationID)
}

func (s *suite) run(ctx context.Context, opts Options) FileResult {
	res := FileResult{File: s.file, Pipeline: s.pipeFile, Cases: []CaseResult{}}
	list := configspec.Resolve(s.tests)
	if fs := configspec.CheckNode(s.tests, "tests"); len(fs) > 0 {
		res.Findings = append(res.Findings, at(s.file, list, CodeBadTest, "", fs[0].Message))
		return res
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		res.Findings = append(res.Findings, at(s.file, list, CodeBadTest, "",
			"tests must be a list of test cases, got "+configspec.Describe(list)))
		return res
	}
	if len(list.Content) == 0 {
		res.Findings = append(res.Findings, at(s.file, list, CodeBadTest, "", "tests is empty: write at least one test case"))
		return res
	}
	seen := map[string]*yaml.Node{}
	for i, n := range list.Content {
		p := &parser{file: s.file}
		c := p.parseCase(substitute(n, placeholders), i)
		cr := CaseResult{Outputs: []Output{}}
		node := configspec.Resolve(n)
		if node == nil {
			node = list
		}
		cr.Line, cr.Column = node.Line, node.Column
		if c != nil {
			cr.Name, cr.Route = c.Name, c.Route
		}
		if opts.Run != nil && !opts.Run.MatchString(cr.Name) {
			continue
		}
		if first, dup := seen[cr.Name]; dup && cr.Name != "" {
			p.bad(node, "a test named %q is already defined at line %d: names must be unique", cr.Name, first.Line)
		}
		seen[cr.Name] = node
		if c != nil && c.Route != "" && s.pipeline.Routes[c.Route] == nil {
			p.findings = append(p.findings, at(s.file, node, CodeUnknownRoute, cr.Name,
				fmt.Sprintf("route %q is not in %s%s", c.Route, filepath.Base(s.pipeFile),
					configspec.DidYouMean(c.Route, s.pipeline.RouteOrder))))
		}
		if len(p.findings) > 0 {
			for i := range p.findings {
				p.findings[i].Test = cr.Name
			}
			cr.Status, cr.Findings = StatusInvalid, p.findings
			res.Cases = append(res.Cases, cr)
			continue
		}
		started := time.Now()
		s.runCase(ctx, opts, n, &cr)
		cr.Duration = time.Since(started)
		res.Cases = append(res.Cases, cr)
	}
	return res
}

// runCase runs one well-formed case and fills cr.
func (s *suite) runCase(ctx context.Context, opts Options, n *yaml.Node, cr *CaseResult) {
	setup := func(err error) {
		cr.Status = StatusInvalid
		cr.Findings = append(cr.Findings, Finding{File: s.file, Line: cr.Line, Column: cr.Column,
			Code: CodeSetup, Test: cr.Name, Message: err.Error()})
	}
	tmp, err := os.MkdirTemp("", "factflow-pipeline-test-*")
	if err != nil {
		setup(fmt.Errorf("creating the test directory: %w", err))
		return
	}
	defer os.RemoveAll(tmp)
	testDir := filepath.Join(tmp, "files")
	if err := os.MkdirAll(testDir, 0o755); err != nil {
		setup(fmt.Errorf("creating the test directory: %w", err))
		return
	}

	fx := &fixtureServer{}
	srv := httptest.NewServer(fx)
	defer srv.Close()

	vars := variables(srv.URL, testDir)
	p := &parser{file: s.file}
	c := p.parseCase(substitute(n, vars), 0)
	if c == nil || len(p.findings) > 0 {
		// The placeholders parsed, the real values did not (a variable
		// turned a value into something else): still a definition problem.
		cr.Status = StatusInvalid
		for _, f := range p.findings {
			f.Test = cr.Name
			cr.Findings = append(cr.Findings, f)
		}
		return
	}
	fx.set(c.HTTP)

	for name, content := range c.Files {
		dst := filepath.Join(testDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.WriteFile(dst, []byte(content), 0o644)
		}
		if err != nil {
			setup(fmt.Errorf("writing fixture file %s: %w", name, err))
			return
		}
	}
	store, err := fsstore.New(filepath.Join(tmp, "storage"), fsstore.WithSync(false))
	if err != nil {
		setup(fmt.Errorf("opening the test storage: %w", err))
		return
	}
	defer store.Close()
	for key, obj := range c.Storage {
		meta := storage.Metadata{}
		if obj.ContentType != "" {
			meta[storage.MetaContentType] = obj.ContentType
		}
		if _, err := store.Put(ctx, key, strings.NewReader(obj.Content), meta); err != nil {
			setup(fmt.Errorf("seeding storage key %s: %w", key, err))
			return
		}
	}

	client := offlineClient(srv.Listener.Addr().String())
	defer client.CloseIdleConnections()
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	deps := adapters.Deps{
		Storage:             store,
		HTTP:                client,
		AllowPrivateTargets: true,
		Logger:              logger.With("test", c.Name),
		DataDir:             filepath.Join(tmp, "data"),
		UserAgent:           "Factflow-pipeline-test/1.0",
	}
	route := s.pipeline.Routes[c.Route]
	ch, err := buildChain(opts.Registry, route, deps)
	if err != nil {
		setup(err)
		return
	}
	defer ch.close(context.WithoutCancel(ctx))

	timeout := opts.CaseTimeout
	if timeout <= 0 {
		timeout = DefaultCaseTimeout
	}
	caseCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	run := ch.run(caseCtx, c.Input, s.pipeline.Execution.MaxPayloadBytes)
	cr.Outputs, cr.Error, cr.Skips = run.outputs, run.err, run.skips
	if cr.Outputs == nil {
		cr.Outputs = []Output{}
	}
	if ctx.Err() != nil {
		setup(fmt.Errorf("interrupted: %w", context.Cause(ctx)))
		return
	}
	if caseCtx.Err() != nil {
		cr.Status = StatusFailed
		cr.Findings = append(cr.Findings, Finding{File: s.file, Line: cr.Line, Column: cr.Column, Code: CodeFailed, Test: cr.Name,
			Message: fmt.Sprintf("the test did not finish within %s", timeout)})
		return
	}

	ck := &checker{file: s.file, test: c.Name, caseNode: c.node}
	ck.check(caseCtx, c, run, store, fx.requests())
	cr.Findings = ck.findings
	cr.Status = StatusPassed
	if len(ck.findings) > 0 {
		cr.Status = StatusFailed
	}
}

// offlineClient reaches only the fixture server: a test that fetches any
// other host fails instead of touching the network.
func offlineClient(allowed string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != allowed {
				return nil, fmt.Errorf("pipeline tests run offline: %s is not the test's fixture server; serve the content with an http: fixture and address it as ${HTTP}/path", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// fixtureServer serves a case's http: fixtures and records the requests.
type fixtureServer struct {
	mu       sync.Mutex
	fixtures map[string]Fixture
	seen     []string
}

func (f *fixtureServer) set(m map[string]Fixture) {
	f.mu.Lock()
	f.fixtures = m
	f.mu.Unlock()
}

func (f *fixtureServer) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func (f *fixtureServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.URL.RequestURI())
	fx, ok := f.fixtures[r.URL.RequestURI()]
	if !ok {
		fx, ok = f.fixtures[r.URL.Path]
	}
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	for k, v := range fx.Headers {
		w.Header().Set(k, v)
	}
	if fx.ContentType != "" {
		w.Header().Set("Content-Type", fx.ContentType)
	}
	w.WriteHeader(fx.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(fx.Body))
	}
}

// step is one built adapter of the chain under test.
type step struct {
	index   int
	typ     string
	name    string
	cond    *condition.Condition
	adapter adapters.Adapter
}

type chain struct {
	route *pipeline.Route
	steps []step
}

// buildChain builds the route's adapters as the engine does for an
// execution: from the registry, with the step's decoded config.
func buildChain(reg *adapters.Registry, r *pipeline.Route, deps adapters.Deps) (*chain, error) {
	ch := &chain{route: r}
	for i, s := range r.Adapters {
		a, err := reg.Build(s.Type, s.Config, deps)
		if err != nil {
			ch.close(context.Background())
			return nil, fmt.Errorf("route %s, adapter %d (%s): %w", r.ID, i, s.Type, err)
		}
		name := s.Name
		if name == "" {
			name = s.Type
		}
		ch.steps = append(ch.steps, step{index: i, typ: s.Type, name: name, cond: s.Condition, adapter: a})
	}
	return ch, nil
}

func (ch *chain) close(ctx context.Context) {
	for _, s := range ch.steps {
		if c, ok := s.adapter.(adapters.Closer); ok {
			_ = c.Close(ctx) // a test's adapters hold nothing that outlives the temp dir
		}
	}
}

// runResult is what one message did.
type runResult struct {
	outputs []Output
	err     *ChainError
	skips   []string
}

// run mirrors the engine's route processor for one delivery: the chain
// (orchestrator routeProcessor.runChain), then the encoding and outbound
// routing of publish. Keep the two in step.
func (ch *chain) run(ctx context.Context, in Input, maxPayload int) runResult {
	var res runResult
	if ch.route.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ch.route.Timeout)
		defer cancel()
	}
	attempt := in.Attempt
	if attempt == 0 {
		attempt = 1
	}
	// The input crosses the broker as JSON in the engine; the parser
	// normalised it the same way, and a copy keeps the case reusable.
	payload := adapters.DeepCopy(in.Payload).(map[string]any)

	var finals []adapters.Payload
	var runFrom func(i int, p adapters.Payload) *ChainError
	runFrom = func(i int, p adapters.Payload) *ChainError {
		for ; i < len(ch.steps); i++ {
			s := &ch.steps[i]
			if s.cond != nil && !s.cond.Match(p) {
				continue
			}
			r, err := safeProcess(ctx, s.adapter, &adapters.Input{Payload: p, Meta: adapters.Meta{
				ExecutionID:   TestExecutionID,
				Route:         ch.route.ID,
				CorrelationID: TestCorrelationID,
				ReplayBatchID: in.ReplayBatchID,
				Attempt:       attempt,
				AdapterIndex:  s.index,
				Stage:         s.name,
			}})
			if err != nil {
				class := adapters.Classify(err)
				if class == adapters.ClassSkip {
					var se *adapters.SkipError
					reason := err.Error()
					if errors.As(err, &se) {
						reason = se.Reason
					}
					res.skips = append(res.skips, s.name+": "+reason)
					return nil
				}
				return chainError(s.name, err)
			}
			if r == nil || (r.Message == nil && len(r.Emitted) == 0) {
				return nil
			}
			if len(r.Emitted) > 0 {
				if i == len(ch.steps)-1 {
					finals = append(finals, r.Emitted...)
					return nil
				}
				for _, e := range r.Emitted {
					if f := runFrom(i+1, e); f != nil {
						return f
					}
				}
				return nil
			}
			p = r.Message
		}
		if p != nil {
			finals = append(finals, p)
		}
		return nil
	}
	if f := runFrom(0, payload); f != nil {
		res.err = f
		return res
	}
	outs, err := route(ch.route.Outbound, finals, maxPayload)
	if err != nil {
		res.err = chainError("", err)
		return res
	}
	res.outputs = outs
	return res
}

// route encodes the chain's final messages as the engine publishes them:
// each to every outbound queue whose condition it matches, queue by queue
// in the order the queues are first named.
func route(outbound []pipeline.Outbound, finals []adapters.Payload, limit int) ([]Output, error) {
	decoded := make([]map[string]any, len(finals))
	for i, f := range finals {
		m, err := roundTrip(f, limit)
		if err != nil {
			return nil, err
		}
		decoded[i] = m
	}
	if len(outbound) == 0 {
		out := make([]Output, len(decoded))
		for i, m := range decoded {
			out[i] = Output{Payload: m}
		}
		return out, nil
	}
	byQueue := map[string][]Output{}
	for i, f := range finals {
		for _, ob := range outbound {
			if ob.Condition != nil && !ob.Condition.Match(f) {
				continue
			}
			byQueue[ob.Queue] = append(byQueue[ob.Queue], Output{Queue: ob.Queue, Payload: decoded[i]})
		}
	}
	var out []Output
	for _, ob := range outbound {
		out = append(out, byQueue[ob.Queue]...)
		delete(byQueue, ob.Queue)
	}
	return out, nil
}

func chainError(stepName string, err error) *ChainError {
	ce := &ChainError{Step: stepName, Class: string(adapters.Classify(err)), Message: err.Error()}
	var coded *adapters.CodedError
	if errors.As(err, &coded) {
		ce.Code = coded.Code
	}
	return ce
}

// safeProcess turns an adapter panic into a permanent error, as the engine
// does.
func safeProcess(ctx context.Context, a adapters.Adapter, in *adapters.Input) (res *adapters.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res = nil
			err = adapters.PermanentCoded("ADAPTER_PANIC",
				"this is a bug in the adapter; the message is dead-lettered with its payload",
				fmt.Errorf("adapter panicked: %v", r))
		}
	}()
	return a.Process(ctx, in)
}
