package pipelinetest

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Finding is one test problem, located in the file that defines it.
type Finding struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Code    string `json:"code"`
	Test    string `json:"test,omitempty"`
	Message string `json:"message"`
	// Diff shows expected against actual for failed expectations.
	Diff string `json:"diff,omitempty"`
}

func (f Finding) String() string {
	s := f.File + ":"
	if f.Line > 0 {
		s += fmt.Sprintf("%d:%d:", f.Line, f.Column)
	}
	s += " " + f.Code
	if f.Test != "" {
		s += fmt.Sprintf(" test %q", f.Test)
	}
	return s + ": " + f.Message
}

func at(file string, n *yaml.Node, code, test, msg string) Finding {
	f := Finding{File: file, Code: code, Test: test, Message: msg}
	if n != nil {
		f.Line, f.Column = n.Line, n.Column
	}
	return f
}

// Case statuses.
const (
	StatusPassed = "passed"
	StatusFailed = "failed"
	// StatusInvalid: the case could not run (T002, T003, T005).
	StatusInvalid = "invalid"
)

// CaseResult is the outcome of one test case.
type CaseResult struct {
	Name     string        `json:"name"`
	Route    string        `json:"route"`
	Line     int           `json:"line"`
	Column   int           `json:"column"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"duration_ns"`
	Findings []Finding     `json:"findings,omitempty"`
	// What the route did: the messages it would publish, the error that
	// failed the chain, the reasons of skipped branches.
	Outputs []Output    `json:"outputs"`
	Error   *ChainError `json:"error,omitempty"`
	Skips   []string    `json:"skips,omitempty"`
}

// Output is one message the route would publish.
type Output struct {
	// Queue is the outbound queue; "" for a route without outbound queues
	// (whose final messages the engine drops, shown here for assertions).
	Queue   string         `json:"queue"`
	Payload map[string]any `json:"payload"`
}

// ChainError is the failure that ended the chain.
type ChainError struct {
	Step    string `json:"step,omitempty"`
	Code    string `json:"code,omitempty"`
	Class   string `json:"class"`
	Message string `json:"message"`
}

// FileResult is the outcome of one test file (or pipeline with tests).
type FileResult struct {
	File string `json:"file"`
	// Pipeline is the pipeline file under test.
	Pipeline string `json:"pipeline"`
	// Findings are problems of the file as a whole (T003, T004).
	Findings []Finding    `json:"findings,omitempty"`
	Cases    []CaseResult `json:"tests"`
}

// Count returns how many cases have status.
func (r FileResult) Count(status string) int {
	n := 0
	for _, c := range r.Cases {
		if c.Status == status {
			n++
		}
	}
	return n
}

// Invalid reports whether the file or any case could not be run as
// written.
func (r FileResult) Invalid() bool { return len(r.Findings) > 0 || r.Count(StatusInvalid) > 0 }

// AllFindings lists the file's findings, then every case's.
func (r FileResult) AllFindings() []Finding {
	out := append([]Finding(nil), r.Findings...)
	for _, c := range r.Cases {
		out = append(out, c.Findings...)
	}
	return out
}
