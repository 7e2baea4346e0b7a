package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// explorerFixture is a small lineage graph over two executions:
//
//	r (seed) ─┬─ c1 (fetch) ── g1 (parse) ── gg1 (store)
//	          └─ c2 (fetch, failed)
//	x1 (other execution, replay batch b-1)
//
// Each message of e has two adapter rows except r. Start times ascend by
// one second per row in the order below; durations are 10, 20, 30, …
type explorerFixture struct {
	db          *store.DB
	e, other    string
	base        time.Time
	rows        []store.LineageEntry
	byCorrelate map[string][]store.LineageEntry
}

func newExplorerFixture(t *testing.T) *explorerFixture {
	t.Helper()
	db := storetest.NewDB(t)
	f := &explorerFixture{db: db, e: newExecution(t, db).ID, other: newExecution(t, db).ID,
		base: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), byCorrelate: map[string][]store.LineageEntry{}}
	type spec struct {
		exec, corr, parent, batch, route, adapter string
		idx                                       int
		status                                    string
		meta                                      map[string]any
	}
	specs := []spec{
		{f.e, "r", "", "", "seed", "url_expander", 0, store.StageCompleted, map[string]any{"url": "https://docs.example.com/"}},
		{f.e, "c1", "r", "", "fetch", "http_fetch", 0, store.StageCompleted, map[string]any{"url": "https://docs.example.com/Guides/intro", "title": "Intro", "depth": 1}},
		{f.e, "c1", "r", "", "fetch", "html_to_markdown", 1, store.StageCompleted, map[string]any{"url": "https://docs.example.com/Guides/intro", "title": "Intro", "depth": 1}},
		{f.e, "c2", "r", "", "fetch", "http_fetch", 0, store.StageCompleted, map[string]any{"url": "https://docs.example.com/api/ref", "title": "100% \"Reference\"", "depth": 1}},
		{f.e, "c2", "r", "", "fetch", "html_to_markdown", 1, store.StageFailed, map[string]any{"url": "https://docs.example.com/api/ref", "title": "100% \"Reference\"", "depth": 1}},
		{f.e, "g1", "c1", "", "parse", "chunker", 0, store.StageCompleted, map[string]any{"url": "https://docs.example.com/Guides/intro", "section": "setup"}},
		{f.e, "g1", "c1", "", "parse", "embedder", 1, store.StageSkipped, map[string]any{"url": "https://docs.example.com/Guides/intro", "section": "setup"}},
		{f.e, "gg1", "g1", "", "store", "writer", 0, store.StageCompleted, map[string]any{"key": "guides/intro.md", "public": true}},
		{f.other, "x1", "", "b-1", "fetch", "http_fetch", 0, store.StageFailed, map[string]any{"url": "https://other.example.org/x"}},
		{f.other, "x1", "", "b-1", "fetch", "html_to_markdown", 1, store.StageRetrying, nil},
	}
	w := newWriter(t, db, store.WriterOptions{})
	for i, s := range specs {
		d := float64(10 * (i + 1))
		le := store.LineageEntry{CorrelationID: s.corr, ParentCorrelationID: s.parent, ReplayBatchID: s.batch,
			ExecutionID: s.exec, RouteID: s.route, AdapterName: s.adapter, AdapterIndex: s.idx,
			StageName: s.route + "_stage", StageStatus: s.status, StartedAt: f.base.Add(time.Duration(i) * time.Second),
			DurationMS: d, Metadata: s.meta}
		if s.status != store.StageRetrying {
			le.CompletedAt = le.StartedAt.Add(time.Duration(d) * time.Millisecond)
		}
		w.Append(le)
		f.rows = append(f.rows, le)
		f.byCorrelate[s.corr] = append(f.byCorrelate[s.corr], le)
	}
	require.NoError(t, w.Flush(testCtx(t)))
	return f
}

func (f *explorerFixture) list(t *testing.T, lf store.LineageFilter) store.Page[store.LineageEntry] {
	t.Helper()
	p, err := f.db.Lineage().List(testCtx(t), lf)
	require.NoError(t, err)
	return p
}

// keys names rows by correlation id and adapter index, in page order.
func keys(items []store.LineageEntry) []string {
	out := []string{}
	for _, e := range items {
		out = append(out, e.CorrelationID+"/"+e.AdapterName)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestLineageListFilters(t *testing.T) {
	t.Parallel()
	f := newExplorerFixture(t)
	at := func(i int) time.Time { return f.base.Add(time.Duration(i) * time.Second) }

	all := f.list(t, store.LineageFilter{})
	require.Equal(t, 10, all.Total)
	require.Equal(t, "x1/html_to_markdown", keys(all.Items)[0], "newest first by default")
	require.Equal(t, "r/url_expander", keys(all.Items)[9])

	tests := []struct {
		name string
		f    store.LineageFilter
		want []string // in order
	}{
		{"execution", store.LineageFilter{ExecutionID: f.other, Order: "asc"}, []string{"x1/http_fetch", "x1/html_to_markdown"}},
		{"route", store.LineageFilter{RouteID: "parse", Order: "asc"}, []string{"g1/chunker", "g1/embedder"}},
		{"adapter", store.LineageFilter{AdapterName: "http_fetch", Order: "asc"}, []string{"c1/http_fetch", "c2/http_fetch", "x1/http_fetch"}},
		{"stage name", store.LineageFilter{StageName: "store_stage"}, []string{"gg1/writer"}},
		{"stage status", store.LineageFilter{StageStatus: store.StageFailed}, []string{"x1/http_fetch", "c2/html_to_markdown"}},
		{"correlation", store.LineageFilter{CorrelationID: "c1", Order: "asc"}, []string{"c1/http_fetch", "c1/html_to_markdown"}},
		{"parent", store.LineageFilter{ParentCorrelationID: "c1"}, []string{"g1/embedder", "g1/chunker"}},
		{"replay batch", store.LineageFilter{ReplayBatchID: "b-1", Order: "asc"}, []string{"x1/http_fetch", "x1/html_to_markdown"}},
		{"started range: from inclusive, to exclusive", store.LineageFilter{StartedFrom: at(2), StartedTo: at(4), Order: "asc"},
			[]string{"c1/html_to_markdown", "c2/http_fetch"}},
		{"completed range", store.LineageFilter{CompletedFrom: at(8), Order: "asc"}, []string{"x1/http_fetch"}},
		{"duration range", store.LineageFilter{MinDurationMS: ptr(30.0), MaxDurationMS: ptr(50.0), Order: "asc"},
			[]string{"c1/html_to_markdown", "c2/http_fetch", "c2/html_to_markdown"}},
		{"metadata exact string", store.LineageFilter{MetadataEquals: map[string]string{"title": "Intro"}, Order: "asc"},
			[]string{"c1/http_fetch", "c1/html_to_markdown"}},
		{"metadata exact is case-sensitive", store.LineageFilter{MetadataEquals: map[string]string{"title": "intro"}}, []string{}},
		{"metadata exact number and bool", store.LineageFilter{MetadataEquals: map[string]string{"depth": "1", "title": "Intro"}, Order: "asc"},
			[]string{"c1/http_fetch", "c1/html_to_markdown"}},
		{"metadata exact bool", store.LineageFilter{MetadataEquals: map[string]string{"public": "true"}}, []string{"gg1/writer"}},
		{"metadata contains ignores case", store.LineageFilter{MetadataContains: map[string]string{"url": "guides"}, Order: "asc"},
			[]string{"c1/http_fetch", "c1/html_to_markdown", "g1/chunker", "g1/embedder"}},
		{"metadata contains is per key", store.LineageFilter{MetadataContains: map[string]string{"title": "guides"}}, []string{}},
		{"metadata contains takes wildcards literally", store.LineageFilter{MetadataContains: map[string]string{"title": "100%"}, Order: "asc"},
			[]string{"c2/http_fetch", "c2/html_to_markdown"}},
		{"metadata contains a quote", store.LineageFilter{MetadataContains: map[string]string{"title": `"reference"`}, Order: "asc"},
			[]string{"c2/http_fetch", "c2/html_to_markdown"}},
		{"wildcard alone matches nothing more", store.LineageFilter{MetadataContains: map[string]string{"title": "_"}}, []string{}},
		{"free text over values", store.LineageFilter{Query: "SETUP", Order: "asc"}, []string{"g1/chunker", "g1/embedder"}},
		{"free text ignores keys", store.LineageFilter{Query: "section"}, []string{}},
		{"free text finds other hosts", store.LineageFilter{Query: "other.example"}, []string{"x1/http_fetch"}},
		{"filters combine", store.LineageFilter{ExecutionID: f.e, AdapterName: "html_to_markdown", StageStatus: store.StageFailed},
			[]string{"c2/html_to_markdown"}},
		{"sort by duration desc", store.LineageFilter{ExecutionID: f.other, Sort: "duration_ms"},
			[]string{"x1/html_to_markdown", "x1/http_fetch"}},
		{"sort by completed_at asc keeps unfinished last", store.LineageFilter{ExecutionID: f.other, Sort: "completed_at", Order: "ASC"},
			[]string{"x1/http_fetch", "x1/html_to_markdown"}},
		{"sort by completed_at desc keeps unfinished last", store.LineageFilter{ExecutionID: f.other, Sort: "completed_at", Order: "desc"},
			[]string{"x1/http_fetch", "x1/html_to_markdown"}},
		{"sort by started_at asc", store.LineageFilter{RouteID: "fetch", AdapterName: "http_fetch", Sort: "started_at", Order: "asc"},
			[]string{"c1/http_fetch", "c2/http_fetch", "x1/http_fetch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.list(t, tt.f)
			require.Equal(t, tt.want, keys(p.Items))
			require.Equal(t, len(tt.want), p.Total)
		})
	}

	t.Run("pagination", func(t *testing.T) {
		p := f.list(t, store.LineageFilter{ExecutionID: f.e, Order: "asc", Limit: 3, Offset: 3})
		require.Equal(t, 8, p.Total)
		require.Equal(t, []string{"c2/http_fetch", "c2/html_to_markdown", "g1/chunker"}, keys(p.Items))
		require.True(t, p.HasMore())
		p = f.list(t, store.LineageFilter{ExecutionID: f.e, Limit: 3, Offset: 30})
		require.Equal(t, 8, p.Total)
		require.Empty(t, p.Items)
		require.NotNil(t, p.Items)
	})

	t.Run("rows round-trip", func(t *testing.T) {
		p := f.list(t, store.LineageFilter{CorrelationID: "gg1"})
		require.Len(t, p.Items, 1)
		got, want := p.Items[0], f.byCorrelate["gg1"][0]
		require.NotEmpty(t, got.ID)
		require.True(t, want.StartedAt.Equal(got.StartedAt))
		require.Equal(t, want.Metadata["key"], got.Metadata["key"])
		require.Equal(t, true, got.Metadata["public"])
		require.Equal(t, want.DurationMS, got.DurationMS)
	})
}

func TestLineageListBadInput(t *testing.T) {
	t.Parallel()
	f := newExplorerFixture(t)
	at := f.base
	tests := []struct {
		name  string
		f     store.LineageFilter
		field string
	}{
		{"execution id", store.LineageFilter{ExecutionID: "not-a-uuid"}, "execution_id"},
		{"stage status", store.LineageFilter{StageStatus: "exploded"}, "stage_status"},
		{"sort", store.LineageFilter{Sort: "id; DROP TABLE lineage"}, "sort"},
		{"order", store.LineageFilter{Order: "sideways"}, "order"},
		{"started range", store.LineageFilter{StartedFrom: at, StartedTo: at.Add(-time.Second)}, "started_to"},
		{"completed range", store.LineageFilter{CompletedFrom: at, CompletedTo: at.Add(-time.Second)}, "completed_to"},
		{"min duration", store.LineageFilter{MinDurationMS: ptr(-1.0)}, "min_duration_ms"},
		{"max duration", store.LineageFilter{MaxDurationMS: ptr(-1.0)}, "max_duration_ms"},
		{"duration range", store.LineageFilter{MinDurationMS: ptr(5.0), MaxDurationMS: ptr(4.0)}, "max_duration_ms"},
		{"metadata key", store.LineageFilter{MetadataEquals: map[string]string{"": "x"}}, "metadata"},
		{"contains text", store.LineageFilter{MetadataContains: map[string]string{"url": ""}}, "metadata_contains"},
		{"limit", store.LineageFilter{Limit: -1}, "limit"},
		{"offset", store.LineageFilter{Offset: -1}, "offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.db.Lineage().List(testCtx(t), tt.f)
			require.Error(t, err)
			require.ErrorIs(t, err, store.ErrInvalidArgument)
			require.Equal(t, store.CodeInvalidArgument, store.Code(err))
			field, ok := store.IsLineageFilterError(err)
			require.True(t, ok, err)
			require.Equal(t, tt.field, field)
			require.Contains(t, err.Error(), tt.field)
		})
	}
	// The table is intact after the hostile sort.
	require.Equal(t, 10, f.list(t, store.LineageFilter{}).Total)
}

func TestLineageGetChainChildren(t *testing.T) {
	t.Parallel()
	f := newExplorerFixture(t)
	ctx := testCtx(t)
	l := f.db.Lineage()

	rows, err := l.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, []string{"c1/http_fetch", "c1/html_to_markdown"}, keys(rows))

	chain, err := l.Chain(ctx, "g1", 0)
	require.NoError(t, err)
	require.Equal(t, "r", chain.RootCorrelationID)
	require.Equal(t, 2, chain.Ancestors)
	require.Equal(t, 1, chain.Descendants)
	require.False(t, chain.Truncated)
	depths := map[string]int{}
	var order []string
	for _, e := range chain.Entries {
		depths[e.CorrelationID] = e.Depth
		order = append(order, e.CorrelationID+"/"+e.AdapterName)
	}
	require.Equal(t, map[string]int{"r": -2, "c1": -1, "g1": 0, "gg1": 1}, depths)
	require.Equal(t, []string{"r/url_expander", "c1/http_fetch", "c1/html_to_markdown", "g1/chunker", "g1/embedder", "gg1/writer"}, order,
		"root first, then each generation in start order")

	chain, err = l.Chain(ctx, "r", 0)
	require.NoError(t, err)
	require.Equal(t, "r", chain.RootCorrelationID)
	require.Zero(t, chain.Ancestors)
	require.Equal(t, 4, chain.Descendants, "c1, c2, g1, gg1")
	require.Len(t, chain.Entries, 8)

	chain, err = l.Chain(ctx, "r", 3)
	require.NoError(t, err)
	require.True(t, chain.Truncated)
	require.Len(t, chain.Entries, 3)

	_, err = l.Chain(ctx, "r", store.MaxChainLimit+1)
	field, ok := store.IsLineageFilterError(err)
	require.True(t, ok, err)
	require.Equal(t, "limit", field)

	kids, err := l.Children(ctx, "r", 0, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"c1/http_fetch", "c1/html_to_markdown", "c2/http_fetch", "c2/html_to_markdown"}, keys(kids.Items))
	kids, err = l.Children(ctx, "gg1", 0, 0)
	require.NoError(t, err)
	require.Zero(t, kids.Total)

	for name, call := range map[string]func() error{
		"get":      func() error { _, err := l.Get(ctx, "nope"); return err },
		"chain":    func() error { _, err := l.Chain(ctx, "nope", 0); return err },
		"children": func() error { _, err := l.Children(ctx, "nope", 0, 0); return err },
	} {
		err := call()
		require.ErrorIs(t, err, store.ErrNotFound, name)
		require.Equal(t, store.CodeLineageNotFound, store.Code(err), name)
	}
	_, err = l.Get(ctx, "")
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}

// Parent links never form a cycle in rows the engine writes, but a chain
// over hand-made rows that do must still end.
func TestLineageChainCycleEnds(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	w := newWriter(t, db, store.WriterOptions{})
	e := newExecution(t, db)
	now := time.Now()
	for _, p := range [][2]string{{"a", "b"}, {"b", "a"}} {
		w.Append(store.LineageEntry{CorrelationID: p[0], ParentCorrelationID: p[1], ExecutionID: e.ID, RouteID: "r",
			AdapterName: "n", StageName: "s", StageStatus: store.StageCompleted, StartedAt: now, CompletedAt: now})
	}
	require.NoError(t, w.Flush(testCtx(t)))
	chain, err := db.Lineage().Chain(testCtx(t), "a", 0)
	require.NoError(t, err)
	require.True(t, chain.Truncated, "the depth cap cut the walk")
	require.Len(t, chain.Entries, 2, "each message once, at its nearest depth")
}

func TestLineageFailuresAndBatch(t *testing.T) {
	t.Parallel()
	f := newExplorerFixture(t)
	ctx := testCtx(t)
	l := f.db.Lineage()

	p, err := l.Failures(ctx, store.LineageFilter{})
	require.NoError(t, err)
	require.Equal(t, []string{"x1/http_fetch", "c2/html_to_markdown"}, keys(p.Items), "newest first")
	p, err = l.Failures(ctx, store.LineageFilter{ExecutionID: f.e, StageStatus: store.StageCompleted})
	require.NoError(t, err)
	require.Equal(t, []string{"c2/html_to_markdown"}, keys(p.Items), "only failures, whatever the status asked")
	_, err = l.Failures(ctx, store.LineageFilter{ExecutionID: "x"})
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	p, err = l.ByBatch(ctx, "b-1", 1, 0)
	require.NoError(t, err)
	require.Equal(t, 2, p.Total)
	require.Equal(t, []string{"x1/http_fetch"}, keys(p.Items), "start order")
	p, err = l.ByBatch(ctx, "b-unknown", 0, 0)
	require.NoError(t, err)
	require.Zero(t, p.Total)
	_, err = l.ByBatch(ctx, " ", 0, 0)
	field, ok := store.IsLineageFilterError(err)
	require.True(t, ok)
	require.Equal(t, "replay_batch_id", field)
}

func TestLineageStats(t *testing.T) {
	t.Parallel()
	f := newExplorerFixture(t)
	ctx := testCtx(t)
	l := f.db.Lineage()

	st, err := l.Stats(ctx, store.LineageStatsFilter{})
	require.NoError(t, err)
	require.EqualValues(t, 10, st.Total)
	require.Equal(t, map[string]int64{"completed": 6, "failed": 2, "skipped": 1, "retrying": 1}, st.ByStatus)
	require.InDelta(t, 0.2, st.FailureRate, 1e-9)
	require.InDelta(t, 55, st.AvgDurationMS, 1e-9)
	require.InDelta(t, 55, st.P50DurationMS, 1e-9, "percentile_cont interpolates between 50 and 60")
	require.InDelta(t, 95.5, st.P95DurationMS, 1e-9)
	require.NotNil(t, st.FirstStarted)
	require.NotNil(t, st.LastCompleted)
	require.Positive(t, st.Throughput)

	groups := map[string]store.LineageGroupStats{}
	for _, g := range st.Groups {
		groups[g.RouteID+"/"+g.AdapterName] = g
	}
	require.Len(t, groups, 6)
	hf := groups["fetch/http_fetch"] // rows 2, 4, 9: 20, 40, 90 ms
	require.EqualValues(t, 3, hf.Total)
	require.Equal(t, map[string]int64{"completed": 2, "failed": 1}, hf.ByStatus)
	require.InDelta(t, 1.0/3, hf.FailureRate, 1e-9)
	require.InDelta(t, 50, hf.AvgDurationMS, 1e-9)
	require.InDelta(t, 40, hf.P50DurationMS, 1e-9)
	require.InDelta(t, 85, hf.P95DurationMS, 1e-9)

	st, err = l.Stats(ctx, store.LineageStatsFilter{ExecutionID: f.other})
	require.NoError(t, err)
	require.EqualValues(t, 2, st.Total)
	require.InDelta(t, 0.5, st.FailureRate, 1e-9)

	st, err = l.Stats(ctx, store.LineageStatsFilter{StartedFrom: f.base.Add(time.Hour)})
	require.NoError(t, err)
	require.Zero(t, st.Total)
	require.Empty(t, st.Groups)
	require.Zero(t, st.Throughput)

	_, err = l.Stats(ctx, store.LineageStatsFilter{ExecutionID: "nope"})
	require.ErrorIs(t, err, store.ErrInvalidArgument)
	_, err = l.Stats(ctx, store.LineageStatsFilter{StartedFrom: f.base, StartedTo: f.base.Add(-1)})
	var fe *store.LineageFilterError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "started_to", fe.Field)
}
