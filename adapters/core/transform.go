package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/factflow/factflow/adapters"
)

// TransformConfig configures transform.
type TransformConfig struct {
	Set    map[string]string `json:"set" doc:"Fields to set: a dotted path (missing objects on the way are created) mapped to an expression evaluated against the incoming payload, e.g. {word_count: 'len(split(text, \" \"))', meta.lang: 'lang ?? \"en\"'}."`
	Rename map[string]string `json:"rename" doc:"Fields to move: from dotted path to dotted path. A missing source is ignored."`
	Remove []string          `json:"remove" doc:"Fields (dotted paths) to delete."`
	Keep   []string          `json:"keep" doc:"When set, only these fields (dotted paths) are kept; everything else is dropped."`
}

// Validate compiles every expression, so that a syntax error is reported
// when the pipeline is validated rather than on the first message.
func (c TransformConfig) Validate() error {
	_, err := compileSet(c.Set)
	errs := []error{err}
	for _, from := range slices.Sorted(maps.Keys(c.Rename)) {
		if err := adapters.ValidatePath(from); err != nil {
			errs = append(errs, fmt.Errorf("rename: %w", err))
		}
		if err := adapters.ValidatePath(c.Rename[from]); err != nil {
			errs = append(errs, fmt.Errorf("rename.%s: %w", from, err))
		}
	}
	for i, p := range c.Remove {
		if err := adapters.ValidatePath(p); err != nil {
			errs = append(errs, fmt.Errorf("remove[%d]: %w", i, err))
		}
	}
	for i, p := range c.Keep {
		if err := adapters.ValidatePath(p); err != nil {
			errs = append(errs, fmt.Errorf("keep[%d]: %w", i, err))
		}
	}
	if len(c.Set) == 0 && len(c.Rename) == 0 && len(c.Remove) == 0 && len(c.Keep) == 0 {
		errs = append(errs, errors.New("nothing to do: give at least one of set, rename, remove, keep"))
	}
	return errors.Join(errs...)
}

type setter struct {
	path string
	src  string
	prog *vm.Program
}

func compileSet(set map[string]string) ([]setter, error) {
	var errs []error
	out := make([]setter, 0, len(set))
	// Sorted paths make results independent of map order and put a parent
	// before its children (meta before meta.lang).
	for _, path := range slices.Sorted(maps.Keys(set)) {
		if err := adapters.ValidatePath(path); err != nil {
			errs = append(errs, fmt.Errorf("set: %w", err))
			continue
		}
		src := set[path]
		if strings.TrimSpace(src) == "" {
			errs = append(errs, fmt.Errorf("set.%s: empty expression", path))
			continue
		}
		prog, err := expr.Compile(src, expr.AllowUndefinedVariables())
		if err != nil {
			errs = append(errs, fmt.Errorf("set.%s: %w", path, err))
			continue
		}
		out = append(out, setter{path: path, src: src, prog: prog})
	}
	return out, errors.Join(errs...)
}

func transformSpec() adapters.Spec {
	s := adapters.Define("transform", "core", "Set, rename, remove or keep payload fields with expressions",
		func(cfg TransformConfig, _ adapters.Deps) (adapters.Adapter, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			setters, _ := compileSet(cfg.Set)
			return &transformAdapter{cfg: cfg, setters: setters}, nil
		})
	s.Description = "Reshapes the payload in four steps, in this order: `set`, `rename`, `remove`, `keep`.\n\n" +
		"`set` maps dotted field paths to [expr](https://expr-lang.org) expressions. Every expression " +
		"sees the incoming payload (not the results of the other expressions), its fields as " +
		"variables: `title + \" – \" + site`, `tokens * 2`, `upper(lang ?? \"en\")`, " +
		"`status_code >= 400 ? \"error\" : \"ok\"`, `len(segments)`. Undefined fields read as nil; " +
		"`$env[\"odd-name\"]` reaches fields that are not identifiers or that share the name of a " +
		"built-in function (`count`, `len`, `map`…). Expressions are compiled " +
		"once; a syntax error fails validation. An expression that fails on a message (a type " +
		"mismatch, say) fails it permanently with `TRANSFORM_EXPRESSION_FAILED`.\n\n" +
		"Dotted paths create the objects they need; a path through a value that is not an object " +
		"fails with `TRANSFORM_PATH_CONFLICT`."
	s.Reads = []string{"*"}
	s.Writes = []string{"*"}
	return s
}

type transformAdapter struct {
	cfg     TransformConfig
	setters []setter
}

func (a *transformAdapter) Process(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
	// Work on a copy: nested maps may be shared with sibling messages of a
	// fan-out, and the expressions must all see the original.
	src := in.Payload
	out := adapters.DeepCopy(src).(map[string]any)
	values := make([]any, len(a.setters))
	for i, s := range a.setters {
		v, err := expr.Run(s.prog, src)
		if err != nil {
			return nil, adapters.PermanentCoded("TRANSFORM_EXPRESSION_FAILED",
				"check the expression against the payload; use ?? for fields that may be missing",
				fmt.Errorf("set.%s (%s): %w", s.path, s.src, err))
		}
		values[i] = adapters.DeepCopy(v)
	}
	for i, s := range a.setters {
		if err := adapters.Assign(out, s.path, values[i]); err != nil {
			return nil, pathConflict("set."+s.path, err)
		}
	}
	for _, from := range slices.Sorted(maps.Keys(a.cfg.Rename)) {
		v, ok := adapters.Remove(out, from)
		if !ok {
			continue
		}
		if err := adapters.Assign(out, a.cfg.Rename[from], v); err != nil {
			return nil, pathConflict("rename."+from, err)
		}
	}
	for _, p := range a.cfg.Remove {
		adapters.Remove(out, p)
	}
	if len(a.cfg.Keep) > 0 {
		kept := map[string]any{}
		for _, p := range a.cfg.Keep {
			if v, ok := adapters.Lookup(out, p); ok {
				if err := adapters.Assign(kept, p, v); err != nil {
					return nil, pathConflict("keep", err)
				}
			}
		}
		out = kept
	}
	return adapters.Pass(out), nil
}

func pathConflict(where string, err error) error {
	return adapters.PermanentCoded("TRANSFORM_PATH_CONFLICT",
		"a dotted path runs through a field that is not an object; rename or remove that field first",
		fmt.Errorf("%s: %w", where, err))
}
