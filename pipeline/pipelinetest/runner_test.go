package pipelinetest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/pipeline/pipelinetest"
)

type setConfig struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

type skipConfig struct {
	Item int `json:"item"`
}

// registry is the built-in adapters plus small adapters whose behaviour
// the tests in testdata rely on.
func registry(t *testing.T) *adapters.Registry {
	t.Helper()
	r := builtin.Registry()
	r.MustRegister(
		adapters.Define("split", "test", "emit one message per items entry",
			func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
				return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
					items, _ := in.Payload["items"].([]any)
					var out []adapters.Payload
					for _, it := range items {
						m := maps.Clone(in.Payload)
						delete(m, "items")
						m["item"] = it
						out = append(out, m)
					}
					return adapters.Emit(out...), nil
				}), nil
			}),
		adapters.Define("set", "test", "set a field",
			func(cfg setConfig, _ adapters.Deps) (adapters.Adapter, error) {
				return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
					in.Payload[cfg.Field] = cfg.Value
					return adapters.Pass(in.Payload), nil
				}), nil
			}),
		adapters.Define("skip_item", "test", "skip one item",
			func(cfg skipConfig, _ adapters.Deps) (adapters.Adapter, error) {
				return adapters.Func(func(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
					if n, _ := in.Payload["item"].(float64); int(n) == cfg.Item {
						return nil, adapters.Skip(fmt.Sprintf("item %d is skipped", cfg.Item))
					}
					return adapters.Pass(in.Payload), nil
				}), nil
			}),
		adapters.Define("coded", "test", "fail with a code",
			func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
				return adapters.Func(func(context.Context, *adapters.Input) (*adapters.Result, error) {
					return nil, adapters.Coded("TEST_CODED", "it is a test", errors.New("coded failure"))
				}), nil
			}),
		adapters.Define("boom", "test", "panic",
			func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
				return adapters.Func(func(context.Context, *adapters.Input) (*adapters.Result, error) {
					panic("boom")
				}), nil
			}),
		adapters.Define("refuse", "test", "refuse to be built",
			func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
				return nil, errors.New("not today")
			}),
		adapters.Define("block", "test", "wait until cancelled",
			func(adapters.NoConfig, adapters.Deps) (adapters.Adapter, error) {
				return adapters.Func(func(ctx context.Context, _ *adapters.Input) (*adapters.Result, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}), nil
			}),
		adapters.Define("grow", "test", "show what the adapter sees",
			func(_ adapters.NoConfig, deps adapters.Deps) (adapters.Adapter, error) {
				return adapters.Func(func(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
					n, _ := in.Payload["size"].(float64)
					in.Payload["filler"] = strings.Repeat("x", int(n))
					in.Payload["attempt"] = in.Meta.Attempt
					if dir, ok := in.Payload["dir"].(string); ok {
						b, err := os.ReadFile(filepath.Join(dir, "a", "b.txt"))
						if err != nil {
							return nil, err
						}
						in.Payload["file"] = string(b)
					}
					if u, ok := in.Payload["fetch"].(string); ok {
						req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
						if err != nil {
							return nil, err
						}
						resp, err := deps.HTTP.Do(req)
						if err != nil {
							return nil, err
						}
						resp.Body.Close()
					}
					return adapters.Pass(in.Payload), nil
				}), nil
			}),
	)
	return r
}

func run(t *testing.T, path string, opts pipelinetest.Options) []pipelinetest.FileResult {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = registry(t)
	}
	res, err := pipelinetest.RunPath(t.Context(), path, opts)
	require.NoError(t, err)
	return res
}

// byName indexes a file's cases.
func byName(r pipelinetest.FileResult) map[string]pipelinetest.CaseResult {
	m := map[string]pipelinetest.CaseResult{}
	for _, c := range r.Cases {
		if _, dup := m[c.Name]; !dup {
			m[c.Name] = c
		}
	}
	return m
}

func TestEngineSemantics(t *testing.T) {
	res := run(t, "testdata/engine.yaml", pipelinetest.Options{})
	require.Len(t, res, 1)
	r := res[0]
	require.Empty(t, r.Findings)
	require.Len(t, r.Cases, 7)
	for _, c := range r.Cases {
		require.Equal(t, pipelinetest.StatusPassed, c.Status, "%s: %v", c.Name, c.Findings)
	}
	fan := byName(r)["fan-out runs the rest of the chain per message and routes by condition"]
	require.Equal(t, []string{"skip_item: item 3 is skipped"}, fan.Skips)
	require.Equal(t, "fan", fan.Route)
	require.Equal(t, 40, fan.Line)
}

// TestFailuresAreReported holds every failing variant to its message and
// position: a test that cannot fail would show up here as passing.
func TestFailuresAreReported(t *testing.T) {
	res := run(t, "testdata/failing_test.yaml", pipelinetest.Options{})
	require.Len(t, res, 1)
	r := res[0]
	require.Empty(t, r.Findings)
	require.Equal(t, "testdata/engine.yaml", r.Pipeline)
	cases := byName(r)
	require.Len(t, cases, 11)
	want := map[string][]string{
		"wrong count":                         {"8:14: T001", "expected 5 output message(s), got 3"},
		"wrong field":                         {"16:21: T001", "output #1: field item differs", `- 7`, `+ 1`},
		"wrong queue and missing output":      {`23:11: T001`, `output #1 went to queue "t.all", want "t.even"`, "24:11: T001", "expected output #2, but the route emitted only 1 message(s)"},
		"payload differs":                     {"31:11: T001", "output #1: payload differs", "-     3", "+     2"},
		"unexpected failure":                  {"33:5: T001", "the chain failed: permanent FAIL_INDUCED in step fail: FAIL_INDUCED: told to fail"},
		"expected failure did not happen":     {"42:14: T001", "expected the chain to fail, but it succeeded"},
		"wrong error code":                    {"48:14: T001", `code: want "OTHER", got "TEST_CODED"`, `permanent: want true, got class "retryable"`},
		"condition not met":                   {"56:13: T001", "output #1 (every) does not match the condition"},
		"storage object missing":              {"63:11: T001", "storage has no object nowhere.md"},
		"expected skip":                       {"69:16: T001", "expected the message to be skipped"},
		"fetching outside the fixtures fails": {"T001", "pipeline tests run offline: 192.0.2.1:80 is not the test's fixture server"},
	}
	for name, parts := range want {
		c, ok := cases[name]
		require.True(t, ok, name)
		require.Equal(t, pipelinetest.StatusFailed, c.Status, name)
		text := findingsText(c.Findings)
		for _, p := range parts {
			require.Contains(t, text, p, "%s:\n%s", name, text)
		}
	}
}

func findingsText(fs []pipelinetest.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n" + f.Diff + "\n")
	}
	return b.String()
}

func TestBadDefinitions(t *testing.T) {
	res := run(t, "testdata/bad_test.yaml", pipelinetest.Options{})
	require.Len(t, res, 1)
	r := res[0]
	require.True(t, r.Invalid())
	text := findingsText(r.AllFindings())
	for _, p := range []string{
		`4:5: T002 test "unknown route": route "fann" is not in engine.yaml; did you mean "fan"?`,
		"8:5: T003: tests[1] has no name",
		`11:5: T003 test "no expect": the test has no expect section`,
		`16:5: T003 test "unknown keys": unknown key "inputs"`,
		`18:14: T003 test "unknown keys": this test's expect count must be a whole number`,
		`unknown key "outputz"`,
		`"../escape.txt" must be a relative path that stays inside ${TESTDIR}`,
		`fixture paths start with /`,
		`a test expecting an error cannot also expect outputs`,
		`T003 test "bad condition"`,
		`42:5: T003 test "fine": a test named "fine" is already defined at line 38`,
	} {
		require.Contains(t, text, p, text)
	}
	// The well-formed case still ran (and failed: even emits one message
	// but the first "fine" passes).
	statuses := map[string]int{}
	for _, c := range r.Cases {
		statuses[c.Status]++
	}
	require.Equal(t, map[string]int{pipelinetest.StatusPassed: 1, pipelinetest.StatusInvalid: 7}, statuses)
}

func TestBrokenPipeline(t *testing.T) {
	res := run(t, "testdata/broken_test.yaml", pipelinetest.Options{})
	require.Len(t, res, 1)
	require.Empty(t, res[0].Cases)
	require.Len(t, res[0].Findings, 1)
	f := res[0].Findings[0]
	require.Equal(t, pipelinetest.CodeBadPipeline, f.Code)
	require.Equal(t, "testdata/broken.yaml", f.File)
	require.Contains(t, f.Message, "no_such_adapter")
}

func TestRunFilterAndDirectory(t *testing.T) {
	res := run(t, "testdata", pipelinetest.Options{Run: regexp.MustCompile("^wrong")})
	files := map[string]int{}
	for _, r := range res {
		files[filepath.Base(r.File)] = len(r.Cases)
	}
	// engine.yaml's tests: section and every *_test.yaml are found;
	// broken.yaml (no tests) is passed over.
	require.Equal(t, map[string]int{"engine.yaml": 0, "failing_test.yaml": 4, "bad_test.yaml": 0, "broken_test.yaml": 0}, files)
}

func TestNoTests(t *testing.T) {
	_, err := pipelinetest.RunPath(t.Context(), "testdata/broken.yaml", pipelinetest.Options{Registry: registry(t)})
	require.ErrorIs(t, err, pipelinetest.ErrNoTests)
	_, err = pipelinetest.RunPath(t.Context(), t.TempDir(), pipelinetest.Options{Registry: registry(t)})
	require.ErrorIs(t, err, pipelinetest.ErrNoTests)
	_, err = pipelinetest.RunPath(t.Context(), "testdata/missing", pipelinetest.Options{Registry: registry(t)})
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestShippedTestsCatchRegressions runs the shipped docs-ingest tests
// against a copy of the pipeline whose fetch route no longer sends HTML
// to conversion: the fetch test must fail, saying why.
func TestShippedTestsCatchRegressions(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(shippedDir, "docs-ingest.yaml"))
	require.NoError(t, err)
	broken := strings.Replace(string(src), `value: "^(text/html|`, `value: "^(text/x-nothing|`, 1)
	require.NotEqual(t, string(src), broken)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docs-ingest.yaml"), []byte(broken), 0o644))
	tests, err := os.ReadFile(filepath.Join(shippedDir, "tests", "docs-ingest_test.yaml"))
	require.NoError(t, err)
	// Without its pipeline: key the test file finds the pipeline beside it.
	testFile := filepath.Join(dir, "docs-ingest_test.yaml")
	require.NoError(t, os.WriteFile(testFile, []byte(strings.Replace(string(tests), "pipeline: ../docs-ingest.yaml\n", "", 1)), 0o644))

	res, err := pipelinetest.RunPath(t.Context(), testFile, pipelinetest.Options{Registry: builtin.Registry()})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.Equal(t, filepath.Join(dir, "docs-ingest.yaml"), res[0].Pipeline)
	var failed []string
	for _, c := range res[0].Cases {
		if c.Status != pipelinetest.StatusPassed {
			failed = append(failed, c.Name)
			require.Contains(t, findingsText(c.Findings), "expected 1 output message(s), got 0")
		}
	}
	require.Equal(t, []string{"an HTML page is fetched, stored and sent to conversion"}, failed)
}

const blockingPipeline = `version: "1.0"
routes:
  slow:
    inbound: { queue: t.slow }
    adapters: [ { type: block } ]
tests:
  - name: never ends
    route: slow
    expect: {}
`

// TestCaseTimeout: an adapter that never returns fails its test once the
// case timeout passes, and the run goes on.
func TestCaseTimeout(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "slow.yaml")
	require.NoError(t, os.WriteFile(file, []byte(blockingPipeline), 0o644))
	res := run(t, file, pipelinetest.Options{CaseTimeout: 10 * time.Millisecond})
	c := res[0].Cases[0]
	require.Equal(t, pipelinetest.StatusFailed, c.Status)
	require.Equal(t, "the test did not finish within 10ms", c.Findings[0].Message)
	require.Equal(t, 7, c.Findings[0].Line)
}

// TestInterrupted: cancelling the run's context ends a blocked test as
// not run (T005), not as a failure of the pipeline.
func TestInterrupted(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "slow.yaml")
	require.NoError(t, os.WriteFile(file, []byte(blockingPipeline), 0o644))
	ctx, cancel := context.WithCancel(t.Context())
	reg := registry(t)
	done := make(chan []pipelinetest.FileResult)
	go func() {
		res, _ := pipelinetest.RunPath(ctx, file, pipelinetest.Options{Registry: reg})
		done <- res
	}()
	cancel()
	res := <-done
	c := res[0].Cases[0]
	require.Equal(t, pipelinetest.StatusInvalid, c.Status)
	require.Equal(t, pipelinetest.CodeSetup, c.Findings[0].Code)
	require.Contains(t, c.Findings[0].Message, "interrupted")
}

// TestSetupFailure: an adapter that cannot be built makes its test T005.
func TestSetupFailure(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "refuse.yaml")
	require.NoError(t, os.WriteFile(file, []byte(strings.ReplaceAll(blockingPipeline, "type: block", "type: refuse")), 0o644))
	res := run(t, file, pipelinetest.Options{})
	c := res[0].Cases[0]
	require.Equal(t, pipelinetest.StatusInvalid, c.Status)
	require.Equal(t, pipelinetest.CodeSetup, c.Findings[0].Code)
	require.Contains(t, c.Findings[0].Message, "route slow, adapter 0 (refuse): building adapter refuse: not today")
}
