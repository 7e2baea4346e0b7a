package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// fanoutYAML sends each URL of the payload through two more routes, so a
// message's chain spans three routes.
const fanoutYAML = `version: "1.0"
routes:
  seed:
    inbound: { queue: lc.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: lc.mid } ]
  mid:
    inbound: { queue: lc.mid }
    adapters: [ { type: noop } ]
    outbound: [ { queue: lc.last } ]
  last:
    inbound: { queue: lc.last }
    adapters: [ { type: noop } ]
init_message: { route: seed, payload: {} }
`

// TestClientLineage explores the lineage of a real execution through every
// lineage command, in JSON and as tables.
func TestClientLineage(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	res := e.cli("config", "create", "-f", writeFile(t, "fanout.yaml", fanoutYAML))
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("config", "run", "fanout", "--tag", "lin-1", "--wait", "--progress", "none",
		"--payload", `{"urls": [{"url": "https://x.test/guides/a"}, {"url": "https://x.test/Guides/b"}, {"url": "https://x.test/api/c"}]}`)
	require.Equal(t, exitOK, res.code, res)

	all := decoded[api.Page[store.LineageEntry]](t, e.cli("lineage", "list", "--execution", "lin-1", "--output", "json"))
	require.Equal(t, 7, all.Total)
	last := decoded[api.Page[store.LineageEntry]](t, e.cli("lineage", "list", "--execution", "lin-1", "--route", "last",
		"--meta-contains", "url=GUIDES", "--sort", "started_at", "--order", "asc", "--output", "json"))
	require.Equal(t, 2, last.Total)
	for i := 1; i < len(last.Items); i++ {
		require.False(t, last.Items[i].StartedAt.Before(last.Items[i-1].StartedAt))
	}
	exact := decoded[api.Page[store.LineageEntry]](t, e.cli("lineage", "list", "--meta", "url=https://x.test/api/c",
		"--status", "completed", "--max-duration", "100000", "--output", "json"))
	require.Equal(t, 2, exact.Total, "mid and last carry the URL")
	leaf := last.Items[0]

	res = e.cli("lineage", "list", "--execution", "lin-1", "--route", "last", "--limit", "2")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^STARTED\s+ROUTE\s+ADAPTER\s+STATUS`, res.stdout)
	require.Contains(t, res.stdout, "1–2 of 3; next page: --offset 2")

	m := decoded[api.LineageMessage](t, e.cli("lineage", "get", leaf.CorrelationID, "--output", "json"))
	require.Equal(t, leaf.CorrelationID, m.CorrelationID)
	require.Len(t, m.Entries, 1)
	res = e.cli("lineage", "get", leaf.CorrelationID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "Metadata:")

	ch := decoded[api.LineageChain](t, e.cli("lineage", "chain", leaf.CorrelationID, "--output", "json"))
	require.Equal(t, 2, ch.Ancestors)
	routes := map[string]int{}
	for _, r := range ch.Entries {
		routes[r.RouteID] = r.Depth
	}
	require.Equal(t, map[string]int{"seed": -2, "mid": -1, "last": 0}, routes)
	res = e.cli("lineage", "chain", ch.RootCorrelationID, "--limit", "3")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "root "+ch.RootCorrelationID+"; 0 ancestors")
	require.Contains(t, res.stdout, "(truncated: raise --limit)")

	kids := decoded[api.Page[store.LineageEntry]](t, e.cli("lineage", "children", ch.RootCorrelationID, "--output", "json"))
	require.Equal(t, 3, kids.Total)

	fails := decoded[api.Page[store.LineageEntry]](t, e.cli("lineage", "failures", "--execution", "lin-1", "--output", "json"))
	require.Zero(t, fails.Total)
	res = e.cli("lineage", "failures")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "(none of 0)")

	batch := decoded[api.Page[store.LineageEntry]](t, e.cli("lineage", "batch", "no-such-batch", "--output", "json"))
	require.Zero(t, batch.Total)

	st := decoded[api.LineageStats](t, e.cli("lineage", "stats", "--execution", "lin-1", "--output", "json"))
	require.EqualValues(t, 7, st.Total)
	require.Len(t, st.Groups, 3)
	res = e.cli("lineage", "stats", "--execution", "lin-1")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `(?m)^Rows:\s+7`, res.stdout)
	require.Regexp(t, `(?m)^last\s+noop\s+3\s+0`, res.stdout)

	res = e.cli("lineage", "list", "--execution", "lin-1", "--output", "yaml")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "total: 7")

	// execution lineage: an execution's rows in start order, by tag.
	var out, errOut bytes.Buffer
	root := newRootCmd()
	execCmd, _, err := root.Find([]string{"execution"})
	require.NoError(t, err)
	if sub, _, _ := root.Find([]string{"execution", "lineage"}); sub == execCmd {
		execCmd.AddCommand(newExecutionLineageCmd()) // until the execution command lists it
	}
	root.SetArgs([]string{"execution", "lineage", "lin-1", "--limit", "3", "--output", "json", "--server", e.url})
	root.SetOut(&out)
	root.SetErr(&errOut)
	require.NoError(t, root.ExecuteContext(context.Background()), errOut.String())
	el := decoded[api.LineagePage](t, runResult{code: exitOK, stdout: out.String()})
	require.Equal(t, 7, el.Total)
	require.Len(t, el.Items, 3)
	require.Equal(t, "seed", el.Items[0].RouteID, "start order")

	// Bad input: unknown ids are 404s with their code, invalid filters
	// name the parameter; both exit 1.
	res = e.cli("lineage", "get", "no-such-message")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, store.CodeLineageNotFound)
	res = e.cli("lineage", "chain", "no-such-message")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, store.CodeLineageNotFound)
	res = e.cli("lineage", "list", "--execution", "no-such-tag")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, store.CodeExecutionNotFound)
	res = e.cli("lineage", "list", "--sort", "nonsense")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "query.sort")
	res = e.cli("lineage", "failures", "--started-from", "yesterday")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "query.started_from")
	res = e.cli("lineage", "list", "--meta", "novalue")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "query.metadata[0]")
	res = e.cli("lineage", "chain")
	require.Equal(t, exitUsage, res.code, res)
}
