package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestConfigLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	c := e.createConfig("quick", quickPipeline)
	require.True(t, c.IsRunnable, c.ValidationReport)
	require.True(t, c.ValidationReport.IsValid)
	require.Equal(t, 1, c.Version)
	require.Equal(t, store.SourceAPI, c.SourceType)
	require.NotEmpty(t, c.Hash)

	// Invalid YAML is stored with its report and is not runnable.
	bad := e.createConfig("broken", "version: \"1.0\"\nroutes:\n  a:\n    inbound: { queue: q.a }\n    adapters: [ { type: no_such_adapter } ]\n")
	require.False(t, bad.IsRunnable)
	require.False(t, bad.ValidationReport.IsValid)
	require.Positive(t, bad.ValidationReport.ErrorCount)
	require.NotEmpty(t, bad.ValidationReport.Findings[0].Code)
	unparsable := e.createConfig("unparsable", "routes: [unclosed")
	require.False(t, unparsable.IsRunnable)

	// Get by id and by name.
	var got api.Config
	e.call(http.MethodGet, "/api/v1/configs/"+c.ID, nil, http.StatusOK, &got)
	require.Equal(t, quickPipeline, got.YAML)
	e.call(http.MethodGet, "/api/v1/configs/quick", nil, http.StatusOK, &got)
	require.Equal(t, c.ID, got.ID)

	// The list envelope paginates.
	var page api.Page[api.Config]
	e.call(http.MethodGet, "/api/v1/configs?limit=2", nil, http.StatusOK, &page)
	require.Equal(t, 3, page.Total)
	require.Len(t, page.Items, 2)
	require.True(t, page.HasMore)
	e.call(http.MethodGet, "/api/v1/configs?limit=2&offset=2", nil, http.StatusOK, &page)
	require.Len(t, page.Items, 1)
	require.False(t, page.HasMore)

	// Update bumps the version and re-validates.
	var upd api.Config
	e.call(http.MethodPut, "/api/v1/configs/"+bad.ID, api.ConfigUpdate{Name: "broken", ConfigYAML: quickPipeline}, http.StatusOK, &upd)
	require.Equal(t, 2, upd.Version)
	require.True(t, upd.IsRunnable)

	// Validate without storing.
	var rep api.ValidationReport
	e.call(http.MethodPost, "/api/v1/configs/validate", api.ConfigValidate{ConfigYAML: "version: \"2.0\"\n"}, http.StatusOK, &rep)
	require.False(t, rep.IsValid)
	require.Positive(t, rep.ErrorCount)
	e.call(http.MethodPost, "/api/v1/configs/validate", api.ConfigValidate{ConfigYAML: quickPipeline}, http.StatusOK, &rep)
	require.True(t, rep.IsValid, rep.Findings)

	// Running an invalid config is a 400 carrying the report.
	p := e.problem(e.do(http.MethodPost, "/api/v1/configs/unparsable/run", nil), http.StatusBadRequest, api.CodeConfigInvalid)
	require.NotNil(t, p.ValidationReport)
	require.False(t, p.ValidationReport.IsValid)

	// Delete deactivates: gone from the list and from names, still readable by id, not runnable.
	r := e.do(http.MethodDelete, "/api/v1/configs/"+c.ID, nil)
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	e.call(http.MethodGet, "/api/v1/configs", nil, http.StatusOK, &page)
	require.Equal(t, 2, page.Total)
	e.problem(e.do(http.MethodGet, "/api/v1/configs/quick", nil), http.StatusNotFound, store.CodeConfigNotFound)
	e.call(http.MethodGet, "/api/v1/configs/"+c.ID, nil, http.StatusOK, &got)
	require.False(t, got.IsActive)
	require.False(t, got.IsRunnable)
	e.problem(e.do(http.MethodPost, "/api/v1/configs/"+c.ID+"/run", nil), http.StatusConflict, api.CodeConfigInactive)
	e.call(http.MethodGet, "/api/v1/configs?include_inactive=true", nil, http.StatusOK, &page)
	require.Equal(t, 3, page.Total)
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("quick", quickPipeline)

	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", http.MethodPost, "/api/v1/configs", `{"name": "x", `, http.StatusBadRequest, api.CodeBadRequest},
		{"unknown field", http.MethodPost, "/api/v1/configs", `{"name": "x", "config_yaml": "", "colour": "red"}`, http.StatusUnprocessableEntity, api.CodeValidationFailed},
		{"wrong type", http.MethodPost, "/api/v1/configs", `{"name": 7, "config_yaml": ""}`, http.StatusUnprocessableEntity, api.CodeValidationFailed},
		{"missing field", http.MethodPost, "/api/v1/executions", `{}`, http.StatusUnprocessableEntity, api.CodeValidationFailed},
		{"bad tag", http.MethodPost, "/api/v1/executions", `{"config_id": "quick", "tag": "no spaces allowed"}`, http.StatusUnprocessableEntity, api.CodeValidationFailed},
		{"duplicate name", http.MethodPost, "/api/v1/configs", `{"name": "quick", "config_yaml": ""}`, http.StatusConflict, api.CodeConfigNameTaken},
		{"unknown config", http.MethodPost, "/api/v1/executions", `{"config_id": "nope"}`, http.StatusNotFound, store.CodeConfigNotFound},
		{"unknown execution id", http.MethodGet, "/api/v1/executions/0190c3a8-7d2e-7000-8000-000000000000", "", http.StatusNotFound, store.CodeExecutionNotFound},
		{"unknown tag", http.MethodGet, "/api/v1/executions/no-such-tag", "", http.StatusNotFound, store.CodeExecutionNotFound},
		{"unknown adapter", http.MethodGet, "/api/v1/adapters/nope", "", http.StatusNotFound, api.CodeAdapterNotFound},
		{"bad limit", http.MethodGet, "/api/v1/configs?limit=0", "", http.StatusUnprocessableEntity, api.CodeValidationFailed},
		{"bad state", http.MethodPatch, "/api/v1/pipelines/work", `{"state": "sleeping"}`, http.StatusUnprocessableEntity, api.CodeValidationFailed},
		{"missing object", http.MethodGet, "/api/v1/storage/objects/no%2Fsuch.md", "", http.StatusNotFound, api.CodeObjectNotFound},
		{"escaping key", http.MethodGet, "/api/v1/storage/objects/..%2F..%2Fetc%2Fpasswd/metadata", "", http.StatusBadRequest, api.CodeStorageKeyInvalid},
		{"unknown route", http.MethodGet, "/api/v1/nothing-here", "", http.StatusNotFound, api.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.do(tc.method, tc.path, body)
			if tc.code == api.CodeNotFound && r.header.Get("Content-Type") != "application/problem+json" {
				// The mux answers paths no operation claims.
				require.Equal(t, http.StatusNotFound, r.status)
				return
			}
			p := e.problem(r, tc.status, tc.code)
			if tc.status == http.StatusUnprocessableEntity {
				require.NotEmpty(t, p.Errors, "schema errors say where")
			}
		})
	}

	// A request id sent by the client becomes the correlation id.
	r := e.do(http.MethodGet, "/api/v1/configs/nope", nil, api.RequestIDHeader, "req-123")
	p := e.problem(r, http.StatusNotFound, store.CodeConfigNotFound)
	require.Equal(t, "req-123", p.CorrelationID)
	require.NotEmpty(t, p.Hint)
	// One that would garble logs is replaced by a fresh one.
	for _, bad := range []string{"has space", strings.Repeat("x", 129), "tab\there", "ünï"} {
		r = e.do(http.MethodGet, "/api/v1/configs/nope", nil, api.RequestIDHeader, bad)
		p = e.problem(r, http.StatusNotFound, store.CodeConfigNotFound)
		require.NotEqual(t, bad, p.CorrelationID)
		require.Len(t, p.CorrelationID, 36, "a UUID")
	}
}

func TestSystemAndAdapters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var h api.Health
	e.call(http.MethodGet, "/api/v1/system/health", nil, http.StatusOK, &h)
	require.Equal(t, "healthy", h.Status, h.Components)
	names := map[string]string{}
	for _, c := range h.Components {
		names[c.Name] = c.Status
	}
	require.Equal(t, map[string]string{"database": "healthy", "queue": "healthy", "storage": "healthy", "orchestrator": "healthy"}, names)

	var list api.AdapterList
	e.call(http.MethodGet, "/api/v1/adapters", nil, http.StatusOK, &list)
	require.Equal(t, len(e.c.Registry.Types()), list.Total)
	var ad api.Adapter
	e.call(http.MethodGet, "/api/v1/adapters/smart_segmenter", nil, http.StatusOK, &ad)
	require.Equal(t, "smart_segmenter", ad.Type)
	require.Equal(t, "object", ad.ConfigSchema["type"])
	require.Contains(t, ad.ConfigSchema["properties"], "max_tokens")
	require.True(t, strings.HasPrefix(ad.Example, "- type: smart_segmenter"), ad.Example)

	// Every example validates as an entry of a route.
	for _, a := range list.Items {
		var rep api.ValidationReport
		doc := "version: \"1.0\"\nroutes:\n  r:\n    inbound: { queue: r.in }\n    adapters:\n" +
			indentLines(a.Example, "      ") + "\n"
		e.call(http.MethodPost, "/api/v1/configs/validate", api.ConfigValidate{ConfigYAML: doc}, http.StatusOK, &rep)
		require.True(t, rep.IsValid, "example of %s: %+v\n%s", a.Type, rep.Findings, doc)
	}

	// The OpenAPI document is 3.1 and describes the operations.
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	e.call(http.MethodGet, "/openapi.json", nil, http.StatusOK, &doc)
	require.Equal(t, "3.1.0", doc.OpenAPI)
	for _, p := range []string{"/api/v1/configs", "/api/v1/executions/{id}/events", "/api/v1/storage/objects/{key}/metadata", "/api/v1/system/health"} {
		require.Contains(t, doc.Paths, p)
	}
	r := e.do(http.MethodGet, "/docs", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), "openapi")
}

// Every operation is documented: an id, a summary, a tag, and errors in
// the problem shape.
func TestOpenAPIDocumentsEveryOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	e.call(http.MethodGet, "/openapi.json", nil, http.StatusOK, &doc)
	problem, ok := doc.Components.Schemas["Problem"]
	require.True(t, ok, "the error schema is Problem")
	require.Contains(t, problem["properties"], "error_code")
	require.Contains(t, problem["properties"], "correlation_id")
	ops := 0
	for path, methods := range doc.Paths {
		for method, o := range methods {
			ops++
			require.NotEmpty(t, o["operationId"], "%s %s", method, path)
			require.NotEmpty(t, o["summary"], "%s %s", method, path)
			require.NotEmpty(t, o["tags"], "%s %s", method, path)
			require.NotEmpty(t, o["description"], "%s %s has no description", method, path)
			responses, _ := o["responses"].(map[string]any)
			require.Contains(t, responses, "500", "%s %s documents its errors", method, path)
			for code, r := range responses {
				if code[0] == '4' || code[0] == '5' {
					require.Contains(t, fmt.Sprint(r), "Problem", "%s %s: error %s is a problem document", method, path, code)
				}
			}
		}
	}
	require.GreaterOrEqual(t, ops, 25)
}

// While the database is away, calls that need it answer 503 with a code
// and a hint, health says which component is down, and everything works
// again once it is back.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	e := newEnv(t, func(c *container.Config) { c.DatabaseURL = dbURL })
	e.createConfig("quick", quickPipeline)

	restore := storetest.Outage(t, dbURL)
	p := e.problem(e.do(http.MethodGet, "/api/v1/configs/quick", nil), http.StatusServiceUnavailable, api.CodeDatabaseDown)
	require.NotEmpty(t, p.Hint)
	e.problem(e.do(http.MethodGet, "/api/v1/executions", nil), http.StatusServiceUnavailable, api.CodeDatabaseDown)
	var h api.Health
	e.call(http.MethodGet, "/api/v1/system/health", nil, http.StatusOK, &h)
	require.Equal(t, "unhealthy", h.Status)
	for _, c := range h.Components {
		if c.Name == "database" {
			require.Equal(t, "unhealthy", c.Status)
			require.NotEmpty(t, c.Message)
		}
	}

	restore()
	var got api.Config
	require.Eventually(t, func() bool {
		return e.do(http.MethodGet, "/api/v1/configs/quick", nil).status == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond)
	e.call(http.MethodGet, "/api/v1/configs/quick", nil, http.StatusOK, &got)
	require.Equal(t, "quick", got.Name)
	e.call(http.MethodGet, "/api/v1/system/health", nil, http.StatusOK, &h)
	require.Equal(t, "healthy", h.Status)
}

func indentLines(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
