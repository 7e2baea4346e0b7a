package store_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// BenchmarkLineageWriter measures rows per second from Append to committed
// COPY. The producer backs off while the buffer is over half full, so no row
// is dropped and the figure is the writer's sustained rate, not Append's.
func BenchmarkLineageWriter(b *testing.B) {
	db := storetest.NewDB(b)
	e := newExecution(b, db)
	const bufferSize = 100_000
	w, err := store.NewLineageWriter(db, store.WriterOptions{BufferSize: bufferSize,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(b, err)
	entries := make([]store.LineageEntry, 1024)
	for i := range entries {
		entries[i] = lineageEntry(e.ID, i)
	}

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		w.Append(entries[i%len(entries)])
		if i%1000 == 999 {
			for w.Stats().Buffered > bufferSize/2 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(b, w.Flush(ctx))
	elapsed := time.Since(start)
	b.StopTimer()

	st := w.Stats()
	require.Zero(b, st.Dropped)
	require.EqualValues(b, b.N, st.Written)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
	require.NoError(b, w.Close(ctx))
}

// BenchmarkLineageCopyBaseline is the ceiling BenchmarkLineageWriter is
// compared with in the same run: bare pgx CopyFrom of 1000 prepared rows at
// a time into the same table, no buffering, ids or JSON encoding.
func BenchmarkLineageCopyBaseline(b *testing.B) {
	db := storetest.NewDB(b)
	e := newExecution(b, db)
	exec := pgtype.UUID{Bytes: uuid.MustParse(e.ID), Valid: true}
	cols := []string{"id", "correlation_id", "parent_correlation_id", "execution_id", "route_id", "adapter_name",
		"adapter_index", "stage_name", "stage_status", "started_at", "completed_at", "duration_ms", "metadata"}
	meta := []byte(`{"i": 1}`)
	ctx := testCtx(b)
	const batch = 1000
	rows := make([][]any, 0, batch)

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; {
		rows = rows[:0]
		for i := 0; i < batch && done+i < b.N; i++ {
			le := lineageEntry(e.ID, i)
			rows = append(rows, []any{pgtype.UUID{Bytes: uuid.Must(uuid.NewV7()), Valid: true}, le.CorrelationID,
				le.ParentCorrelationID, exec, le.RouteID, le.AdapterName, int32(le.AdapterIndex), le.StageName,
				le.StageStatus, le.StartedAt, le.CompletedAt, le.DurationMS, meta})
		}
		n, err := db.Pool().CopyFrom(ctx, pgx.Identifier{"lineage"}, cols, pgx.CopyFromRows(rows))
		require.NoError(b, err)
		done += int(n)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
}
