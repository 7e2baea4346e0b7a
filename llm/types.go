package llm

import (
	"context"
	"time"
)

// Provider types of a profile (app config llm.providers[].provider_type).
const (
	ProviderOpenAI           = "openai"
	ProviderAzure            = "azure"
	ProviderOpenAICompatible = "openai_compatible"
	// ProviderHashing is the offline embedding provider: deterministic
	// feature hashing of words. Lexical, not semantic.
	ProviderHashing = "hashing"
	// ProviderExtractive is the offline completion provider: an answer
	// composed from the top passages, with their citations.
	ProviderExtractive = "extractive"
)

// Names of the offline profiles every registry holds unless the config
// defines profiles of the same name.
const (
	DefaultEmbeddingProfile  = "hashing"
	DefaultCompletionProfile = "extractive"
	DefaultHashingDims       = 384
)

// Profile is one configured provider: app config llm.providers[]. APIKey
// is a secret: it is never logged, returned or put in an error.
type Profile struct {
	Name         string `yaml:"name" json:"name"`
	ProviderType string `yaml:"provider_type" json:"provider_type"`
	// Model is the provider's model (or Azure deployment) id.
	Model   string `yaml:"model" json:"model"`
	APIKey  string `yaml:"api_key" json:"-"`
	BaseURL string `yaml:"base_url" json:"base_url,omitempty"`
	// APIVersion is Azure's api-version.
	APIVersion string `yaml:"api_version" json:"api_version,omitempty"`
	// Dims is the embedding dimension (hashing: the vector size; remote:
	// requested from models that can shorten, checked on every answer).
	Dims int `yaml:"dims" json:"dims,omitempty"`
	// MaxConcurrency is the AIMD limiter's ceiling (default 50, floor 5).
	MaxConcurrency int `yaml:"max_concurrency" json:"max_concurrency,omitempty"`
	// Timeout bounds one request (default 60s).
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// MaxRetries of a retryable or rate-limited failure (default 3).
	MaxRetries int `yaml:"max_retries" json:"max_retries,omitempty"`
}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"` // system, user or assistant
	Content string `json:"content"`
}

// Passage is a retrieved text an answer may cite as [Index].
type Passage struct {
	Index int    `json:"index"`
	Title string `json:"title,omitempty"`
	Text  string `json:"text"`
}

// ChatRequest is one completion. Generating providers read Messages (the
// prompt already quotes the passages); the extractive provider composes
// its answer from Passages and the last user message.
type ChatRequest struct {
	Messages []Message
	// Model overrides the profile's model when set.
	Model       string
	Temperature *float32
	MaxTokens   int
	Passages    []Passage
}

// ChatResponse is a finished completion.
type ChatResponse struct {
	Content          string `json:"content"`
	Model            string `json:"model"`
	FinishReason     string `json:"finish_reason,omitempty"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
}

// Embedder turns texts into vectors, one per text, in order, each of
// Dims() values.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Profile is the profile's name, Model the provider's model id.
	Profile() string
	Model() string
	Dims() int
}

// Completer answers chat requests. Stream calls onDelta with each piece
// of text as it arrives and returns the whole answer; an error from
// onDelta stops the stream and is returned.
type Completer interface {
	Complete(ctx context.Context, req ChatRequest) (*ChatResponse, error)
	Stream(ctx context.Context, req ChatRequest, onDelta func(delta string) error) (*ChatResponse, error)
	Profile() string
	Model() string
}
