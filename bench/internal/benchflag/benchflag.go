// Package benchflag holds the flag conventions of the benchmark harnesses:
// no stray arguments, a -quick preset that replaces the defaults while
// flags given explicitly still win, and the main function that parses
// them and runs a harness until it ends or a signal stops it.
package benchflag

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// Parse parses args into fs. For each flag the caller then calls
// apply(name, set): set runs when the flag was given, or when quick is
// off (the flag's default is the full run's value).
func Parse(fs *flag.FlagSet, args []string, quick *bool) (apply func(name string, set func()), err error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return func(name string, set func()) {
		if given[name] || !*quick {
			set()
		}
	}, nil
}

// SplitList splits a comma-separated list, trimmed, without empty or
// repeated items.
func SplitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
