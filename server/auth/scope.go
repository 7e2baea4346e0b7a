package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is a level of access. The zero Scope is "public": no credentials
// needed.
type Scope int

// Scopes, weakest first.
const (
	Public Scope = iota
	Read
	Write
	Admin
)

// AllScopes are the scopes a principal can hold, weakest first.
var AllScopes = []Scope{Read, Write, Admin}

func (s Scope) String() string {
	switch s {
	case Public:
		return "public"
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("scope(%d)", int(s))
}

// ParseScope reads "read", "write" or "admin".
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	case "admin":
		return Admin, nil
	}
	return Public, &Error{Code: CodeScopeInvalid, Status: 400, Msg: fmt.Sprintf("%q is not a scope", s),
		Hint: "use read, write or admin"}
}

// ParseScopes reads a list of scope names, dropping duplicates.
func ParseScopes(names []string) ([]Scope, error) {
	out := make([]Scope, 0, len(names))
	for _, n := range names {
		s, err := ParseScope(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ScopeNames spells scopes for storage and JSON.
func ScopeNames(scopes []Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = s.String()
	}
	return out
}

// highest is the strongest of scopes (Public when empty).
func highest(scopes []Scope) Scope {
	h := Public
	for _, s := range scopes {
		h = max(h, s)
	}
	return h
}
