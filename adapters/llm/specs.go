package llmadapters

import "github.com/factflow/factflow/adapters"

// Specs returns the LLM adapter family.
func Specs() []adapters.Spec {
	return []adapters.Spec{
		transformSpec(),
		translatorSpec(),
	}
}
