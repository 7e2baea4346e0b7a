package pipelinetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/configspec"
	"github.com/factflow/factflow/pipeline"
)

// ErrNoTests is returned (wrapped) when a path holds no pipeline test.
var ErrNoTests = errors.New("no pipeline tests")

var testFileKeys = []string{"pipeline", "description", "tests"}

// IsTestFile reports whether a file name is a pipeline test file:
// *_test.yaml or *_test.yml.
func IsTestFile(name string) bool {
	ext := filepath.Ext(name)
	return (ext == ".yaml" || ext == ".yml") && strings.HasSuffix(strings.TrimSuffix(name, ext), "_test")
}

// RunPath runs the tests of one file — a *_test.yaml file or a pipeline
// with a tests: section — or of every such file under a directory
// (recursively, in lexical order; pipelines without tests are passed
// over). It fails only when the path cannot be read or holds no test;
// everything else is in the results.
func RunPath(ctx context.Context, path string, opts Options) ([]FileResult, error) {
	if opts.Registry == nil {
		return nil, errors.New("pipeline tests need an adapter registry")
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("running pipeline tests: %w", err)
	}
	if !info.IsDir() {
		r, err := runFile(ctx, path, true, opts)
		if err != nil {
			return nil, err
		}
		return []FileResult{*r}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (IsTestFile(d.Name()) || pipeline.IsPipelineFile(d.Name())) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing pipeline tests in %s: %w", path, err)
	}
	slices.Sort(files)
	var out []FileResult
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("running pipeline tests: %w", context.Cause(ctx))
		}
		r, err := runFile(ctx, f, false, opts)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w under %s: write a *_test.yaml file or a tests: section in a pipeline", ErrNoTests, path)
	}
	return out, nil
}

// runFile runs one file's tests. A pipeline without tests yields nil, or
// ErrNoTests when it was named explicitly.
func runFile(ctx context.Context, file string, explicit bool, opts Options) (*FileResult, error) {
	if IsTestFile(filepath.Base(file)) {
		return runTestFile(ctx, file, opts)
	}
	p, report, err := pipeline.LoadFile(file, opts.Registry)
	if err != nil {
		return nil, err
	}
	if p == nil || p.Tests == nil {
		if !explicit {
			return nil, nil
		}
		if p == nil {
			res := &FileResult{File: file, Pipeline: file, Cases: []CaseResult{}}
			res.Findings = pipelineFindings(file, report)
			return res, nil
		}
		return nil, fmt.Errorf("%w in %s: it has no tests: section (test files are named *_test.yaml)", ErrNoTests, file)
	}
	if !report.Valid() {
		return &FileResult{File: file, Pipeline: file, Cases: []CaseResult{}, Findings: pipelineFindings(file, report)}, nil
	}
	s := &suite{file: file, pipeFile: file, pipeline: p, tests: p.Tests}
	r := s.run(ctx, opts)
	return &r, nil
}

func pipelineFindings(file string, report *pipeline.Report) []Finding {
	var out []Finding
	for _, f := range report.Errors() {
		out = append(out, Finding{File: file, Line: f.Line, Column: f.Column, Code: CodeBadPipeline,
			Message: fmt.Sprintf("the pipeline is invalid: %s %s: %s", f.Code, f.Path, f.Message)})
	}
	if len(out) == 0 {
		out = append(out, Finding{File: file, Code: CodeBadPipeline, Message: "the pipeline cannot be loaded"})
	}
	return out
}

func runTestFile(ctx context.Context, file string, opts Options) (*FileResult, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading pipeline tests %s: %w", file, err)
	}
	res := &FileResult{File: file, Cases: []CaseResult{}}
	bad := func(n *yaml.Node, msg string) *FileResult {
		res.Findings = append(res.Findings, at(file, n, CodeBadTest, "", msg))
		return res
	}
	root, perr := parseDoc(data)
	if perr != nil {
		return bad(nil, perr.Error()), nil
	}
	if fs := configspec.CheckNode(root, ""); len(fs) > 0 {
		return bad(root, fs[0].Message), nil
	}
	p := &parser{file: file}
	top := p.pairs(root, "the test file", testFileKeys)
	if top == nil {
		res.Findings = p.findings
		return res, nil
	}
	pipeFile, err := testedPipeline(file, top, p)
	res.Findings = append([]Finding(nil), p.findings...)
	if err != nil {
		res.Findings = append(res.Findings, at(file, root, CodeBadPipeline, "", err.Error()))
		return res, nil
	}
	res.Pipeline = pipeFile
	tests, ok := top["tests"]
	if !ok {
		return bad(root, "the test file has no tests: list"), nil
	}
	if len(res.Findings) > 0 {
		return res, nil
	}
	pl, report, err := pipeline.LoadFile(pipeFile, opts.Registry)
	if err != nil {
		res.Findings = append(res.Findings, at(file, root, CodeBadPipeline, "", err.Error()))
		return res, nil
	}
	if pl == nil || !report.Valid() {
		res.Findings = append(res.Findings, pipelineFindings(pipeFile, report)...)
		return res, nil
	}
	s := &suite{file: file, pipeFile: pipeFile, pipeline: pl, tests: tests.Value}
	r := s.run(ctx, opts)
	r.Findings = append(res.Findings, r.Findings...)
	return &r, nil
}

// testedPipeline finds the pipeline a test file tests: its pipeline: key
// (relative to the test file), else <name>.yaml or .yml beside it or, for
// a tests/ folder, in the folder above.
func testedPipeline(file string, top map[string]configspec.Pair, p *parser) (string, error) {
	dir := filepath.Dir(file)
	if v, ok := top["pipeline"]; ok {
		name := p.str(v.Value, "pipeline")
		if name == "" {
			return "", errors.New("pipeline: names no file")
		}
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, filepath.FromSlash(name))
		}
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("the pipeline under test: %w", err)
		}
		return name, nil
	}
	base := filepath.Base(file)
	stem := strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), "_test")
	var tried []string
	for _, d := range []string{dir, filepath.Dir(dir)} {
		for _, ext := range []string{".yaml", ".yml"} {
			cand := filepath.Join(d, stem+ext)
			if st, err := os.Stat(cand); err == nil && !st.IsDir() {
				return cand, nil
			}
			tried = append(tried, cand)
		}
	}
	return "", fmt.Errorf("no pipeline for %s (looked for %s); name it with pipeline: <file>", base, strings.Join(tried, ", "))
}

// parseDoc reads exactly one YAML document whose root is a mapping.
func parseDoc(data []byte) (root *yaml.Node, err error) {
	defer func() {
		if v := recover(); v != nil {
			root, err = nil, fmt.Errorf("the YAML parser failed: %v", v)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the test file is empty")
		}
		return nil, fmt.Errorf("YAML syntax error: %w", err)
	}
	root = configspec.Resolve(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, errors.New("a test file must be a mapping with a tests: list")
	}
	return root, nil
}
