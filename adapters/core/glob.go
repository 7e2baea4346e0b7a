package core

import (
	"fmt"
	"path"
	"strings"
)

// glob is a path pattern over slash-separated relative paths. Segments use
// path.Match syntax (*, ?, [a-z]); a "**" segment matches any number of
// segments, none included. A pattern without a slash matches the base name
// at any depth, as in .gitignore: "*.md" equals "**/*.md".
type glob struct {
	src  string
	segs []string
}

func compileGlob(p string) (glob, error) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "./")
	if p == "" {
		return glob{}, fmt.Errorf("empty pattern")
	}
	if strings.HasPrefix(p, "/") {
		return glob{}, fmt.Errorf("pattern %q must be relative to the root", p)
	}
	p = strings.TrimSuffix(p, "/")
	if !strings.Contains(p, "/") {
		p = "**/" + p
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if strings.Contains(s, "**") {
			return glob{}, fmt.Errorf("pattern %q: ** must be a whole path segment", p)
		}
		if _, err := path.Match(s, ""); err != nil {
			return glob{}, fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return glob{src: p, segs: segs}, nil
}

func (g glob) match(rel string) bool {
	return matchSegs(g.segs, strings.Split(rel, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			// Collapse runs of ** and try every split point.
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegs(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

type globs []glob

func compileGlobs(field string, patterns []string) (globs, error) {
	out := make(globs, 0, len(patterns))
	for i, p := range patterns {
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, g)
	}
	return out, nil
}

func (gs globs) any(rel string) bool {
	for _, g := range gs {
		if g.match(rel) {
			return true
		}
	}
	return false
}
