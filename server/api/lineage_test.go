package api_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// lineageYAML fans one seed message out to a URL per item; each URL then
// passes through two more routes, so a chain spans three routes.
const lineageYAML = `version: "1.0"
routes:
  seed:
    inbound: { queue: l.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: l.mid } ]
  mid:
    inbound: { queue: l.mid }
    adapters: [ { type: noop } ]
    outbound: [ { queue: l.last } ]
  last:
    inbound: { queue: l.last }
    adapters: [ { type: noop } ]
init_message: { route: seed, payload: {} }
`

const lineageURLs = `{"urls": [{"url": "https://x.test/guides/one"}, {"url": "https://x.test/Guides/two"}, {"url": "https://x.test/api/three"}]}`

func (e *env) lineagePage(path string) api.Page[store.LineageEntry] {
	e.t.Helper()
	var p api.Page[store.LineageEntry]
	e.call(http.MethodGet, path, nil, http.StatusOK, &p)
	return p
}

func TestLineageExplorer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("fanout", lineageYAML)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/fanout/run?tag=lin", lineageURLs, http.StatusCreated, &ex)
	require.Equal(t, store.StatusCompleted, e.waitStatus(ex.ID, true).Status)

	// The execution filter takes a tag; 1 seed row + 3 mid + 3 last.
	all := e.lineagePage("/api/v1/lineage?execution_id=lin&limit=100")
	require.Equal(t, 7, all.Total)
	require.Len(t, all.Items, 7)
	for i := 1; i < len(all.Items); i++ {
		require.False(t, all.Items[i].StartedAt.After(all.Items[i-1].StartedAt), "newest first")
	}
	byID := e.lineagePage("/api/v1/lineage?execution_id=" + ex.ID + "&limit=2&offset=2&order=asc")
	require.Equal(t, 7, byID.Total)
	require.Len(t, byID.Items, 2)
	require.True(t, byID.HasMore)

	last := e.lineagePage("/api/v1/lineage?execution_id=lin&route_id=last&adapter_name=noop&stage_status=completed")
	require.Equal(t, 3, last.Total)

	// Partial, case-insensitive match inside metadata, as the engine
	// records it.
	var target store.LineageEntry
	for _, r := range last.Items {
		if u, _ := r.Metadata["url"].(string); u == "https://x.test/Guides/two" {
			target = r
		}
	}
	require.NotEmpty(t, target.CorrelationID, "the last route's rows carry the URL in metadata: %+v", last.Items)
	guides := e.lineagePage("/api/v1/lineage?execution_id=lin&route_id=last&metadata_contains=" + url.QueryEscape("url=GUIDES"))
	require.Equal(t, 2, guides.Total)
	exact := e.lineagePage("/api/v1/lineage?route_id=last&metadata=" + url.QueryEscape("url=https://x.test/Guides/two"))
	require.Equal(t, 1, exact.Total)
	require.Equal(t, target.CorrelationID, exact.Items[0].CorrelationID)
	require.Equal(t, 6, e.lineagePage("/api/v1/lineage?execution_id=lin&q=x.test").Total, "mid and last rows carry the URL")

	// One message; its chain goes up through mid to the seed and spans
	// three routes.
	var msg api.LineageMessage
	e.call(http.MethodGet, "/api/v1/lineage/"+target.CorrelationID, nil, http.StatusOK, &msg)
	require.Equal(t, ex.ID, msg.ExecutionID)
	require.Len(t, msg.Entries, 1)
	require.NotEmpty(t, msg.ParentCorrelationID)

	var chain api.LineageChain
	e.call(http.MethodGet, "/api/v1/lineage/"+target.CorrelationID+"/chain", nil, http.StatusOK, &chain)
	require.Equal(t, 2, chain.Ancestors)
	require.Zero(t, chain.Descendants)
	routes := map[string]int{}
	for _, r := range chain.Entries {
		routes[r.RouteID] = r.Depth
	}
	require.Equal(t, map[string]int{"seed": -2, "mid": -1, "last": 0}, routes)
	seedID := chain.RootCorrelationID
	require.Equal(t, chain.Entries[0].CorrelationID, seedID)

	var down api.LineageChain
	e.call(http.MethodGet, "/api/v1/lineage/"+seedID+"/chain", nil, http.StatusOK, &down)
	require.Equal(t, 6, down.Descendants)
	require.Len(t, down.Entries, 7)
	var cut api.LineageChain
	e.call(http.MethodGet, "/api/v1/lineage/"+seedID+"/chain?limit=2", nil, http.StatusOK, &cut)
	require.True(t, cut.Truncated)
	require.Len(t, cut.Entries, 2)

	kids := e.lineagePage("/api/v1/lineage/" + seedID + "/children")
	require.Equal(t, 3, kids.Total)
	for _, k := range kids.Items {
		require.Equal(t, "mid", k.RouteID)
		require.Equal(t, seedID, k.ParentCorrelationID)
	}

	require.Zero(t, e.lineagePage("/api/v1/lineage/failures?execution_id=lin").Total)
	require.Zero(t, e.lineagePage("/api/v1/lineage/batch/no-such-batch").Total)

	var st api.LineageStats
	e.call(http.MethodGet, "/api/v1/lineage/stats?execution_id=lin", nil, http.StatusOK, &st)
	require.EqualValues(t, 7, st.Total)
	require.Equal(t, map[string]int64{"completed": 7}, st.ByStatus)
	require.Zero(t, st.FailureRate)
	require.Len(t, st.Groups, 3)
	var none api.LineageStats
	e.call(http.MethodGet, "/api/v1/lineage/stats?started_from="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), nil, http.StatusOK, &none)
	require.Zero(t, none.Total)
}

func TestLineageExplorerBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	for _, path := range []string{"/api/v1/lineage/nope", "/api/v1/lineage/nope/chain", "/api/v1/lineage/nope/children"} {
		p := e.problem(e.do(http.MethodGet, path, nil), http.StatusNotFound, store.CodeLineageNotFound)
		require.NotEmpty(t, p.Hint, path)
	}
	for _, path := range []string{"/api/v1/lineage?execution_id=no-such-tag", "/api/v1/lineage/failures?execution_id=no-such-tag",
		"/api/v1/lineage/stats?execution_id=no-such-tag"} {
		e.problem(e.do(http.MethodGet, path, nil), http.StatusNotFound, store.CodeExecutionNotFound)
	}

	now := time.Now().UTC()
	tests := []struct{ query, location string }{
		{"sort=id", "query.sort"},
		{"order=up", "query.order"},
		{"started_from=yesterday", "query.started_from"},
		{"completed_to=2026-13-01", "query.completed_to"},
		{"limit=0", "query.limit"},
		{"limit=5000", "query.limit"},
		{"offset=-1", "query.offset"},
		{"stage_status=exploded", "query.stage_status"},
		{"min_duration_ms=-1", "query.min_duration_ms"},
		{"metadata=novalue", "query.metadata[0]"},
		{"metadata_contains=url=", "query.metadata_contains[0]"},
		{"started_from=" + url.QueryEscape(now.Format(time.RFC3339)) + "&started_to=" + url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)), "query.started_to"},
		{"min_duration_ms=5&max_duration_ms=1", "query.max_duration_ms"},
	}
	for _, tt := range tests {
		for _, base := range []string{"/api/v1/lineage?", "/api/v1/lineage/failures?"} {
			p := e.problem(e.do(http.MethodGet, base+tt.query, nil), http.StatusUnprocessableEntity, api.CodeValidationFailed)
			var locs []string
			for _, d := range p.Errors {
				locs = append(locs, d.Location)
			}
			require.Contains(t, locs, tt.location, "%s%s: %+v", base, tt.query, p)
		}
	}
	p := e.problem(e.do(http.MethodGet, "/api/v1/lineage/x/chain?limit=10001", nil), http.StatusUnprocessableEntity, api.CodeValidationFailed)
	require.Equal(t, "query.limit", p.Errors[0].Location)
	p = e.problem(e.do(http.MethodGet, "/api/v1/lineage/stats?started_to=soon", nil), http.StatusUnprocessableEntity, api.CodeValidationFailed)
	require.Equal(t, "query.started_to", p.Errors[0].Location)
	p = e.problem(e.do(http.MethodGet, "/api/v1/lineage/batch/b?limit=0", nil), http.StatusUnprocessableEntity, api.CodeValidationFailed)
	require.Equal(t, "query.limit", p.Errors[0].Location)

	// The batch route shares its pattern with other two-segment paths; only
	// "batch" reaches it, and the document shows the documented path.
	e.problem(e.do(http.MethodGet, "/api/v1/lineage/other/b", nil), http.StatusNotFound, api.CodeNotFound)
	doc := e.do(http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, doc.status)
	require.Contains(t, string(doc.body), `"/api/v1/lineage/batch/{batch_id}"`)
	require.NotContains(t, string(doc.body), "lineage_kind")

	// max_duration_ms=0 is a bound, not an absent filter: no row of an
	// empty table is listed either way, but the value is accepted.
	require.Zero(t, e.lineagePage("/api/v1/lineage?max_duration_ms=0").Total)
}
