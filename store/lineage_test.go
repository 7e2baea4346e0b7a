package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestLineageQueries(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	e, other := newExecution(t, db), newExecution(t, db)
	w := newWriter(t, db, store.WriterOptions{})

	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	entry := func(exec, corr, route string, idx int, status string, at int) store.LineageEntry {
		return store.LineageEntry{
			CorrelationID: corr, ParentCorrelationID: "root", ReplayBatchID: "batch-1", ExecutionID: exec,
			RouteID: route, AdapterName: "adapter", AdapterIndex: idx, StageName: route + "_stage", StageStatus: status,
			InputHash: "h", StartedAt: base.Add(time.Duration(at) * time.Second),
			CompletedAt: base.Add(time.Duration(at)*time.Second + 250*time.Millisecond), DurationMS: 250,
			Metadata: map[string]any{"url": "https://example.com"}, ErrorInfo: map[string]any{"class": "none"},
		}
	}
	in := []store.LineageEntry{
		entry(e.ID, "m1", "fetch", 0, store.StageCompleted, 0),
		entry(e.ID, "m1", "fetch", 1, store.StageCompleted, 1),
		entry(e.ID, "m2", "parse", 0, store.StageFailed, 2),
		entry(e.ID, "m3", "parse", 0, store.StageCompleted, 3),
		entry(e.ID, "m4", "parse", 0, store.StageCompleted, 4),
		entry(other.ID, "x1", "fetch", 0, store.StageCompleted, 5),
	}
	noCompletion := entry(e.ID, "m5", "store", 0, store.StageRetrying, 6)
	noCompletion.CompletedAt, noCompletion.ParentCorrelationID, noCompletion.Metadata = time.Time{}, "", nil
	in = append(in, noCompletion)
	for _, le := range in {
		w.Append(le)
	}
	require.NoError(t, w.Flush(ctx))

	page, err := db.Lineage().ByExecution(ctx, e.ID, 4, 0)
	require.NoError(t, err)
	require.Equal(t, 6, page.Total)
	require.Len(t, page.Items, 4)
	require.True(t, page.HasMore())
	first := page.Items[0]
	_, err = uuid.Parse(first.ID)
	require.NoError(t, err, "rows carry their id")
	first.ID = ""
	require.Equal(t, "m1", first.CorrelationID)
	require.True(t, in[0].StartedAt.Equal(first.StartedAt))
	require.True(t, in[0].CompletedAt.Equal(first.CompletedAt))
	first.StartedAt, first.CompletedAt = in[0].StartedAt, in[0].CompletedAt
	require.Equal(t, in[0], first, "every field round-trips")

	rest, err := db.Lineage().ByExecution(ctx, e.ID, 4, 4)
	require.NoError(t, err)
	require.Len(t, rest.Items, 2)
	last := rest.Items[1]
	require.Equal(t, "m5", last.CorrelationID, "ordered by start")
	require.True(t, last.CompletedAt.IsZero())
	require.Empty(t, last.ParentCorrelationID)
	require.Nil(t, last.Metadata)

	chain, err := db.Lineage().ByCorrelation(ctx, "m1")
	require.NoError(t, err)
	require.Len(t, chain, 2)
	require.Equal(t, 0, chain[0].AdapterIndex)
	require.Equal(t, 1, chain[1].AdapterIndex)

	counts, err := db.Lineage().RouteCounts(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]int64{
		"fetch": {store.StageCompleted: 2},
		"parse": {store.StageCompleted: 2, store.StageFailed: 1},
		"store": {store.StageRetrying: 1},
	}, counts)

	empty, err := db.Lineage().ByExecution(ctx, uuid.NewString(), 10, 0)
	require.NoError(t, err)
	require.Zero(t, empty.Total)
	require.Empty(t, empty.Items)
}
