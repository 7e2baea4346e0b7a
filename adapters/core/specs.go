package core

import "github.com/factflow/factflow/adapters"

// Specs returns the core adapter family.
func Specs() []adapters.Spec {
	return []adapters.Spec{
		noopSpec(),
		failSpec(),
		filterSpec(),
		transformSpec(),
		fileSourceSpec(),
	}
}
