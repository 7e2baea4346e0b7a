package web

import "github.com/factflow/factflow/adapters"

// Specs returns the web adapter family.
func Specs() []adapters.Spec {
	return []adapters.Spec{}
}
