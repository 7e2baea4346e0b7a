package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// WriterOptions configure a LineageWriter. Zero values take the defaults.
type WriterOptions struct {
	// BatchSize is the number of rows per COPY; a full batch is flushed at
	// once. Default 1000.
	BatchSize int
	// FlushInterval is how often buffered rows are written when no batch
	// fills up. Default 200ms.
	FlushInterval time.Duration
	// BufferSize caps the rows held in memory (waiting and being written).
	// Beyond it Append drops rows and counts them. Default 100000.
	BufferSize int
	// SpillDir receives rows that do not fit in memory while the database is
	// unreachable, and rows still unwritten at Close. They are replayed when
	// the database answers again, also by the next process using the same
	// directory. Give every process its own directory. Empty disables
	// spilling.
	SpillDir string
	// SpillMaxBytes caps the spill files. Default 256 MiB.
	SpillMaxBytes int64
	// SpillAfter is the number of rows in memory, while the database is
	// unreachable, beyond which rows move to the spill files. Default
	// BufferSize/2.
	SpillAfter int
	// RetryMin and RetryMax bound the exponential backoff between attempts
	// while the database is unreachable. Defaults 100ms and 5s.
	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one COPY or INSERT. Default 30s.
	WriteTimeout time.Duration
	// Logger reports outages, recoveries, drops and rejected rows. Default
	// slog.Default().
	Logger *slog.Logger
}

func (o *WriterOptions) setDefaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.BufferSize <= 0 {
		o.BufferSize = 100_000
	}
	if o.SpillMaxBytes <= 0 {
		o.SpillMaxBytes = 256 << 20
	}
	if o.SpillAfter <= 0 || o.SpillAfter > o.BufferSize {
		o.SpillAfter = max(o.BufferSize/2, 1)
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(5*time.Second, o.RetryMin)
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// WriterStats is a snapshot of a LineageWriter's counters.
type WriterStats struct {
	// Written counts rows committed to the table.
	Written int64 `json:"written"`
	// Buffered is the number of rows in memory now.
	Buffered int `json:"buffered"`
	// Spilled counts rows ever moved to the spill files; SpillPending and
	// SpillBytes are what is on disk now, awaiting replay.
	Spilled      int64 `json:"spilled"`
	SpillPending int64 `json:"spill_pending"`
	SpillBytes   int64 `json:"spill_bytes"`
	// Dropped counts rows lost: memory and spill were full, the row could
	// not be encoded, a spill line was unreadable, or Append came after
	// Close.
	Dropped int64 `json:"dropped"`
	// Rejected counts rows PostgreSQL refused as invalid (for example a NUL
	// byte in a text field, or an execution id that is not a UUID).
	Rejected int64 `json:"rejected"`
	// Unavailable is true while the database cannot be written to.
	Unavailable       bool          `json:"unavailable"`
	LastError         string        `json:"last_error,omitempty"`
	LastErrorAt       time.Time     `json:"last_error_at,omitzero"`
	LastFlushDuration time.Duration `json:"last_flush_duration"`
}

// ErrWriterClosed is returned by Flush after Close.
var ErrWriterClosed = errors.New("lineage writer is closed")

// LineageWriter writes lineage rows asynchronously in batches with COPY,
// independently of the message flow: Append never blocks on I/O and never
// fails. Through a database outage it keeps rows in a bounded buffer, moves
// the overflow to spill files and retries with backoff; once the database
// answers, spilled rows are replayed. Only when memory and spill are both
// full are rows dropped, and then counted. Every row gets a UUIDv7 id before
// its first write attempt and retries skip ids already stored, so a row
// lands exactly once even when a write's outcome was unknown.
//
// Append is safe for concurrent use by any number of goroutines. A single
// background goroutine does all I/O; Append only takes a short lock to put
// the row in the buffer.
type LineageWriter struct {
	pool *pgxpool.Pool
	opts WriterOptions
	log  *slog.Logger

	mu     sync.Mutex
	buf    []LineageEntry
	spare  []LineageEntry
	closed bool

	held         atomic.Int64 // rows owned by the flusher, in memory
	kick         chan struct{}
	flushReq     chan chan error
	closing      chan struct{}
	closeOnce    sync.Once
	retryOnClose atomic.Bool
	done         chan struct{}
	closeErr     error
	ctx          context.Context // aborts I/O when Close's deadline passes
	cancel       context.CancelFunc

	written, spilled, dropped, rejected atomic.Int64
	spillPending, spillBytes            atomic.Int64
	lastFlush                           atomic.Int64
	unavailable                         atomic.Bool
	errMu                               sync.Mutex
	lastErr                             string
	lastErrAt                           time.Time

	// Owned by the flusher goroutine.
	pending      []lineageRow // encoded rows not known to be written
	spill        *spillStore
	down         bool
	backoff      time.Duration
	nextTry      time.Time
	loggedDrops  int64
	loggedReject int64
}

// spillChunksPerCycle bounds how much of the spill one cycle replays, so new
// rows keep flowing while a large backlog drains.
const spillChunksPerCycle = 10

// NewLineageWriter starts a writer on db. Leftover spill files in
// opts.SpillDir are replayed once the database answers. Close it to flush.
func NewLineageWriter(db *DB, opts WriterOptions) (*LineageWriter, error) {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &LineageWriter{
		pool:     db.pool,
		opts:     opts,
		log:      opts.Logger,
		kick:     make(chan struct{}, 1),
		flushReq: make(chan chan error),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
		backoff:  opts.RetryMin,
	}
	if opts.SpillDir != "" {
		s, err := openSpill(opts.SpillDir, opts.SpillMaxBytes)
		if err != nil {
			cancel()
			return nil, err
		}
		w.spill = s
		w.publishSpill()
	}
	go w.run()
	return w, nil
}

// Append queues one row. It never blocks on I/O and never fails: when the
// buffer is full, or after Close, the row is dropped and counted in
// Stats().Dropped. A zero StartedAt is set to now.
func (w *LineageWriter) Append(e LineageEntry) {
	if e.StartedAt.IsZero() {
		e.StartedAt = time.Now()
	}
	w.mu.Lock()
	if w.closed || len(w.buf)+int(w.held.Load()) >= w.opts.BufferSize {
		w.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	w.buf = append(w.buf, e)
	full := len(w.buf) >= w.opts.BatchSize
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Flush writes every row appended before the call, retrying with backoff
// until it succeeds or ctx is done. Rows the database rejected count as
// handled (see Stats().Rejected).
func (w *LineageWriter) Flush(ctx context.Context) error {
	backoff := w.opts.RetryMin
	var last error
	for {
		reply := make(chan error, 1)
		select {
		case w.flushReq <- reply:
		case <-w.done:
			return ErrWriterClosed
		case <-ctx.Done():
			return flushErr(ctx, last)
		}
		select {
		case err := <-reply:
			if err == nil {
				return nil
			}
			last = err
		case <-ctx.Done():
			return flushErr(ctx, last)
		}
		t := time.NewTimer(jitter(backoff))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return flushErr(ctx, last)
		}
		backoff = min(backoff*2, w.opts.RetryMax)
	}
}

func flushErr(ctx context.Context, last error) error {
	if last != nil {
		return fmt.Errorf("flushing lineage: %w (last write error: %w)", ctx.Err(), last)
	}
	return fmt.Errorf("flushing lineage: %w", ctx.Err())
}

// Close stops accepting rows and writes what is buffered, retrying until ctx
// is done (a single attempt when ctx has no deadline). Rows still unwritten
// then go to the spill files for the next start, or are dropped when
// spilling is off or full; the returned error says how many. Close is
// idempotent and returns once the background goroutine has stopped.
func (w *LineageWriter) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		_, hasDeadline := ctx.Deadline()
		w.retryOnClose.Store(hasDeadline)
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.closing)
	})
	stop := context.AfterFunc(ctx, w.cancel)
	defer stop()
	<-w.done
	return w.closeErr
}

// Stats returns a snapshot of the counters.
func (w *LineageWriter) Stats() WriterStats {
	w.mu.Lock()
	buffered := len(w.buf) + int(w.held.Load())
	w.mu.Unlock()
	w.errMu.Lock()
	lastErr, lastErrAt := w.lastErr, w.lastErrAt
	w.errMu.Unlock()
	return WriterStats{
		Written:           w.written.Load(),
		Buffered:          buffered,
		Spilled:           w.spilled.Load(),
		SpillPending:      w.spillPending.Load(),
		SpillBytes:        w.spillBytes.Load(),
		Dropped:           w.dropped.Load(),
		Rejected:          w.rejected.Load(),
		Unavailable:       w.unavailable.Load(),
		LastError:         lastErr,
		LastErrorAt:       lastErrAt,
		LastFlushDuration: time.Duration(w.lastFlush.Load()),
	}
}

func (w *LineageWriter) run() {
	defer close(w.done)
	defer w.cancel()
	ticker := time.NewTicker(w.opts.FlushInterval)
	defer ticker.Stop()
	for {
		var more bool
		select {
		case <-w.kick:
			more, _ = w.cycle(false)
		case <-ticker.C:
			more, _ = w.cycle(false)
		case reply := <-w.flushReq:
			reply <- w.flushAll()
		case <-w.closing:
			w.shutdown()
			return
		}
		w.reportLosses()
		if more {
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
	}
}

// flushAll writes everything taken so far: failed rows, the whole spill and
// the buffer as of the first cycle. Rows appended meanwhile may ride along
// but are not waited for.
func (w *LineageWriter) flushAll() error {
	for {
		if _, err := w.cycle(true); err != nil {
			return err
		}
		if w.spill == nil || !w.spill.pending() {
			return nil
		}
		if err := w.ctx.Err(); err != nil {
			return err
		}
	}
}

func (w *LineageWriter) shutdown() {
	err := w.flushAll()
	backoff := w.opts.RetryMin
	for err != nil && w.retryOnClose.Load() && w.ctx.Err() == nil {
		t := time.NewTimer(jitter(backoff))
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
		}
		backoff = min(backoff*2, w.opts.RetryMax)
		err = w.flushAll()
	}
	// Appends are refused by now; anything left moves to disk or is lost.
	before := w.dropped.Load()
	w.spillOverflow(true)
	w.take() // whatever did not fit is lost; count it
	lost := len(w.pending)
	w.dropped.Add(int64(lost))
	w.setPending(nil)
	if w.spill != nil {
		if cerr := w.spill.close(); cerr != nil {
			w.recordError(cerr)
		}
		w.publishSpill()
	}
	w.reportLosses()
	dropped := w.dropped.Load() - before
	if pending := w.spillPending.Load(); pending > 0 || dropped > 0 {
		w.closeErr = fmt.Errorf("lineage writer closed with %d rows left in %s for the next start and %d rows dropped: %w",
			pending, w.opts.SpillDir, dropped, err)
	}
}

// cycle writes failed rows, then a part of the spill, then new rows. more
// reports that work is left for another cycle right away.
func (w *LineageWriter) cycle(force bool) (more bool, err error) {
	if w.down && !force && time.Now().Before(w.nextTry) {
		w.spillOverflow(false)
		return false, errors.New("database unavailable")
	}
	start := time.Now()
	wrote := w.written.Load()
	more, err = w.drain()
	if err != nil {
		w.markDown(err)
		w.spillOverflow(false)
		return false, err
	}
	if w.down {
		w.markUp()
	}
	if w.written.Load() != wrote {
		w.lastFlush.Store(int64(time.Since(start)))
	}
	return more, nil
}

func (w *LineageWriter) drain() (more bool, err error) {
	if len(w.pending) > 0 {
		n, err := w.writeRows(w.pending, true)
		w.setPending(w.pending[n:])
		if err != nil {
			return false, err
		}
	}
	if w.spill != nil && w.spill.pending() {
		corrupt, err := w.spill.replay(w.opts.BatchSize, spillChunksPerCycle, func(rows []lineageRow) error {
			_, err := w.writeRows(rows, true)
			return err
		})
		w.dropped.Add(int64(corrupt))
		w.publishSpill()
		if err != nil {
			return false, err
		}
		more = w.spill.pending()
	}
	rows := w.take()
	if len(rows) == 0 {
		return more, nil
	}
	n, err := w.writeRows(rows, false)
	if err != nil {
		// The failed chunk may or may not be committed: from now on these
		// rows are written idempotently.
		w.setPending(rows[n:])
		return false, err
	}
	w.setPending(nil)
	return more || w.bufLen() >= w.opts.BatchSize, nil
}

// take moves the buffer to the flusher, encoding each row and giving it its
// id. Rows that cannot be encoded are rejected here, once. The result is
// appended to pending, which must be empty or about to be spilled.
func (w *LineageWriter) take() []lineageRow {
	w.mu.Lock()
	batch := w.buf
	w.buf, w.spare = w.spare, nil
	w.held.Add(int64(len(batch)))
	w.mu.Unlock()
	if len(batch) == 0 {
		return w.pending
	}
	rows := w.pending
	for i := range batch {
		r, err := encodeLineage(&batch[i])
		if err != nil {
			w.rejected.Add(1)
			w.recordError(fmt.Errorf("lineage row of execution %q rejected: %w", batch[i].ExecutionID, err))
			continue
		}
		rows = append(rows, r)
	}
	w.setPending(rows)
	if cap(batch) <= 8*w.opts.BatchSize {
		clear(batch)
		w.mu.Lock()
		if w.spare == nil {
			w.spare = batch[:0]
		}
		w.mu.Unlock()
	}
	return rows
}

// setPending records the rows the flusher holds; held follows, so that
// Append's bound counts them.
func (w *LineageWriter) setPending(p []lineageRow) {
	if len(p) == 0 {
		p = nil
	}
	w.pending = p
	w.held.Store(int64(len(p)))
}

func (w *LineageWriter) bufLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// spillOverflow moves rows to disk while the database is down, once memory
// holds more than SpillAfter rows (all of them when all is set).
func (w *LineageWriter) spillOverflow(all bool) {
	if w.spill == nil {
		return
	}
	if !all && len(w.pending)+w.bufLen() < w.opts.SpillAfter {
		return
	}
	if !w.spillHeld() {
		return
	}
	w.take()
	w.spillHeld()
}

// spillHeld writes pending rows to disk; it reports whether all of them fit.
func (w *LineageWriter) spillHeld() bool {
	defer w.publishSpill()
	taken, err := w.spill.write(w.pending)
	w.spilled.Add(int64(taken))
	w.setPending(w.pending[taken:])
	if err != nil {
		w.recordError(err)
		return false
	}
	return len(w.pending) == 0
}

func (w *LineageWriter) publishSpill() {
	if w.spill == nil {
		return
	}
	w.spillPending.Store(max(w.spill.rows, 0))
	w.spillBytes.Store(w.spill.bytes)
}

func (w *LineageWriter) markDown(err error) {
	w.recordError(err)
	if !w.down {
		w.down = true
		w.unavailable.Store(true)
		w.log.Warn("lineage database unavailable; buffering rows", "error", err)
	}
	w.nextTry = time.Now().Add(jitter(w.backoff))
	w.backoff = min(w.backoff*2, w.opts.RetryMax)
}

func (w *LineageWriter) markUp() {
	w.down = false
	w.unavailable.Store(false)
	w.backoff = w.opts.RetryMin
	w.log.Info("lineage writes resumed", "spill_pending", w.spillPending.Load())
}

func (w *LineageWriter) recordError(err error) {
	w.errMu.Lock()
	w.lastErr, w.lastErrAt = err.Error(), time.Now()
	w.errMu.Unlock()
}

func (w *LineageWriter) reportLosses() {
	if d := w.dropped.Load(); d != w.loggedDrops {
		w.log.Error("lineage rows dropped", "dropped_since_last_report", d-w.loggedDrops, "dropped_total", d,
			"hint", "raise the lineage buffer or spill limits, or restore the database")
		w.loggedDrops = d
	}
	if r := w.rejected.Load(); r != w.loggedReject {
		w.log.Warn("lineage rows rejected by the database", "rejected_since_last_report", r-w.loggedReject,
			"rejected_total", r, "last_error", w.Stats().LastError)
		w.loggedReject = r
	}
}

// jitter spreads retries over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// writeRows writes rows in chunks; n is how many rows were handled (written
// or rejected) before a transient error stopped it.
func (w *LineageWriter) writeRows(rows []lineageRow, idempotent bool) (n int, err error) {
	for n < len(rows) {
		end := min(n+w.opts.BatchSize, len(rows))
		chunk := rows[n:end]
		if idempotent {
			err = w.insertIdempotent(chunk)
		} else {
			err = w.copy(chunk)
		}
		if err != nil && isDataError(err) {
			err = w.isolate(chunk)
		}
		if err != nil {
			return n, err
		}
		n = end
	}
	return n, nil
}

// isolate finds the rows PostgreSQL refuses by bisecting a batch that
// failed with a data error, writing the good ones and rejecting the bad.
func (w *LineageWriter) isolate(rows []lineageRow) error {
	if len(rows) == 1 {
		err := w.insertIdempotent(rows)
		if err != nil && isDataError(err) {
			w.rejected.Add(1)
			w.recordError(fmt.Errorf("lineage row %s of execution %s rejected: %w", uuidString(rows[0].ID),
				uuidString(rows[0].ExecutionID), err))
			return nil
		}
		return err
	}
	half := len(rows) / 2
	for _, part := range [][]lineageRow{rows[:half], rows[half:]} {
		err := w.insertIdempotent(part)
		if err != nil && isDataError(err) {
			err = w.isolate(part)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// isDataError tells a row PostgreSQL refuses (retrying cannot help) from a
// failure of the database or the connection (retrying can).
func isDataError(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return false
	}
	code, _ := pgCode(err)
	if len(code) < 2 {
		return false
	}
	switch code[:2] {
	case "22", "23", "54": // data exception, integrity violation, program limit
		return true
	}
	return false
}

// lineageRow is a LineageEntry encoded for PostgreSQL, with its final id.
// Its JSON form is the spill file line, field names as in LineageEntry.
type lineageRow struct {
	ID            pgtype.UUID     `json:"id"`
	CorrelationID string          `json:"correlation_id"`
	Parent        *string         `json:"parent_correlation_id,omitempty"`
	Batch         *string         `json:"replay_batch_id,omitempty"`
	ExecutionID   pgtype.UUID     `json:"execution_id"`
	RouteID       string          `json:"route_id"`
	Adapter       string          `json:"adapter_name"`
	AdapterIndex  int32           `json:"adapter_index"`
	Stage         string          `json:"stage_name"`
	StageStatus   string          `json:"stage_status"`
	InputHash     *string         `json:"input_hash,omitempty"`
	StartedAt     time.Time       `json:"started_at"`
	CompletedAt   *time.Time      `json:"completed_at,omitempty"`
	DurationMS    float64         `json:"duration_ms"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`
	ErrorInfo     json.RawMessage `json:"error_info,omitempty"`
}

func uuidString(u pgtype.UUID) string {
	if !u.Valid {
		return ""
	}
	return uuid.UUID(u.Bytes).String()
}

func encodeLineage(e *LineageEntry) (lineageRow, error) {
	var id uuid.UUID
	var err error
	if e.ID == "" {
		id, err = uuid.NewV7()
	} else {
		id, err = uuid.Parse(e.ID)
	}
	if err != nil {
		return lineageRow{}, fmt.Errorf("id %q is not a UUID", e.ID)
	}
	exec, err := uuid.Parse(e.ExecutionID)
	if err != nil {
		return lineageRow{}, fmt.Errorf("execution id %q is not a UUID", e.ExecutionID)
	}
	meta, err := jsonbMap(e.Metadata)
	if err != nil {
		return lineageRow{}, err
	}
	errorInfo, err := jsonbMap(e.ErrorInfo)
	if err != nil {
		return lineageRow{}, err
	}
	return lineageRow{
		ID: pgtype.UUID{Bytes: id, Valid: true}, ExecutionID: pgtype.UUID{Bytes: exec, Valid: true},
		CorrelationID: e.CorrelationID, Parent: nullText(e.ParentCorrelationID), Batch: nullText(e.ReplayBatchID),
		InputHash: nullText(e.InputHash), RouteID: e.RouteID, Adapter: e.AdapterName, Stage: e.StageName,
		StageStatus: e.StageStatus, AdapterIndex: int32(e.AdapterIndex), StartedAt: e.StartedAt,
		CompletedAt: nullTime(e.CompletedAt), DurationMS: e.DurationMS, Metadata: meta, ErrorInfo: errorInfo,
	}, nil
}

func (w *LineageWriter) copy(rows []lineageRow) error {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.WriteTimeout)
	defer cancel()
	n, err := w.pool.CopyFrom(ctx, pgx.Identifier{"lineage"}, lineageColumns,
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			return []any{r.ID, r.CorrelationID, r.Parent, r.Batch, r.ExecutionID, r.RouteID, r.Adapter,
				r.AdapterIndex, r.Stage, r.StageStatus, r.InputHash, r.StartedAt, r.CompletedAt, r.DurationMS,
				r.Metadata, r.ErrorInfo}, nil
		}))
	if err != nil {
		return fmt.Errorf("copying %d lineage rows: %w", len(rows), err)
	}
	w.written.Add(n)
	return nil
}

const sqlLineageInsertIdempotent = `INSERT INTO lineage (id, correlation_id, parent_correlation_id, replay_batch_id,
    execution_id, route_id, adapter_name, adapter_index, stage_name, stage_status, input_hash, started_at,
    completed_at, duration_ms, metadata, error_info)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[],
    $8::integer[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[],
    $14::double precision[], $15::jsonb[], $16::jsonb[])
ON CONFLICT (id) DO NOTHING`

// insertIdempotent inserts rows, skipping ids already stored: used for
// every write whose earlier attempt may have committed.
func (w *LineageWriter) insertIdempotent(rows []lineageRow) error {
	n := len(rows)
	var (
		ids, execs                           = make([]pgtype.UUID, n), make([]pgtype.UUID, n)
		corr, routes, adapters, stages, stat = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		parents, batches, hashes             = make([]*string, n), make([]*string, n), make([]*string, n)
		idx                                  = make([]int32, n)
		started                              = make([]time.Time, n)
		completed                            = make([]*time.Time, n)
		durations                            = make([]float64, n)
		metas, errInfos                      = make([]json.RawMessage, n), make([]json.RawMessage, n)
	)
	for i := range rows {
		r := &rows[i]
		ids[i], execs[i], corr[i], routes[i], adapters[i] = r.ID, r.ExecutionID, r.CorrelationID, r.RouteID, r.Adapter
		stages[i], stat[i], parents[i], batches[i], hashes[i] = r.Stage, r.StageStatus, r.Parent, r.Batch, r.InputHash
		idx[i], started[i], completed[i], durations[i] = r.AdapterIndex, r.StartedAt, r.CompletedAt, r.DurationMS
		metas[i], errInfos[i] = r.Metadata, r.ErrorInfo
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.WriteTimeout)
	defer cancel()
	tag, err := w.pool.Exec(ctx, sqlLineageInsertIdempotent, ids, corr, parents, batches, execs, routes, adapters,
		idx, stages, stat, hashes, started, completed, durations, metas, errInfos)
	if err != nil {
		return fmt.Errorf("inserting %d lineage rows: %w", n, err)
	}
	w.written.Add(tag.RowsAffected())
	return nil
}
