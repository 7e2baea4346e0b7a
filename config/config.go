// Package config holds what ships inside the factflow binary: the default
// application config (app.yaml) and the shipped pipelines (pipelines/*.yaml).
// Embedding them keeps the binary self-contained: `factflow serve` needs no
// file beside it.
package config

import (
	"embed"
	"io/fs"
)

// AppYAML is the default application config. `factflow serve --config FILE`
// replaces it as a whole.
//
//go:embed app.yaml
var AppYAML []byte

//go:embed pipelines/*.yaml
var pipelines embed.FS

// Pipelines returns the shipped pipeline YAMLs at the root of the file
// system (docs-ingest.yaml, …).
func Pipelines() fs.FS {
	sub, err := fs.Sub(pipelines, "pipelines")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "pipelines" is not one.
		panic(err)
	}
	return sub
}
