// Package builtin assembles the registry of every adapter shipped with
// Factflow.
package builtin

import (
	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/adapters/core"
	"github.com/factflow/factflow/adapters/embeddings"
	llmadapters "github.com/factflow/factflow/adapters/llm"
	"github.com/factflow/factflow/adapters/markdown"
	"github.com/factflow/factflow/adapters/web"
)

// Registry returns a new registry holding every built-in adapter.
func Registry() *adapters.Registry {
	r := adapters.NewRegistry()
	r.MustRegister(core.Specs()...)
	r.MustRegister(web.Specs()...)
	r.MustRegister(markdown.Specs()...)
	r.MustRegister(embeddings.Specs()...)
	r.MustRegister(llmadapters.Specs()...)
	return r
}
