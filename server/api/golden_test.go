package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// goldenOpenAPI is the published API; FACTFLOW_UPDATE_GOLDEN=1 rewrites it
// (`make update-openapi`), after which the diff is reviewed like code.
var goldenOpenAPI = filepath.Join("testdata", "openapi.json")

// TestOpenAPIGolden fails on any change of /openapi.json, so a breaking
// change of the API cannot land by accident.
func TestOpenAPIGolden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.status)
	var doc any
	require.NoError(t, json.Unmarshal(r.body, &doc))
	got, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')

	if os.Getenv("FACTFLOW_UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.MkdirAll(filepath.Dir(goldenOpenAPI), 0o755))
		require.NoError(t, os.WriteFile(goldenOpenAPI, got, 0o644))
		return
	}
	want, err := os.ReadFile(goldenOpenAPI)
	require.NoError(t, err, "no golden OpenAPI document: run `make update-openapi`")
	if !bytes.Equal(want, got) {
		require.Equal(t, string(want), string(got),
			"/openapi.json changed: if the change is intended (and compatible, or announced), run `make update-openapi` and commit testdata/openapi.json")
	}
}
