package llm

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of a remote profile.
const (
	DefaultTimeout    = 60 * time.Second
	DefaultMaxRetries = 3
)

// Options configure a Registry.
type Options struct {
	// HTTPClient is used for every remote profile (nil: a plain client;
	// each request is bounded by its profile's timeout, not the client's).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// DefaultEmbedding and DefaultCompletion name the profiles "" picks
	// (empty: "hashing" and "extractive").
	DefaultEmbedding  string
	DefaultCompletion string

	// backoffBase and backoffCap shape the retry backoff (0: 500ms and
	// 20s); sleep replaces the backoff wait. Tests set them to run fast.
	backoffBase time.Duration
	backoffCap  time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
}

// ProfileInfo describes a profile without its secrets.
type ProfileInfo struct {
	Name         string `json:"name"`
	ProviderType string `json:"provider_type"`
	Model        string `json:"model"`
	// Dims is the embedding dimension: configured, or learned from the
	// first answer of a remote profile (0 before it, and for
	// completion-only profiles).
	Dims       int    `json:"dims"`
	Embedding  bool   `json:"embedding"`
	Completion bool   `json:"completion"`
	BaseURL    string `json:"base_url,omitempty"`
	APIVersion string `json:"api_version,omitempty"`
	// MaxConcurrency is the limiter's ceiling (0 for offline profiles).
	MaxConcurrency    int  `json:"max_concurrency,omitempty"`
	DefaultEmbedding  bool `json:"default_embedding,omitempty"`
	DefaultCompletion bool `json:"default_completion,omitempty"`
	// Builtin marks the offline profiles every registry holds.
	Builtin bool `json:"builtin,omitempty"`
}

// ProfileStats is the live state of a remote profile's limiter and its
// request counters since the registry was built.
type ProfileStats struct {
	Name     string `json:"name"`
	Limit    int    `json:"limit"`
	Ceiling  int    `json:"ceiling"`
	Floor    int    `json:"floor"`
	InFlight int    `json:"in_flight"`
	// Requests counts attempts (a retried call counts each attempt).
	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"`
	Retries   int64 `json:"retries"`
	// Errors counts failed attempts by class name (terminal, retryable,
	// rate_limited).
	Errors map[string]int64 `json:"errors"`
}

// Registry holds one client per profile. It is safe for concurrent use.
type Registry struct {
	order             []string
	entries           map[string]*entry
	defaultEmbedding  string
	defaultCompletion string
}

type entry struct {
	profile   Profile
	builtin   bool
	embedder  Embedder  // nil for completion-only profiles
	completer Completer // nil for embedding-only profiles
	remote    *remoteClient
}

// NewRegistry validates the profiles and builds their clients. It makes no
// network call. Invalid profiles give an *Error with code
// LLM_PROFILE_INVALID naming the profile and the field.
func NewRegistry(profiles []Profile, opts Options) (*Registry, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{entries: map[string]*entry{}}
	for i, p := range profiles {
		if err := validateProfile(i, p); err != nil {
			return nil, err
		}
		if _, dup := r.entries[p.Name]; dup {
			return nil, invalidProfile(i, p.Name, "name", fmt.Sprintf("duplicate profile name %q", p.Name),
				"give every llm.providers[] entry its own name")
		}
		e := &entry{profile: p}
		switch p.ProviderType {
		case ProviderHashing:
			dims := p.Dims
			if dims == 0 {
				dims = DefaultHashingDims
			}
			e.embedder = &hashing{dims: dims, profile: p.Name, model: modelOr(p.Model, hashingModel)}
		case ProviderExtractive:
			e.completer = &extractive{profile: p.Name, model: modelOr(p.Model, extractiveModel)}
		default:
			rc := newRemote(p, opts, log)
			e.remote, e.embedder, e.completer = rc, rc, rc
		}
		r.entries[p.Name] = e
		r.order = append(r.order, p.Name)
	}
	if _, ok := r.entries[DefaultEmbeddingProfile]; !ok {
		r.entries[DefaultEmbeddingProfile] = &entry{
			profile: Profile{Name: DefaultEmbeddingProfile, ProviderType: ProviderHashing, Model: hashingModel, Dims: DefaultHashingDims},
			builtin: true, embedder: Hashing(DefaultHashingDims),
		}
		r.order = append(r.order, DefaultEmbeddingProfile)
	}
	if _, ok := r.entries[DefaultCompletionProfile]; !ok {
		r.entries[DefaultCompletionProfile] = &entry{
			profile: Profile{Name: DefaultCompletionProfile, ProviderType: ProviderExtractive, Model: extractiveModel},
			builtin: true, completer: Extractive(),
		}
		r.order = append(r.order, DefaultCompletionProfile)
	}

	r.defaultEmbedding = modelOr(opts.DefaultEmbedding, DefaultEmbeddingProfile)
	r.defaultCompletion = modelOr(opts.DefaultCompletion, DefaultCompletionProfile)
	if e, ok := r.entries[r.defaultEmbedding]; !ok || e.embedder == nil {
		return nil, &Error{
			Code: CodeProfileInvalid, Class: Terminal,
			Msg:  fmt.Sprintf("default embedding profile %q is not an embedding profile", r.defaultEmbedding),
			Hint: "name an embedding profile among: " + strings.Join(r.names(func(e *entry) bool { return e.embedder != nil }), ", "),
		}
	}
	if e, ok := r.entries[r.defaultCompletion]; !ok || e.completer == nil {
		return nil, &Error{
			Code: CodeProfileInvalid, Class: Terminal,
			Msg:  fmt.Sprintf("default completion profile %q is not a completion profile", r.defaultCompletion),
			Hint: "name a completion profile among: " + strings.Join(r.names(func(e *entry) bool { return e.completer != nil }), ", "),
		}
	}
	return r, nil
}

func modelOr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// shownURL is a base URL fit for messages and listings: without user
// info, query or fragment, any of which may hold a key ("" when it does
// not parse).
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func invalidProfile(i int, name, field, msg, hint string) *Error {
	where := fmt.Sprintf("llm.providers[%d]", i)
	if name != "" {
		where += fmt.Sprintf(" (%q)", name)
	}
	return &Error{
		Code: CodeProfileInvalid, Class: Terminal, Profile: name,
		Msg:  fmt.Sprintf("%s.%s: %s", where, field, msg),
		Hint: hint,
	}
}

func validateProfile(i int, p Profile) error {
	if strings.TrimSpace(p.Name) == "" {
		return invalidProfile(i, "", "name", "name is required", "give the profile a name to refer to it by")
	}
	switch p.ProviderType {
	case ProviderOpenAI, ProviderAzure, ProviderOpenAICompatible, ProviderHashing, ProviderExtractive:
	default:
		return invalidProfile(i, p.Name, "provider_type", fmt.Sprintf("unknown provider_type %q", p.ProviderType),
			"use one of openai, azure, openai_compatible, hashing, extractive")
	}
	remote := p.ProviderType != ProviderHashing && p.ProviderType != ProviderExtractive
	if remote && p.Model == "" {
		return invalidProfile(i, p.Name, "model", "model is required for provider_type "+p.ProviderType,
			"set the provider's model id (for azure: the deployment name)")
	}
	if (p.ProviderType == ProviderOpenAI || p.ProviderType == ProviderAzure) && p.APIKey == "" {
		return invalidProfile(i, p.Name, "api_key", "api_key is required for provider_type "+p.ProviderType,
			"set api_key (e.g. from an environment variable in the app config)")
	}
	if (p.ProviderType == ProviderAzure || p.ProviderType == ProviderOpenAICompatible) && p.BaseURL == "" {
		return invalidProfile(i, p.Name, "base_url", "base_url is required for provider_type "+p.ProviderType,
			"set the endpoint, e.g. https://NAME.openai.azure.com or http://localhost:11434/v1")
	}
	if remote && p.BaseURL != "" {
		// The URL is quoted without user info and query, and not at all
		// when it does not parse: either may hold a key.
		u, err := url.Parse(p.BaseURL)
		if err != nil {
			return invalidProfile(i, p.Name, "base_url", "base_url is not a valid URL",
				"write the full endpoint with scheme, e.g. http://localhost:11434/v1, percent-encoding reserved characters")
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalidProfile(i, p.Name, "base_url", fmt.Sprintf("base_url %q is not an http(s) URL", shownURL(p.BaseURL)),
				"write the full endpoint with scheme, e.g. http://localhost:11434/v1")
		}
	}
	if p.Dims < 0 {
		return invalidProfile(i, p.Name, "dims", fmt.Sprintf("dims must not be negative (got %d)", p.Dims),
			"leave dims at 0 to use the model's size, or set a positive dimension")
	}
	if p.MaxConcurrency < 0 {
		return invalidProfile(i, p.Name, "max_concurrency", "max_concurrency must not be negative",
			fmt.Sprintf("leave it at 0 for the default %d", DefaultMaxConcurrency))
	}
	if p.Timeout < 0 {
		return invalidProfile(i, p.Name, "timeout", "timeout must not be negative",
			fmt.Sprintf("leave it at 0 for the default %s", DefaultTimeout))
	}
	if p.MaxRetries < 0 {
		return invalidProfile(i, p.Name, "max_retries", "max_retries must not be negative",
			fmt.Sprintf("leave it at 0 for the default %d", DefaultMaxRetries))
	}
	return nil
}

func (p *Profile) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

func (p *Profile) maxRetries() int {
	if p.MaxRetries > 0 {
		return p.MaxRetries
	}
	return DefaultMaxRetries
}

func (r *Registry) names(keep func(*entry) bool) []string {
	var out []string
	for _, n := range r.order {
		if keep(r.entries[n]) {
			out = append(out, n)
		}
	}
	return out
}

func (r *Registry) lookup(name string) (*entry, error) {
	e, ok := r.entries[name]
	if !ok {
		return nil, &Error{
			Code: CodeProfileNotFound, Class: Terminal, Profile: name,
			Msg:  "no such LLM profile",
			Hint: "known profiles: " + strings.Join(r.order, ", "),
		}
	}
	return e, nil
}

// Embedder returns the client of an embedding profile ("" picks the
// default embedding profile).
func (r *Registry) Embedder(name string) (Embedder, error) {
	if name == "" {
		name = r.defaultEmbedding
	}
	e, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	if e.embedder == nil {
		return nil, &Error{
			Code: CodeProfileWrongKind, Class: Terminal, Profile: name,
			Msg:  fmt.Sprintf("provider_type %s cannot embed", e.profile.ProviderType),
			Hint: "use an embedding profile: " + strings.Join(r.names(func(e *entry) bool { return e.embedder != nil }), ", "),
		}
	}
	return e.embedder, nil
}

// Completer returns the client of a completion profile ("" picks the
// default completion profile).
func (r *Registry) Completer(name string) (Completer, error) {
	if name == "" {
		name = r.defaultCompletion
	}
	e, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	if e.completer == nil {
		return nil, &Error{
			Code: CodeProfileWrongKind, Class: Terminal, Profile: name,
			Msg:  fmt.Sprintf("provider_type %s cannot answer chat requests", e.profile.ProviderType),
			Hint: "use a completion profile: " + strings.Join(r.names(func(e *entry) bool { return e.completer != nil }), ", "),
		}
	}
	return e.completer, nil
}

// DefaultEmbedding and DefaultCompletion name the profiles "" picks.
func (r *Registry) DefaultEmbedding() string  { return r.defaultEmbedding }
func (r *Registry) DefaultCompletion() string { return r.defaultCompletion }

// Profiles describes every profile, in config order with the built-in
// offline profiles last. It never includes secrets.
func (r *Registry) Profiles() []ProfileInfo {
	out := make([]ProfileInfo, 0, len(r.order))
	for _, n := range r.order {
		e := r.entries[n]
		p := e.profile
		info := ProfileInfo{
			Name: p.Name, ProviderType: p.ProviderType, Model: p.Model,
			Embedding: e.embedder != nil, Completion: e.completer != nil,
			BaseURL: shownURL(p.BaseURL), APIVersion: p.APIVersion,
			DefaultEmbedding:  n == r.defaultEmbedding,
			DefaultCompletion: n == r.defaultCompletion,
			Builtin:           e.builtin,
		}
		if e.embedder != nil {
			info.Dims = e.embedder.Dims()
			info.Model = e.embedder.Model()
		} else if e.completer != nil {
			info.Model = e.completer.Model()
		}
		if e.remote != nil {
			info.MaxConcurrency = e.remote.lim.ceiling
		}
		out = append(out, info)
	}
	return out
}

// Stats reports the limiter and counters of every remote profile, in
// config order. Offline profiles have no limiter and are not listed.
func (r *Registry) Stats() []ProfileStats {
	var out []ProfileStats
	for _, n := range r.order {
		if rc := r.entries[n].remote; rc != nil {
			out = append(out, rc.stats())
		}
	}
	return slices.Clip(out)
}
