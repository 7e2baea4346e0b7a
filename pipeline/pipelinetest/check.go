package pipelinetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/factflow/factflow/orchestrator"

	json "github.com/goccy/go-json"
	"go.yaml.in/yaml/v3"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
)

// roundTrip encodes a final message as the engine publishes it (same codec,
// same size limit and error codes) and decodes it as the next route would
// receive it.
func roundTrip(p adapters.Payload, limit int) (map[string]any, error) {
	b, err := orchestrator.EncodePayload(p, limit)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding payload: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// checker compares what a case did with its expectations.
type checker struct {
	file     string
	test     string
	caseNode *yaml.Node
	findings []Finding
}

func (c *checker) fail(n *yaml.Node, msg, diff string) {
	if n == nil {
		n = c.caseNode
	}
	f := at(c.file, n, CodeFailed, c.test, msg)
	f.Diff = diff
	c.findings = append(c.findings, f)
}

func (c *checker) check(ctx context.Context, tc *Case, r runResult, store storage.Store, requests []string) {
	e := tc.Expect
	switch {
	case e.Error != nil && r.err == nil:
		c.fail(e.Error.at, "expected the chain to fail, but it succeeded", outputsText(r.outputs))
	case e.Error == nil && r.err != nil:
		c.fail(nil, "the chain failed: "+describeError(r.err), requestsText(requests))
	case e.Error != nil:
		c.checkError(e.Error, r.err)
	}
	if e.Skipped != nil {
		switch {
		case *e.Skipped && len(r.skips) == 0:
			c.fail(e.skippedAt, "expected the message to be skipped, but no adapter skipped it", outputsText(r.outputs))
		case !*e.Skipped && len(r.skips) > 0:
			c.fail(e.skippedAt, "expected no skip, but: "+strings.Join(r.skips, "; "), "")
		}
	}
	if r.err == nil {
		c.checkOutputs(e, r.outputs)
	}
	for _, s := range e.Storage {
		c.checkStorage(ctx, s, store)
	}
}

func describeError(e *ChainError) string {
	s := e.Class
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Step != "" {
		s += " in step " + e.Step
	}
	return s + ": " + e.Message
}

func (c *checker) checkError(want *ErrorExpect, got *ChainError) {
	var bad []string
	if want.Code != "" && want.Code != got.Code {
		bad = append(bad, fmt.Sprintf("code: want %q, got %q", want.Code, got.Code))
	}
	if want.Permanent != nil && *want.Permanent != (got.Class == string(adapters.ClassPermanent)) {
		bad = append(bad, fmt.Sprintf("permanent: want %t, got class %q", *want.Permanent, got.Class))
	}
	if want.Class != "" && want.Class != got.Class {
		bad = append(bad, fmt.Sprintf("class: want %q, got %q", want.Class, got.Class))
	}
	if want.MessageContains != "" && !strings.Contains(got.Message, want.MessageContains) {
		bad = append(bad, fmt.Sprintf("message does not contain %q", want.MessageContains))
	}
	if want.Step != "" && want.Step != got.Step {
		bad = append(bad, fmt.Sprintf("step: want %q, got %q", want.Step, got.Step))
	}
	if len(bad) > 0 {
		c.fail(want.at, "the chain failed differently than expected: "+strings.Join(bad, "; "),
			"actual error: "+describeError(got))
	}
}

func (c *checker) checkOutputs(e Expect, outs []Output) {
	if e.Count != nil && *e.Count != len(outs) {
		c.fail(e.countAt, fmt.Sprintf("expected %d output message(s), got %d", *e.Count, len(outs)), outputsText(outs))
	}
	for i := range e.Outputs {
		want := &e.Outputs[i]
		if i >= len(outs) {
			c.fail(want.at, fmt.Sprintf("expected output #%d, but the route emitted only %d message(s)", i+1, len(outs)), outputsText(outs))
			continue
		}
		c.checkOutput(want, outs[i], fmt.Sprintf("output #%d", i+1))
	}
	if e.Every != nil {
		for i, o := range outs {
			c.checkOutput(e.Every, o, fmt.Sprintf("output #%d (every)", i+1))
		}
	}
}

func (c *checker) checkOutput(want *OutputExpect, got Output, label string) {
	if want.Queue != nil && *want.Queue != got.Queue {
		c.fail(want.at, fmt.Sprintf("%s went to queue %q, want %q", label, got.Queue, *want.Queue), "")
	}
	if want.PayloadEquals != nil && !reflect.DeepEqual(want.PayloadEquals, got.Payload) {
		c.fail(want.at, label+": payload differs", diff(want.PayloadEquals, got.Payload))
	}
	if want.PayloadContains != nil {
		if path, ok := subset(want.PayloadContains, any(got.Payload), ""); !ok {
			c.fail(want.at, fmt.Sprintf("%s: payload does not contain the expected values (first difference at %s)", label, orRoot(path)),
				diff(want.PayloadContains, got.Payload))
		}
	}
	for _, f := range want.Fields {
		v, found := lookup(got.Payload, f.Path)
		switch {
		case !found:
			c.fail(f.at, fmt.Sprintf("%s: field %s is missing", label, f.Path), "payload: "+compact(got.Payload))
		case !reflect.DeepEqual(f.Value, v):
			c.fail(f.at, fmt.Sprintf("%s: field %s differs", label, f.Path), diff(f.Value, v))
		}
	}
	for _, ce := range want.Conditions {
		if !ce.Condition.Match(got.Payload) {
			c.fail(ce.at, fmt.Sprintf("%s does not match the condition %s", label, ce.Condition.String()), "payload: "+compact(got.Payload))
		}
	}
}

func (c *checker) checkStorage(ctx context.Context, want StorageExpect, store storage.Store) {
	rc, _, err := store.Get(ctx, want.Key)
	exists := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.fail(want.at, fmt.Sprintf("reading storage key %s: %v", want.Key, err), "")
		return
	}
	var body []byte
	if exists {
		body, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			c.fail(want.at, fmt.Sprintf("reading storage key %s: %v", want.Key, err), "")
			return
		}
	}
	wantExists := want.Exists == nil || *want.Exists
	switch {
	case wantExists && !exists:
		c.fail(want.at, "storage has no object "+want.Key, storageText(ctx, store))
		return
	case !wantExists && exists:
		c.fail(want.at, "storage holds "+want.Key+", expected none", "")
		return
	case !exists:
		return
	}
	if want.Contains != "" && !strings.Contains(string(body), want.Contains) {
		c.fail(want.at, fmt.Sprintf("storage object %s does not contain %q", want.Key, want.Contains), "content:\n"+clip(string(body)))
	}
	if want.Equals != nil && *want.Equals != string(body) {
		c.fail(want.at, fmt.Sprintf("storage object %s differs", want.Key),
			"- expected\n+ actual\n- "+strconv.Quote(*want.Equals)+"\n+ "+strconv.Quote(clip(string(body))))
	}
}

// subset reports whether want is contained in got: mappings need their
// keys present with contained values, everything else must be equal. It
// returns the path of the first difference.
func subset(want, got any, path string) (string, bool) {
	wm, ok := want.(map[string]any)
	if !ok {
		return path, reflect.DeepEqual(want, got)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return path, false
	}
	for k, wv := range wm {
		p := k
		if path != "" {
			p = path + "." + k
		}
		gv, found := gm[k]
		if !found {
			return p, false
		}
		if q, ok := subset(wv, gv, p); !ok {
			return q, false
		}
	}
	return path, true
}

func orRoot(path string) string {
	if path == "" {
		return "the payload itself"
	}
	return path
}

// lookup resolves a dotted path; numeric segments index lists.
func lookup(root map[string]any, path string) (any, bool) {
	var cur any = root
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			x, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = x
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b))
}

func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

const clipAt = 4000

func clip(s string) string {
	if len(s) > clipAt {
		return s[:clipAt] + fmt.Sprintf("… (%d more bytes)", len(s)-clipAt)
	}
	return s
}

// diff renders expected and actual JSON line by line: lines only in the
// expectation are marked -, lines only in the actual value +.
func diff(want, got any) string {
	a := strings.Split(pretty(want), "\n")
	b := strings.Split(pretty(got), "\n")
	var sb strings.Builder
	sb.WriteString("- expected\n+ actual\n")
	for _, op := range lcsDiff(a, b) {
		sb.WriteString(op)
		sb.WriteByte('\n')
	}
	return clip(strings.TrimSuffix(sb.String(), "\n"))
}

// lcsDiff is a plain longest-common-subsequence line diff; payloads in
// tests are small.
func lcsDiff(a, b []string) []string {
	const maxLines = 2000
	if len(a) > maxLines || len(b) > maxLines {
		out := make([]string, 0, len(a)+len(b))
		for _, l := range a {
			out = append(out, "- "+l)
		}
		for _, l := range b {
			out = append(out, "+ "+l)
		}
		return out
	}
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, "  "+a[i])
			i++
			j++
		case dp[i+1][j] >= dp[i][j+1]:
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, "- "+a[i])
	}
	for ; j < len(b); j++ {
		out = append(out, "+ "+b[j])
	}
	return out
}

func outputsText(outs []Output) string {
	if len(outs) == 0 {
		return "the route emitted nothing"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "the route emitted %d message(s):", len(outs))
	for i, o := range outs {
		if i == 20 {
			fmt.Fprintf(&sb, "\n  … %d more", len(outs)-i)
			break
		}
		q := o.Queue
		if q == "" {
			q = "(no outbound queue)"
		}
		fmt.Fprintf(&sb, "\n  #%d %s %s", i+1, q, compact(o.Payload))
	}
	return sb.String()
}

func requestsText(reqs []string) string {
	if len(reqs) == 0 {
		return ""
	}
	return "requests to the fixture server:\n  " + strings.Join(reqs, "\n  ")
}

func storageText(ctx context.Context, store storage.Store) string {
	var keys []string
	for info, err := range store.List(ctx, "", storage.ListOptions{}) {
		if err != nil {
			break
		}
		keys = append(keys, info.Key)
		if len(keys) == 50 {
			keys = append(keys, "…")
			break
		}
	}
	if len(keys) == 0 {
		return "storage is empty"
	}
	return "storage holds:\n  " + strings.Join(keys, "\n  ")
}
