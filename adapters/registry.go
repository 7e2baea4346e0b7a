package adapters

import (
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/factflow/factflow/configspec"
)

// Spec describes one adapter type. It is the single source for parsing,
// defaults, validation, documentation and the JSON Schema of its config:
// the config struct's tags (json, default, minimum, maximum, enum,
// required, doc) drive all of them (see package configspec).
type Spec struct {
	Type     string `json:"type"`
	Category string `json:"category"`
	Summary  string `json:"summary"`
	// Description is longer Markdown documentation.
	Description string `json:"description,omitempty"`
	// Reads and Writes document the payload fields the adapter consumes and
	// produces.
	Reads  []string `json:"reads,omitempty"`
	Writes []string `json:"writes,omitempty"`
	// Emits tells whether the adapter fans out (Result.Emitted).
	Emits bool `json:"emits"`
	// Config is the config struct type (nil when the adapter takes none).
	Config reflect.Type `json:"-"`
	// New builds an adapter from a decoded config: a value of type Config
	// (defaults applied, validated).
	New func(cfg any, deps Deps) (Adapter, error) `json:"-"`
}

// Define builds a Spec whose config is of type C.
func Define[C any](typ, category, summary string, build func(cfg C, deps Deps) (Adapter, error)) Spec {
	return Spec{
		Type:     typ,
		Category: category,
		Summary:  summary,
		Config:   reflect.TypeFor[C](),
		New: func(cfg any, deps Deps) (Adapter, error) {
			c, ok := cfg.(C)
			if !ok {
				return nil, fmt.Errorf("adapter %s: config is %T, want %T", typ, cfg, *new(C))
			}
			return build(c, deps)
		},
	}
}

// NoConfig is the config type of adapters that take none.
type NoConfig struct{}

// Registry maps adapter type names to specs. Safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	specs map[string]Spec
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{specs: map[string]Spec{}} }

// Register adds a spec; registering a type twice is an error.
func (r *Registry) Register(s Spec) error {
	if s.Type == "" || s.New == nil {
		return fmt.Errorf("adapter spec %q: type and constructor are required", s.Type)
	}
	if s.Config != nil && s.Config.Kind() != reflect.Struct {
		return fmt.Errorf("adapter spec %q: config must be a struct type, got %s", s.Type, s.Config)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.specs[s.Type]; dup {
		return fmt.Errorf("adapter type %q registered twice", s.Type)
	}
	r.specs[s.Type] = s
	return nil
}

// MustRegister registers specs and panics on a programming error (a
// duplicate type); only for wiring built-ins at start.
func (r *Registry) MustRegister(specs ...Spec) {
	for _, s := range specs {
		if err := r.Register(s); err != nil {
			panic(err)
		}
	}
}

// Lookup returns the spec of typ.
func (r *Registry) Lookup(typ string) (Spec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.specs[typ]
	return s, ok
}

// ConfigType returns the config struct type of typ (nil for none); it lets
// the pipeline validator decode adapter configs without building adapters.
func (r *Registry) ConfigType(typ string) (reflect.Type, bool) {
	s, ok := r.Lookup(typ)
	return s.Config, ok
}

// Types returns every registered type, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.specs))
	for t := range r.specs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Specs returns every spec sorted by type.
func (r *Registry) Specs() []Spec {
	types := r.Types()
	out := make([]Spec, 0, len(types))
	for _, t := range types {
		s, _ := r.Lookup(t)
		out = append(out, s)
	}
	return out
}

// Build constructs an adapter of typ from a decoded config.
func (r *Registry) Build(typ string, cfg any, deps Deps) (Adapter, error) {
	s, ok := r.Lookup(typ)
	if !ok {
		return nil, fmt.Errorf("unknown adapter type %q", typ)
	}
	if cfg == nil && s.Config != nil {
		// The same defaults the pipeline loader applies: the struct tags.
		cfg = configspec.Defaults(s.Config)
	}
	a, err := s.New(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("building adapter %s: %w", typ, err)
	}
	return a, nil
}
