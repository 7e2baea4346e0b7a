package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func lineageEntry(execID string, i int) store.LineageEntry {
	start := time.Now().Add(time.Duration(i) * time.Microsecond)
	return store.LineageEntry{
		CorrelationID: fmt.Sprintf("c-%06d", i), ParentCorrelationID: "root", ExecutionID: execID,
		RouteID: []string{"fetch", "parse", "store"}[i%3], AdapterName: "a", AdapterIndex: i % 2, StageName: "s",
		StageStatus: []string{store.StageCompleted, store.StageFailed}[i%2],
		StartedAt:   start, CompletedAt: start.Add(time.Millisecond), DurationMS: 1,
		Metadata: map[string]any{"i": float64(i)},
	}
}

func newWriter(t testing.TB, db *store.DB, opts store.WriterOptions) *store.LineageWriter {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	w, err := store.NewLineageWriter(db, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// lineageCounts returns the rows of an execution and how many distinct
// correlation ids they have.
func lineageCounts(t testing.TB, db *store.DB, execID string) (rows, distinct int) {
	t.Helper()
	require.NoError(t, db.Pool().QueryRow(testCtx(t),
		`SELECT count(*), count(DISTINCT correlation_id) FROM lineage WHERE execution_id = $1`, execID).Scan(&rows, &distinct))
	return rows, distinct
}

// within fails the test if fn does not return before the deadline.
func within(t testing.TB, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLineageWriterConcurrentAppends(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	e := newExecution(t, db)
	w := newWriter(t, db, store.WriterOptions{BatchSize: 500, SpillDir: t.TempDir()})

	const producers, perProducer = 16, 1500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				w.Append(lineageEntry(e.ID, p*perProducer+i))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, w.Flush(testCtx(t)))

	rows, distinct := lineageCounts(t, db, e.ID)
	require.Equal(t, producers*perProducer, rows)
	require.Equal(t, producers*perProducer, distinct)
	st := w.Stats()
	require.EqualValues(t, producers*perProducer, st.Written)
	require.Zero(t, st.Dropped)
	require.Zero(t, st.Rejected)
	require.Zero(t, st.Buffered)
	require.Zero(t, st.Spilled, "no outage, no spill")

	require.NoError(t, w.Close(testCtx(t)))
	w.Append(lineageEntry(e.ID, 999999))
	require.EqualValues(t, 1, w.Stats().Dropped, "appends after Close are dropped and counted")
	require.ErrorIs(t, w.Flush(testCtx(t)), store.ErrWriterClosed)
}

func TestLineageWriterFlushesOnInterval(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	e := newExecution(t, db)
	w := newWriter(t, db, store.WriterOptions{BatchSize: 1000, FlushInterval: 20 * time.Millisecond})
	for i := range 3 {
		w.Append(lineageEntry(e.ID, i))
	}
	// Far below a batch: only the interval can write them.
	eventually(t, 10*time.Second, "rows written by the interval flush", func() bool {
		rows, _ := lineageCounts(t, db, e.ID)
		return rows == 3
	})
	require.Positive(t, w.Stats().LastFlushDuration)
}

func TestLineageWriterSurvivesAnOutage(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	db := openFresh(t, url)
	e := newExecution(t, db)
	spillDir := t.TempDir()
	w := newWriter(t, db, store.WriterOptions{
		BatchSize: 100, FlushInterval: 10 * time.Millisecond, BufferSize: 5000, SpillAfter: 500,
		SpillDir: spillDir, RetryMin: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	})

	next := 0
	appendN := func(n int) {
		for range n {
			w.Append(lineageEntry(e.ID, next))
			next++
		}
	}
	// Before: the database is up.
	within(t, 10*time.Second, "Append", func() { appendN(2000) })

	restore := outage(t, url)
	// During: waves the buffer can hold, each moved to disk before the next.
	within(t, 30*time.Second, "Append while the database is down", func() {
		for range 10 {
			appendN(300)
			eventually(t, 10*time.Second, "rows moved to the spill", func() bool { return w.Stats().Buffered < 600 })
		}
	})
	eventually(t, 10*time.Second, "writer notices the outage", func() bool { return w.Stats().Unavailable })
	st := w.Stats()
	require.Positive(t, st.Spilled, "overflow went to disk")
	require.Positive(t, st.SpillPending)
	require.NotEmpty(t, st.LastError)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	require.Error(t, w.Flush(ctx), "Flush cannot succeed while the database is down")
	cancel()

	restore()
	// After: new rows and the replay flow together.
	within(t, 10*time.Second, "Append", func() { appendN(1000) })
	require.NoError(t, w.Flush(testCtx(t)))

	check := openFresh(t, url)
	rows, distinct := lineageCounts(t, check, e.ID)
	require.Equal(t, next, rows, "every row arrived exactly once")
	require.Equal(t, next, distinct)
	var ids int
	require.NoError(t, check.Pool().QueryRow(testCtx(t), `SELECT count(DISTINCT id) FROM lineage`).Scan(&ids))
	require.Equal(t, next, ids)

	st = w.Stats()
	require.Zero(t, st.Dropped)
	require.Zero(t, st.Rejected)
	require.Zero(t, st.SpillPending)
	require.Zero(t, st.SpillBytes)
	require.False(t, st.Unavailable)
	require.Empty(t, spillFiles(t, spillDir), "replayed spill files are removed")
}

func spillFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	require.NoError(t, err)
	return files
}

func TestLineageWriterLeavesRowsOnDiskForTheNextStart(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	db := openFresh(t, url)
	e := newExecution(t, db)
	spillDir := t.TempDir()
	restore := outage(t, url)

	first, err := store.NewLineageWriter(db, store.WriterOptions{SpillDir: spillDir, RetryMin: 10 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	within(t, 10*time.Second, "Append while the database is down", func() {
		for i := range 700 {
			first.Append(lineageEntry(e.ID, i))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = first.Close(ctx)
	cancel()
	require.Error(t, err)
	require.Contains(t, err.Error(), "700 rows left")
	require.NotEmpty(t, spillFiles(t, spillDir))
	require.EqualValues(t, 700, first.Stats().SpillPending)

	restore()
	fresh := openFresh(t, url)
	second := newWriter(t, fresh, store.WriterOptions{SpillDir: spillDir})
	require.EqualValues(t, 700, second.Stats().SpillPending, "leftovers found at start")
	require.NoError(t, second.Flush(testCtx(t)))
	rows, distinct := lineageCounts(t, fresh, e.ID)
	require.Equal(t, 700, rows)
	require.Equal(t, 700, distinct)
	require.Empty(t, spillFiles(t, spillDir))
}

// A write whose outcome was unknown (connection lost after the commit) is
// retried; rows already stored must not be stored twice.
func TestLineageWriterReplayIsIdempotent(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	e := newExecution(t, db)

	var entries []store.LineageEntry
	for i := range 50 {
		le := lineageEntry(e.ID, i)
		le.ID = uuid.Must(uuid.NewV7()).String()
		entries = append(entries, le)
	}
	w := newWriter(t, db, store.WriterOptions{})
	for _, le := range entries[:30] {
		w.Append(le)
	}
	require.NoError(t, w.Flush(testCtx(t)))

	// A spill file holding all 50, as left by a crash after the first 30
	// were committed.
	spillDir := t.TempDir()
	var lines []string
	for _, le := range entries {
		b, err := json.Marshal(le)
		require.NoError(t, err)
		lines = append(lines, string(b))
	}
	lines = append(lines, `{"torn`) // a crash mid-line
	require.NoError(t, os.WriteFile(filepath.Join(spillDir, "lineage-00000000000000000001-000001.jsonl"),
		[]byte(strings.Join(lines, "\n")), 0o600))

	replayer := newWriter(t, db, store.WriterOptions{SpillDir: spillDir})
	require.NoError(t, replayer.Flush(testCtx(t)))
	rows, distinct := lineageCounts(t, db, e.ID)
	require.Equal(t, 50, rows)
	require.Equal(t, 50, distinct)
	st := replayer.Stats()
	require.EqualValues(t, 20, st.Written, "only the missing rows were inserted")
	require.EqualValues(t, 1, st.Dropped, "the torn line is counted")
	require.Empty(t, spillFiles(t, spillDir))
}

func TestLineageWriterRejectsBadRowsOnly(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	e := newExecution(t, db)
	w := newWriter(t, db, store.WriterOptions{BatchSize: 64})

	for i := range 100 {
		w.Append(lineageEntry(e.ID, i))
	}
	nul := lineageEntry(e.ID, 100)
	nul.RouteID = "bad\x00route" // PostgreSQL text cannot hold NUL
	w.Append(nul)
	badExec := lineageEntry("not-a-uuid", 101)
	w.Append(badExec)
	nulJSON := lineageEntry(e.ID, 102)
	nulJSON.Metadata = map[string]any{"x": "a\x00b"} // jsonb cannot either
	w.Append(nulJSON)
	for i := 103; i < 200; i++ {
		w.Append(lineageEntry(e.ID, i))
	}
	require.NoError(t, w.Flush(testCtx(t)))

	rows, _ := lineageCounts(t, db, e.ID)
	require.Equal(t, 197, rows, "every good row written")
	st := w.Stats()
	require.EqualValues(t, 3, st.Rejected)
	require.EqualValues(t, 197, st.Written)
	require.Contains(t, st.LastError, "rejected")
}

func TestLineageWriterDropsOnlyWhenMemoryIsFull(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t)
	db := openFresh(t, url)
	e := newExecution(t, db)
	restore := outage(t, url)

	w := newWriter(t, db, store.WriterOptions{BufferSize: 100, BatchSize: 10, FlushInterval: 5 * time.Millisecond,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond}) // no spill directory
	within(t, 10*time.Second, "Append while the database is down and memory is full", func() {
		for i := range 500 {
			w.Append(lineageEntry(e.ID, i))
		}
	})
	st := w.Stats()
	require.EqualValues(t, 400, st.Dropped)
	require.Equal(t, 100, st.Buffered)

	restore()
	require.NoError(t, w.Flush(testCtx(t)))
	rows, distinct := lineageCounts(t, openFresh(t, url), e.ID)
	require.Equal(t, 100, rows)
	require.Equal(t, 100, distinct)
}
