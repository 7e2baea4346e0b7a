package llmadapters

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/llm"
)

// TranslatorConfig configures llm_translator.
type TranslatorConfig struct {
	Provider       string `json:"provider" doc:"LLM profile (app config llm.providers[].name). Empty: the default completion profile."`
	Model          string `json:"model" doc:"Model id overriding the profile's model."`
	MaxTokens      int    `json:"max_tokens" default:"0" minimum:"0" maximum:"1000000" doc:"Largest answer in tokens; 0 leaves it to the provider. A translation is about as long as its source."`
	SystemPrompt   string `json:"system_prompt" doc:"System prompt. Empty: a built-in instruction to translate faithfully, keep the Markdown structure (headings, lists, tables, links, code) and answer with the translation only."`
	SourceField    string `json:"source_field" default:"markdown" doc:"Payload field (dotted path) holding the text to translate; segment.text for segment messages."`
	TargetLanguage string `json:"target_language" required:"true" example:"Norwegian" doc:"Language to translate into, as a name the model understands (Norwegian, German, fr)."`
	SourceLanguage string `json:"source_language" doc:"Language of the source text. Empty: the model detects it."`
	OutputField    string `json:"output_field" default:"translated_text" doc:"Payload field (dotted path) receiving the translation."`
}

// Validate checks the paths and the target language.
func (c TranslatorConfig) Validate() error {
	var errs []error
	if strings.TrimSpace(c.TargetLanguage) == "" {
		errs = append(errs, errors.New("target_language: a language is required"))
	}
	errs = append(errs, checkPath("source_field", c.SourceField), checkPath("output_field", c.OutputField))
	return errors.Join(errs...)
}

// defaultTranslationPrompt is the system prompt unless the config sets
// one. Segments and documents are Markdown, and search, chat citations
// and the segmenter rely on its structure surviving the translation.
const defaultTranslationPrompt = `You are a professional translator. Translate the text the user gives you faithfully and completely, in the same tone.
Keep the Markdown structure exactly: the same headings, lists, tables, block quotes, emphasis and line breaks. Translate link texts but keep link targets, image paths and URLs unchanged. Do not translate code blocks, inline code, identifiers or placeholders.
Answer with the translation only: no preface, no notes, no code fence around it.`

func translatorSpec() adapters.Spec {
	s := adapters.Define("llm_translator", "llm", "Translate a text field with an LLM, keeping its Markdown structure",
		func(cfg TranslatorConfig, deps adapters.Deps) (adapters.Adapter, error) {
			return newTranslator(cfg, deps)
		})
	s.Description = "Sends the text of `source_field` to the completion profile `provider` with an " +
		"instruction to translate it into `target_language` (from `source_language` when given) and " +
		"keep its Markdown structure, and writes the translation to `output_field`. An empty text is " +
		"passed on as an empty translation without calling the model.\n\n" +
		"Failures are classified like `llm_transform`'s: rate limits wait (retry-after), transient " +
		"failures are retried, rejected requests and bad keys are dead-lettered. The offline " +
		"`extractive` profile cannot translate; name a generating profile in `provider`."
	s.Reads = []string{"markdown (or the configured source_field)"}
	s.Writes = []string{"translated_text (or the configured output_field)"}
	return s
}

type translator struct {
	cfg       TranslatorConfig
	completer llm.Completer
	system    string
}

func newTranslator(cfg TranslatorConfig, deps adapters.Deps) (*translator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.LLM == nil {
		return nil, NotConfigured("llm_translator")
	}
	c, err := deps.LLM.Completer(cfg.Provider)
	if err != nil {
		return nil, fmt.Errorf("llm_translator: completion profile %q: %w", cfg.Provider, err)
	}
	system := cfg.SystemPrompt
	if strings.TrimSpace(system) == "" {
		system = defaultTranslationPrompt
	}
	return &translator{cfg: cfg, completer: c, system: system}, nil
}

func (a *translator) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	v, ok := adapters.Lookup(in.Payload, a.cfg.SourceField)
	text, isString := v.(string)
	if !ok || !isString {
		return nil, adapters.PermanentCoded(CodeSourceMissing,
			fmt.Sprintf("the payload needs the text to translate in %q; set source_field (segment.text for segment messages)", a.cfg.SourceField),
			fmt.Errorf("llm_translator: payload field %s is missing or not a string", a.cfg.SourceField))
	}
	if strings.TrimSpace(text) == "" {
		if err := assign(in.Payload, "output_field", a.cfg.OutputField, ""); err != nil {
			return nil, err
		}
		return adapters.Pass(in.Payload), nil
	}
	req := llm.ChatRequest{
		Messages: []llm.Message{
			{Role: "system", Content: a.system},
			{Role: "user", Content: a.instruction() + "\n\n" + text},
		},
		Model:     a.cfg.Model,
		MaxTokens: a.cfg.MaxTokens,
		Passages:  []llm.Passage{{Index: 1, Text: text}},
	}
	resp, err := a.completer.Complete(ctx, req)
	if err != nil {
		return nil, Outcome(fmt.Errorf("llm_translator: translating with profile %s: %w", a.completer.Profile(), err))
	}
	if err := assign(in.Payload, "output_field", a.cfg.OutputField, resp.Content); err != nil {
		return nil, err
	}
	return adapters.Pass(in.Payload), nil
}

// instruction is the first line of the user message, naming the
// languages; the text follows after a blank line.
func (a *translator) instruction() string {
	if a.cfg.SourceLanguage != "" {
		return fmt.Sprintf("Translate the following text from %s into %s.", a.cfg.SourceLanguage, a.cfg.TargetLanguage)
	}
	return fmt.Sprintf("Translate the following text into %s.", a.cfg.TargetLanguage)
}
