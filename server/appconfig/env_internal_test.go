package appconfig

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every environment twin names a real key, once.
func TestAppConfigEnvVarsNameKeys(t *testing.T) {
	t.Parallel()
	c := Defaults()
	seen := map[string]bool{}
	for _, e := range EnvVars {
		_, ok := fieldByPath(reflect.ValueOf(&c).Elem(), e.Key)
		require.True(t, ok, "%s names unknown key %s", e.Name, e.Key)
		require.False(t, seen[e.Key], "%s is set by two variables", e.Key)
		seen[e.Key] = true
	}
}
