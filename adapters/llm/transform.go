package llmadapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/llm"
)

// TransformConfig configures llm_transform.
type TransformConfig struct {
	Provider     string   `json:"provider" doc:"LLM profile (app config llm.providers[].name). Empty: the default completion profile."`
	Model        string   `json:"model" doc:"Model id overriding the profile's model."`
	Prompt       string   `json:"prompt" required:"true" example:"'Summarise in one sentence: {{segment.text}}'" doc:"User prompt. {{field.path}} placeholders are replaced by payload fields (objects and lists as JSON); a message lacking a placeholder's field fails with PROMPT_FIELD_MISSING."`
	SystemPrompt string   `json:"system_prompt" doc:"System prompt; may hold placeholders too."`
	OutputField  string   `json:"output_field" default:"llm_output" doc:"Payload field (dotted path) receiving the answer."`
	MaxTokens    int      `json:"max_tokens" default:"0" minimum:"0" maximum:"1000000" doc:"Largest answer in tokens; 0 leaves it to the provider."`
	Temperature  *float64 `json:"temperature" minimum:"0" maximum:"2" doc:"Sampling temperature; unset leaves it to the provider."`
	JSONOutput   bool     `json:"json_output" default:"false" doc:"Parse the answer as JSON (a surrounding code fence is tolerated) and store the value instead of the text. An answer that is not JSON is retried once, then dead-lettered (LLM_OUTPUT_INVALID_JSON)."`
}

// Validate checks the templates and the output path.
func (c TransformConfig) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Prompt) == "" {
		errs = append(errs, errors.New("prompt: a prompt is required"))
	} else if _, err := parsePrompt("prompt", c.Prompt); err != nil {
		errs = append(errs, err)
	}
	if _, err := parsePrompt("system_prompt", c.SystemPrompt); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkPath("output_field", c.OutputField))
	return errors.Join(errs...)
}

func transformSpec() adapters.Spec {
	s := adapters.Define("llm_transform", "llm", "Ask an LLM to transform payload fields with a prompt template",
		func(cfg TransformConfig, deps adapters.Deps) (adapters.Adapter, error) {
			return newTransform(cfg, deps)
		})
	s.Description = "Renders `prompt` (and `system_prompt`) by replacing each `{{field.path}}` with the " +
		"payload field it names, sends it to the completion profile `provider` and writes the answer " +
		"to `output_field`. With `json_output` the answer is parsed as JSON, so that later adapters " +
		"and conditions can address its parts.\n\n" +
		"Rate limits wait for the profile's limiter (retry-after), network failures and server errors " +
		"are retried, and a rejected request or a bad API key goes to the dead-letter queue at once. " +
		"The offline `extractive` profile answers from the substituted field values, so a pipeline " +
		"runs without a provider, though it cannot rewrite text."
	s.Reads = []string{"* (the fields named in the prompt)"}
	s.Writes = []string{"llm_output (or the configured output_field)"}
	return s
}

type transform struct {
	cfg       TransformConfig
	completer llm.Completer
	prompt    *promptTemplate
	system    *promptTemplate
}

func newTransform(cfg TransformConfig, deps adapters.Deps) (*transform, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.LLM == nil {
		return nil, NotConfigured("llm_transform")
	}
	c, err := deps.LLM.Completer(cfg.Provider)
	if err != nil {
		return nil, fmt.Errorf("llm_transform: completion profile %q: %w", cfg.Provider, err)
	}
	prompt, _ := parsePrompt("prompt", cfg.Prompt)
	system, _ := parsePrompt("system_prompt", cfg.SystemPrompt)
	return &transform{cfg: cfg, completer: c, prompt: prompt, system: system}, nil
}

func (a *transform) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	user, passages, err := a.prompt.render(in.Payload)
	if err != nil {
		return nil, promptFieldError("prompt", err)
	}
	system, _, err := a.system.render(in.Payload)
	if err != nil {
		return nil, promptFieldError("system_prompt", err)
	}
	if a.cfg.JSONOutput {
		system = strings.TrimSpace(system + "\n\n" + jsonInstruction)
	}
	var msgs []llm.Message
	if strings.TrimSpace(system) != "" {
		msgs = append(msgs, llm.Message{Role: "system", Content: system})
	}
	msgs = append(msgs, llm.Message{Role: "user", Content: user})
	req := llm.ChatRequest{Messages: msgs, Model: a.cfg.Model, MaxTokens: a.cfg.MaxTokens, Passages: passages}
	if a.cfg.Temperature != nil {
		t := float32(*a.cfg.Temperature)
		req.Temperature = &t
	}
	resp, err := a.completer.Complete(ctx, req)
	if err != nil {
		return nil, Outcome(fmt.Errorf("llm_transform: completing with profile %s: %w", a.completer.Profile(), err))
	}
	var out any = resp.Content
	if a.cfg.JSONOutput {
		v, err := parseJSONAnswer(resp.Content)
		if err != nil {
			return nil, invalidJSON(in.Meta.Attempt, err)
		}
		out = v
	}
	if err := assign(in.Payload, "output_field", a.cfg.OutputField, out); err != nil {
		return nil, err
	}
	return adapters.Pass(in.Payload), nil
}

// jsonInstruction is appended to the system prompt with json_output: the
// chat API has no portable "answer in JSON" switch across providers.
const jsonInstruction = "Answer with a single JSON value and nothing else: no prose, no code fence."

// parseJSONAnswer parses an answer that should be JSON, tolerating the
// code fence models like to put around it.
func parseJSONAnswer(s string) (any, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```")
		if nl := strings.IndexByte(s, '\n'); nl >= 0 {
			s = s[nl+1:] // the fence's info string (json)
		}
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %w", err)
	}
	return v, nil
}

// invalidJSON fails a json_output answer that does not parse. Sampling
// makes a second answer likely to differ, so the first failure is retried;
// a model that fails twice is not going to comply, so the message is
// dead-lettered then instead of burning every retry.
func invalidJSON(attempt int, err error) error {
	coded := adapters.Coded(CodeInvalidJSON,
		"tell the model in the prompt exactly which JSON to return, lower the temperature, or turn json_output off",
		fmt.Errorf("llm_transform: %w", err))
	if attempt <= 1 {
		return coded
	}
	return adapters.Permanent(coded)
}

func promptFieldError(key string, err error) error {
	var mf *missingFieldError
	if errors.As(err, &mf) {
		return adapters.PermanentCoded(CodePromptFieldMissing,
			fmt.Sprintf("%s uses {{%s}}, which this message lacks; produce the field earlier in the chain or guard the adapter with a condition", key, mf.field),
			fmt.Errorf("llm_transform: rendering %s: %w", key, err))
	}
	return adapters.Permanent(fmt.Errorf("llm_transform: rendering %s: %w", key, err))
}

// checkPath validates a config key holding a dotted payload path.
func checkPath(name, p string) error {
	if err := adapters.ValidatePath(p); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// assign writes v at the path of config key name; a non-object value in
// the way fails the message for good, as it would on every retry.
func assign(p adapters.Payload, name, path string, v any) error {
	if err := adapters.Assign(p, path, v); err != nil {
		return adapters.PermanentCoded(CodePathConflict,
			fmt.Sprintf("%s %q runs through a payload field that is not an object; set %s to another path", name, path, name),
			fmt.Errorf("%s %s: %w", name, path, err))
	}
	return nil
}
