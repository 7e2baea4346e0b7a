package llmadapters_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	llmadapters "github.com/factflow/factflow/adapters/llm"
	"github.com/factflow/factflow/llm"
)

const markdownText = "# Install\n\nRun `factflow serve`.\n\n- one\n- two\n"

func TestTranslatorTranslatesKeepingMarkdown(t *testing.T) {
	p := newProvider(t)
	a := build(t, "llm_translator", `
provider: remote
target_language: Norwegian
source_language: English
max_tokens: 4096
`, adapters.Deps{LLM: p.registry(t)})
	p.answer("# Installer\n\nKjør `factflow serve`.\n\n- en\n- to\n")
	out, err := process(t, a, adapters.Payload{"markdown": markdownText, "url": "https://x"}, 1)
	require.NoError(t, err)
	require.Equal(t, "# Installer\n\nKjør `factflow serve`.\n\n- en\n- to\n", out["translated_text"])
	require.Equal(t, markdownText, out["markdown"], "the source stays")

	req := p.last(t)
	require.Equal(t, "chat-model", req.Model)
	require.Equal(t, 4096, req.MaxTokens)
	require.Len(t, req.Messages, 2)
	require.Equal(t, "system", req.Messages[0].Role)
	require.Contains(t, req.Messages[0].Content, "Markdown structure")
	require.Equal(t, "Translate the following text from English into Norwegian.\n\n"+markdownText, req.Messages[1].Content)
}

func TestTranslatorOptions(t *testing.T) {
	p := newProvider(t)
	a := build(t, "llm_translator", `
provider: remote
model: other-model
system_prompt: Translate like a pirate.
target_language: German
source_field: segment.text
output_field: segment.text_de
`, adapters.Deps{LLM: p.registry(t)})
	p.answer("Hallo")
	out, err := process(t, a, adapters.Payload{"segment": map[string]any{"text": "Hello"}}, 1)
	require.NoError(t, err)
	require.Equal(t, "Hallo", out["segment"].(map[string]any)["text_de"])
	req := p.last(t)
	require.Equal(t, "other-model", req.Model)
	require.Equal(t, "Translate like a pirate.", req.Messages[0].Content)
	require.Equal(t, "Translate the following text into German.\n\nHello", req.Messages[1].Content)

	// An empty text needs no model.
	out, err = process(t, a, adapters.Payload{"segment": map[string]any{"text": " \n"}}, 1)
	require.NoError(t, err)
	require.Equal(t, "", out["segment"].(map[string]any)["text_de"])
	require.Equal(t, 1, p.count())

	_, err = process(t, a, adapters.Payload{"markdown": "x"}, 1)
	requireCode(t, err, llmadapters.CodeSourceMissing, adapters.ClassPermanent)

	_, err = process(t, a, adapters.Payload{"segment": map[string]any{"text": "Hi"}, "x": 1}, 1)
	require.NoError(t, err)
	_, err = process(t, a, adapters.Payload{"segment": "not an object"}, 1)
	requireCode(t, err, llmadapters.CodeSourceMissing, adapters.ClassPermanent)
}

func TestTranslatorClassifiesProviderFailures(t *testing.T) {
	p := newProvider(t)
	deps := adapters.Deps{LLM: p.registry(t)}
	a := build(t, "llm_translator", `{ provider: denied, target_language: fr }`, deps)
	_, err := process(t, a, adapters.Payload{"markdown": "Hello"}, 1)
	requireCode(t, err, llm.CodeAuthFailed, adapters.ClassPermanent)

	a = build(t, "llm_translator", `{ provider: limited, target_language: fr }`, deps)
	_, err = process(t, a, adapters.Payload{"markdown": "Hello"}, 1)
	requireCode(t, err, llm.CodeRateLimited, adapters.ClassRetryAfter)

	// An output path running through a string fails for good.
	a = build(t, "llm_translator", `{ provider: remote, target_language: fr, output_field: markdown.fr }`, deps)
	_, err = process(t, a, adapters.Payload{"markdown": "Hello"}, 1)
	requireCode(t, err, llmadapters.CodePathConflict, adapters.ClassPermanent)
}

func TestTranslatorConfig(t *testing.T) {
	cfg := llmadapters.TranslatorConfig{SourceField: "markdown", OutputField: "translated_text"}
	require.ErrorContains(t, cfg.Validate(), "target_language")
	cfg.TargetLanguage = "Norwegian"
	require.NoError(t, cfg.Validate())
	_, err := tryBuild(t, "llm_translator", `target_language: fr`, adapters.Deps{})
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, llmadapters.CodeLLMNotConfigured, ce.Code)
}

func TestTranslatorWithExtractiveProfile(t *testing.T) {
	// The offline profile cannot translate, but a pipeline naming no
	// provider still runs: it quotes the source.
	reg, err := llm.NewRegistry(nil, llm.Options{})
	require.NoError(t, err)
	a := build(t, "llm_translator", `target_language: Norwegian`, adapters.Deps{LLM: reg})
	out, err := process(t, a, adapters.Payload{"markdown": "The server listens on port 8080. Logs go to stderr."}, 1)
	require.NoError(t, err)
	require.NotEmpty(t, out["translated_text"])
}
