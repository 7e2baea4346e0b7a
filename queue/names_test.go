package queue

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScope(t *testing.T) {
	got, err := Scope("", 10)
	require.NoError(t, err)
	require.Equal(t, GlobalScope, got, "no execution is the global scope")
	got, err = Scope("0193-ab_CD", 10)
	require.NoError(t, err)
	require.Equal(t, "0193-ab_CD", got)
	for _, bad := range []string{GlobalScope, strings.Repeat("a", 11), "a.b", "a b", "é"} {
		_, err := Scope(bad, 10)
		var qe *Error
		require.True(t, errors.As(err, &qe), "%q: %v", bad, err)
		require.Equal(t, CodeInvalidName, qe.Code, bad)
	}
}
