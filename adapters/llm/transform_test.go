package llmadapters_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	llmadapters "github.com/factflow/factflow/adapters/llm"
	"github.com/factflow/factflow/llm"
)

func segmentPayload() adapters.Payload {
	return adapters.Payload{
		"segment": map[string]any{"text": "Factflow routes messages between queues.", "index": 2.0},
		"meta":    map[string]any{"team": "docs", "tags": []any{"a", "b"}},
		"lang":    "en",
	}
}

func TestTransformRendersPromptAndWritesAnswer(t *testing.T) {
	p := newProvider(t)
	a := build(t, "llm_transform", `
provider: remote
model: override-model
prompt: "Summarise segment {{ segment.index }} for {{meta.team}}: {{segment.text}} Tags: {{meta.tags}}"
system_prompt: "Write in {{lang}}."
output_field: enrich.summary
max_tokens: 77
temperature: 0.5
`, adapters.Deps{LLM: p.registry(t)})
	p.answer("A short summary.")
	out, err := process(t, a, segmentPayload(), 1)
	require.NoError(t, err)
	require.Equal(t, "A short summary.", out["enrich"].(map[string]any)["summary"])
	require.Equal(t, "en", out["lang"], "the rest of the payload is passed on")

	req := p.last(t)
	require.Equal(t, "override-model", req.Model)
	require.Equal(t, 77, req.MaxTokens)
	require.NotNil(t, req.Temperature)
	require.InDelta(t, 0.5, *req.Temperature, 1e-6)
	require.Len(t, req.Messages, 2)
	require.Equal(t, "system", req.Messages[0].Role)
	require.Equal(t, "Write in en.", req.Messages[0].Content)
	require.Equal(t, "user", req.Messages[1].Role)
	require.Equal(t, `Summarise segment 2 for docs: Factflow routes messages between queues. Tags: ["a","b"]`, req.Messages[1].Content)
}

func TestTransformJSONOutput(t *testing.T) {
	p := newProvider(t)
	a := build(t, "llm_transform", `
provider: remote
prompt: "Products in: {{segment.text}}"
json_output: true
output_field: products
`, adapters.Deps{LLM: p.registry(t)})

	p.answer("```json\n{\"names\": [\"Factflow\"], \"count\": 1}\n```")
	out, err := process(t, a, segmentPayload(), 1)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"names": []any{"Factflow"}, "count": 1.0}, out["products"])
	req := p.last(t)
	require.Equal(t, "system", req.Messages[0].Role, "json_output asks for JSON in the system prompt")
	require.Contains(t, req.Messages[0].Content, "JSON")

	// An answer that is not JSON is retried once, then dead-lettered.
	p.answer("Sure! Here are the products: Factflow.")
	_, err = process(t, a, segmentPayload(), 1)
	requireCode(t, err, llmadapters.CodeInvalidJSON, adapters.ClassRetryable)
	p.answer("Still not JSON.")
	_, err = process(t, a, segmentPayload(), 2)
	requireCode(t, err, llmadapters.CodeInvalidJSON, adapters.ClassPermanent)
}

func TestTransformMissingFieldFailsWithoutCall(t *testing.T) {
	p := newProvider(t)
	a := build(t, "llm_transform", `{ provider: remote, prompt: "About {{document.title}}: {{segment.text}}" }`,
		adapters.Deps{LLM: p.registry(t)})
	_, err := process(t, a, segmentPayload(), 1)
	ce := requireCode(t, err, llmadapters.CodePromptFieldMissing, adapters.ClassPermanent)
	require.Contains(t, ce.Hint, "document.title")
	require.Zero(t, p.count())

	// A field that is present but null renders empty.
	pl := segmentPayload()
	pl["document"] = map[string]any{"title": nil}
	_, err = process(t, a, pl, 1)
	require.NoError(t, err)
	require.Equal(t, "About : Factflow routes messages between queues.", p.last(t).Messages[0].Content)
}

func TestTransformClassifiesProviderFailures(t *testing.T) {
	p := newProvider(t)
	deps := adapters.Deps{LLM: p.registry(t)}
	run := func(profile string) error {
		a := build(t, "llm_transform", `{ provider: `+profile+`, prompt: "Echo {{lang}}" }`, deps)
		_, err := process(t, a, segmentPayload(), 1)
		return err
	}

	err := run("limited")
	requireCode(t, err, llm.CodeRateLimited, adapters.ClassRetryAfter)
	var ra *adapters.RetryAfterError
	require.ErrorAs(t, err, &ra)
	require.Equal(t, 2*time.Minute, ra.After)

	err = run("broken")
	require.Equal(t, adapters.ClassRetryable, adapters.Classify(err), "error: %v", err)
	require.Equal(t, llm.CodeUnavailable, llm.Code(err))

	ce := requireCode(t, run("denied"), llm.CodeAuthFailed, adapters.ClassPermanent)
	require.NotContains(t, ce.Err.Error(), llm.CodeAuthFailed+":", "the code is not repeated in the message")
}

func TestTransformWithExtractiveProfile(t *testing.T) {
	reg, err := llm.NewRegistry(nil, llm.Options{})
	require.NoError(t, err)
	// No provider: the default completion profile, extractive.
	a := build(t, "llm_transform", `prompt: "Which port does the server listen on? {{text}}"`, adapters.Deps{LLM: reg})
	out, err := process(t, a, adapters.Payload{
		"text": "Factflow is a pipeline server. The server listens on port 8080 by default. Logs go to stderr.",
	}, 1)
	require.NoError(t, err)
	answer, _ := out["llm_output"].(string)
	require.Contains(t, answer, "port 8080")
	require.Contains(t, answer, "[1]", "the extractive answer cites the field it quotes")
}

func TestTransformBuildErrors(t *testing.T) {
	_, err := tryBuild(t, "llm_transform", `prompt: "x {{a}}"`, adapters.Deps{})
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, llmadapters.CodeLLMNotConfigured, ce.Code)
	require.NotEmpty(t, ce.Hint)

	reg, err := llm.NewRegistry(nil, llm.Options{})
	require.NoError(t, err)
	_, err = tryBuild(t, "llm_transform", `{ provider: nowhere, prompt: "x" }`, adapters.Deps{LLM: reg})
	require.Equal(t, llm.CodeProfileNotFound, llm.Code(err), "error: %v", err)
}

func TestTransformConfigValidation(t *testing.T) {
	for prompt, want := range map[string]string{
		"Hello {{ .Name }}":    "must name a payload field",
		"Hello {{a..b}}":       "must name a payload field",
		"Hello {{a b}}":        "must name a payload field",
		"Hello {{name":         "unbalanced",
		"Hello }} there":       "unbalanced",
		"   ":                  "prompt is required",
		"{{ok}} and {{also.ok": "unbalanced",
	} {
		cfg := llmadapters.TransformConfig{Prompt: prompt, OutputField: "llm_output"}
		require.ErrorContains(t, cfg.Validate(), want, "prompt %q", prompt)
	}
	cfg := llmadapters.TransformConfig{Prompt: "{{ a }} {{b.c}}", SystemPrompt: "{{x", OutputField: "out"}
	require.ErrorContains(t, cfg.Validate(), "system_prompt")
	cfg = llmadapters.TransformConfig{Prompt: "{{ a }} {{b.c}}", OutputField: "out..x"}
	require.ErrorContains(t, cfg.Validate(), "output_field")
	cfg = llmadapters.TransformConfig{Prompt: "{{ a }} {{b.c}}", OutputField: "out"}
	require.NoError(t, cfg.Validate())
}
