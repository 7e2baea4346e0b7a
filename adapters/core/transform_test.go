package core

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

func TestTransformExpressions(t *testing.T) {
	a := build(t, "transform", `
set:
  total: "price * quantity + shipping"
  label: "upper(lang ?? 'en') + ': ' + title"
  status: "status_code >= 400 ? 'error' : 'ok'"
  words: "len(split(text, ' '))"
  meta.source.host: "split(url, '/')[2]"
  meta.copied: "meta.existing"
  missing_or_default: "nothing ?? 'fallback'"
  has_tags: "len(tags) > 0 && 'go' in tags"
rename:
  title: document.title
  nothing_here: elsewhere
remove: [shipping, text]
`, adapters.Deps{})
	in := adapters.Payload{
		"price": 2.5, "quantity": 4.0, "shipping": 1.0, "title": "Guide", "status_code": 503.0,
		"text": "one two three", "url": "https://docs.acme.test/guide", "tags": []any{"go", "nats"},
		"meta": map[string]any{"existing": map[string]any{"k": "v"}},
	}
	res, err := a.Process(t.Context(), &adapters.Input{Payload: in})
	require.NoError(t, err)
	out := res.Message
	require.Equal(t, 11.0, out["total"])
	require.Equal(t, "EN: Guide", out["label"], "expressions see the incoming payload, before rename")
	require.Equal(t, "error", out["status"])
	require.Equal(t, 3, out["words"])
	require.Equal(t, "docs.acme.test", out["meta"].(map[string]any)["source"].(map[string]any)["host"])
	require.Equal(t, "fallback", out["missing_or_default"])
	require.Equal(t, true, out["has_tags"])
	require.Equal(t, map[string]any{"title": "Guide"}, out["document"])
	require.NotContains(t, out, "title")
	require.NotContains(t, out, "elsewhere")
	require.NotContains(t, out, "shipping")
	require.NotContains(t, out, "text")
	// The result does not share maps with the input.
	out["meta"].(map[string]any)["copied"].(map[string]any)["k"] = "changed"
	require.Equal(t, "v", in["meta"].(map[string]any)["existing"].(map[string]any)["k"])
	require.Equal(t, "v", out["meta"].(map[string]any)["existing"].(map[string]any)["k"])
	require.Equal(t, 1.0, in["shipping"], "the input payload is left alone")
}

func TestTransformKeep(t *testing.T) {
	a := build(t, "transform", `
set: {meta.size: "len(content)"}
keep: [url, meta.size, segment.text, absent]
`, adapters.Deps{})
	res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{
		"url": "u", "content": "12345", "meta": map[string]any{"lang": "en"},
		"segment": map[string]any{"text": "t", "tokens": 3.0},
	}})
	require.NoError(t, err)
	require.Equal(t, adapters.Payload{
		"url":     "u",
		"meta":    map[string]any{"size": 5},
		"segment": map[string]any{"text": "t"},
	}, res.Message)
}

func TestTransformRuntimeErrors(t *testing.T) {
	a := build(t, "transform", `set: {n: "amount + 1", m: "$env['count'] * 2"}`, adapters.Deps{})
	res, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"amount": 1.0, "count": 2.0}})
	require.NoError(t, err)
	require.Equal(t, 2.0, res.Message["n"])
	require.Equal(t, 4.0, res.Message["m"], "fields named like built-in functions are reached through $env")
	_, err = a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"amount": "three", "count": 1.0}})
	requireCode(t, err, "TRANSFORM_EXPRESSION_FAILED", adapters.ClassPermanent)
	require.ErrorContains(t, err, "set.n")

	b := build(t, "transform", `set: {title.text: "'x'"}`, adapters.Deps{})
	_, err = b.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"title": "a string"}})
	requireCode(t, err, "TRANSFORM_PATH_CONFLICT", adapters.ClassPermanent)
}

func TestTransformCompileErrorsAreValidationFindings(t *testing.T) {
	tests := []struct {
		cfg, want string
	}{
		{`set: {a: "1 +"}`, "set.a"},
		{`set: {b: "upper("}`, "set.b"},
		{`set: {"a..b": "1"}`, "empty segment"},
		{`set: {c: "  "}`, "empty expression"},
		{`rename: {a: ""}`, "rename.a"},
		{`remove: ["x."]`, "remove[0]"},
		{`{}`, "nothing to do"},
	}
	for _, tt := range tests {
		t.Run(tt.cfg, func(t *testing.T) {
			_, fs := decode(t, "transform", tt.cfg)
			var msgs []string
			for _, f := range fs {
				if f.Code == "E305" {
					msgs = append(msgs, f.Message)
				}
			}
			require.NotEmpty(t, msgs, "findings: %v", fs)
			require.Contains(t, strings.Join(msgs, "\n"), tt.want)
		})
	}
	_, err := transformSpec().New(TransformConfig{Set: map[string]string{"a": "1 +"}}, adapters.Deps{})
	require.ErrorContains(t, err, "set.a")
}
