package embeddings_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// processAll runs Process for every payload at once and returns the
// results and errors in order.
func processAll(ctx context.Context, a adapters.Adapter, payloads []adapters.Payload) ([]*adapters.Result, []error) {
	res := make([]*adapters.Result, len(payloads))
	errs := make([]error, len(payloads))
	var wg sync.WaitGroup
	for i, p := range payloads {
		wg.Go(func() {
			res[i], errs[i] = a.Process(ctx, &adapters.Input{Payload: p, Meta: meta()})
		})
	}
	wg.Wait()
	return res, errs
}

func TestConcurrentMessagesShareOneBatch(t *testing.T) {
	db := vectorDB(t)
	ctx := testCtx(t)
	prof := newProfiles(t, llm.Profile{Name: "small", ProviderType: llm.ProviderHashing, Dims: 64})
	deps := adapters.Deps{LLM: prof, Segments: db.Vectors()}
	// The batch closes only when full: 20 messages make exactly one
	// batch, whatever the scheduling.
	a := build(t, `
models:
  - {}
  - { profile: small, model_name: lexical-small }
batch_size: 20
batch_wait: 1m
metadata_fields: [lang, meta.team, absent]
`, deps)

	var payloads []adapters.Payload
	for doc := range 2 {
		for i := range 10 {
			payloads = append(payloads, segmentMessage(t, doc, i, 10))
		}
	}
	res, errs := processAll(ctx, a, payloads)
	for i, err := range errs {
		require.NoError(t, err, "message %d", i)
	}
	require.EqualValues(t, 2, prof.calls.Load(), "one Embed call per slot")
	require.EqualValues(t, 40, prof.texts.Load())

	ids := make([]string, len(res))
	seen := map[string]bool{}
	for i, r := range res {
		require.NotNil(t, r)
		out := r.Message
		id, _ := out["segment_id"].(string)
		require.NotEmpty(t, id)
		require.False(t, seen[id], "segment ids are distinct")
		seen[id] = true
		ids[i] = id
		require.Equal(t, anyStrings("hashing", "lexical-small"), out["embedding_models"])
		require.Equal(t, map[string]any{"hashing": llm.DefaultHashingDims, "lexical-small": 64}, out["embedding_dims"])
		require.Contains(t, out, "segment", "the payload is passed on")
	}

	require.Equal(t, 2, countRows(t, db, "documents"))
	require.Equal(t, 20, countRows(t, db, "segments"))
	require.Equal(t, 40, countRows(t, db, "embeddings"))

	models, err := db.Vectors().Models(ctx)
	require.NoError(t, err)
	require.Len(t, models, 2)
	byName := map[string]store.EmbeddingModel{}
	for _, m := range models {
		byName[m.Name] = m
	}
	require.Equal(t, llm.DefaultHashingDims, byName["hashing"].Dims)
	require.Equal(t, "hashing", byName["hashing"].Profile)
	require.Equal(t, 64, byName["lexical-small"].Dims)
	require.Equal(t, "small", byName["lexical-small"].Profile)
	require.EqualValues(t, 20, byName["lexical-small"].Vectors)

	hits, err := db.Vectors().Segments(ctx, ids[13:14])
	require.NoError(t, err)
	require.Len(t, hits, 1)
	h := hits[0]
	require.Equal(t, execID, h.ExecutionID)
	require.Equal(t, 3, h.SegmentIndex)
	require.Equal(t, "Part 3", h.Heading)
	require.Equal(t, []string{"Guide 1", "Part 3"}, h.HeadingPath)
	require.Equal(t, "https://docs.example.org/guide-1", h.URL)
	require.Equal(t, "Guide 1", h.Title)
	require.Equal(t, "executions/x/fetch/web_content_storage/doc-1.html", h.DocumentKey)
	require.Equal(t, "executions/x/convert/markdown/doc-1.md", h.MarkdownKey)
	require.Equal(t, map[string]any{"lang": "en", "meta.team": "docs"}, h.Metadata)
	require.Contains(t, h.Text, "Document 1 segment 3")

	// Processing the messages again (one at a time now) updates the rows
	// in place: same ids, no new rows.
	again := build(t, `models: [{}, { profile: small, model_name: lexical-small }]`, deps)
	for i, p := range payloads[:3] {
		r, err := again.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, i, 10), Meta: meta()})
		require.NoError(t, err)
		require.Equal(t, ids[i], r.Message["segment_id"], "message %v", p["segment_index"])
	}
	require.Equal(t, 20, countRows(t, db, "segments"))
	require.Equal(t, 40, countRows(t, db, "embeddings"))
}

func TestBatchWaitClosesPartialBatches(t *testing.T) {
	db := vectorDB(t)
	ctx := testCtx(t)
	prof := newProfiles(t)
	a := build(t, `{ batch_size: 1000, batch_wait: 20ms }`, adapters.Deps{LLM: prof, Segments: db.Vectors()})
	var payloads []adapters.Payload
	for i := range 6 {
		payloads = append(payloads, segmentMessage(t, 0, i, 6))
	}
	_, errs := processAll(ctx, a, payloads)
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, prof.calls.Load(), int64(1))
	require.LessOrEqual(t, prof.calls.Load(), int64(6))
	require.Equal(t, 6, countRows(t, db, "segments"))
}

func TestWholeDocumentMessage(t *testing.T) {
	db := vectorDB(t)
	ctx := testCtx(t)
	a := build(t, `{ source_field: markdown, language: simple }`, adapters.Deps{LLM: newProfiles(t), Segments: db.Vectors()})
	p := adapters.Payload{"url": "https://docs.example.org/a", "title": "A", "markdown": "# A\n\nWhole document text."}
	r, err := a.Process(ctx, &adapters.Input{Payload: p, Meta: meta()})
	require.NoError(t, err)
	hits, err := db.Vectors().Segments(ctx, []string{r.Message["segment_id"].(string)})
	require.NoError(t, err)
	require.Len(t, hits, 1)
	require.Equal(t, "https://docs.example.org/a", hits[0].DocumentKey)
	require.Equal(t, "A", hits[0].Title)
	require.Equal(t, 0, hits[0].SegmentIndex)
	var lang string
	require.NoError(t, db.Pool().QueryRow(ctx, "SELECT language::text FROM segments").Scan(&lang))
	require.Equal(t, "simple", lang)
}

func TestMessageErrors(t *testing.T) {
	db := vectorDB(t)
	ctx := testCtx(t)
	prof := newProfiles(t)
	a := build(t, ``, adapters.Deps{LLM: prof, Segments: db.Vectors()})
	run := func(p adapters.Payload, m adapters.Meta) error {
		_, err := a.Process(ctx, &adapters.Input{Payload: p, Meta: m})
		return err
	}

	noExec := meta()
	noExec.ExecutionID = ""
	requireCode(t, run(segmentMessage(t, 0, 0, 1), noExec), "EMBEDDING_NO_EXECUTION", adapters.ClassPermanent)

	p := segmentMessage(t, 0, 0, 1)
	delete(p, "document")
	requireCode(t, run(p, meta()), "EMBEDDING_DOCUMENT_KEY_MISSING", adapters.ClassPermanent)

	p = segmentMessage(t, 0, 0, 1)
	delete(p["segment"].(map[string]any), "text")
	requireCode(t, run(p, meta()), "EMBEDDING_TEXT_MISSING", adapters.ClassPermanent)

	p = segmentMessage(t, 0, 0, 1)
	p["segment"].(map[string]any)["index"] = 1.5
	requireCode(t, run(p, meta()), "EMBEDDING_SEGMENT_INDEX_INVALID", adapters.ClassPermanent)

	p = segmentMessage(t, 0, 0, 1)
	p["segment"].(map[string]any)["text"] = "  \n"
	err := run(p, meta())
	require.Equal(t, adapters.ClassSkip, adapters.Classify(err), "error: %v", err)

	badExec := meta()
	badExec.ExecutionID = "not-a-uuid"
	requireCode(t, run(segmentMessage(t, 0, 0, 1), badExec), store.CodeInvalidArgument, adapters.ClassPermanent)

	require.Zero(t, countRows(t, db, "segments"))
}

func TestProviderFailuresAreClassified(t *testing.T) {
	db := vectorDB(t)
	ctx := testCtx(t)
	fp := newFailingProvider(t)
	prof := newProfiles(t,
		fp.profile("limited", "limited"), fp.profile("broken", "broken"), fp.profile("denied", "denied"))
	deps := adapters.Deps{LLM: prof, Segments: db.Vectors()}

	t.Run("rate limited", func(t *testing.T) {
		a := build(t, `models: [{ profile: limited }]`, deps)
		_, err := a.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, 0, 1), Meta: meta()})
		requireCode(t, err, llm.CodeRateLimited, adapters.ClassRetryAfter)
		var ra *adapters.RetryAfterError
		require.ErrorAs(t, err, &ra)
		require.Equal(t, 2*time.Minute, ra.After)
	})
	t.Run("server error", func(t *testing.T) {
		a := build(t, `models: [{ profile: broken }]`, deps)
		_, err := a.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, 0, 1), Meta: meta()})
		require.Equal(t, adapters.ClassRetryable, adapters.Classify(err), "error: %v", err)
		var ce *adapters.CodedError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, llm.CodeUnavailable, ce.Code, "error: %v", err)
	})
	t.Run("bad key fails the whole batch", func(t *testing.T) {
		a := build(t, `{ models: [{ profile: denied }], batch_size: 3, batch_wait: 1m }`, deps)
		_, errs := processAll(ctx, a, []adapters.Payload{
			segmentMessage(t, 0, 0, 3), segmentMessage(t, 0, 1, 3), segmentMessage(t, 0, 2, 3),
		})
		for _, err := range errs {
			ce := requireCode(t, err, llm.CodeAuthFailed, adapters.ClassPermanent)
			require.NotContains(t, ce.Err.Error(), llm.CodeAuthFailed+":", "the code is not repeated in the message")
		}
		require.Equal(t, 1, fp.count("denied"), "one request for the batch")
	})
	require.Zero(t, countRows(t, db, "segments"))
	require.Zero(t, countRows(t, db, "embedding_models"), "a slot is registered after its first embedding")
}

func TestDatabaseWithoutVectors(t *testing.T) {
	// A migrated database where the vector schema was never created: the
	// store refuses vectors with PGVECTOR_UNAVAILABLE.
	db := storetest.NewDB(t)
	a := build(t, ``, adapters.Deps{LLM: newProfiles(t), Segments: db.Vectors()})
	_, err := a.Process(testCtx(t), &adapters.Input{Payload: segmentMessage(t, 0, 0, 1), Meta: meta()})
	requireCode(t, err, store.CodeVectorUnavailable, adapters.ClassPermanent)
}

func TestCancelledCallerDoesNotBlockItsBatch(t *testing.T) {
	db := vectorDB(t)
	prof := newProfiles(t)
	prof.gate = make(chan struct{})
	prof.entered = make(chan struct{}, 1)
	a := build(t, `{ batch_size: 2, batch_wait: 1m }`, adapters.Deps{LLM: prof, Segments: db.Vectors()})

	cctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	gone := make(chan error, 1)
	go func() {
		_, err := a.Process(cctx, &adapters.Input{Payload: segmentMessage(t, 0, 0, 2), Meta: meta()})
		gone <- err
	}()
	stays := make(chan error, 1)
	go func() {
		_, err := a.Process(testCtx(t), &adapters.Input{Payload: segmentMessage(t, 0, 1, 2), Meta: meta()})
		stays <- err
	}()
	waitFor(t, prof.entered, "the batch's Embed call")
	cancel()
	require.ErrorIs(t, waitErr(t, gone), context.Canceled)
	close(prof.gate)
	require.NoError(t, waitErr(t, stays))
	require.EqualValues(t, 1, prof.calls.Load())
	require.Equal(t, 2, countRows(t, db, "segments"), "the batch finished for the caller still waiting")
}

func TestCallerCancelledWhileBatchFills(t *testing.T) {
	db := vectorDB(t)
	prof := newProfiles(t)
	a := build(t, `{ batch_size: 10, batch_wait: 1m }`, adapters.Deps{LLM: prof, Segments: db.Vectors()})
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := a.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, 0, 1), Meta: meta()})
		done <- err
	}()
	cancel()
	require.ErrorIs(t, waitErr(t, done), context.Canceled)
	// Close flushes the half-filled batch, whose only caller is gone: no
	// provider call is made for it.
	require.NoError(t, a.(adapters.Closer).Close(testCtx(t)))
	require.Zero(t, prof.calls.Load())
	require.Zero(t, countRows(t, db, "segments"))
}

func TestClose(t *testing.T) {
	db := vectorDB(t)
	ctx := testCtx(t)

	t.Run("before use", func(t *testing.T) {
		a := build(t, ``, adapters.Deps{LLM: newProfiles(t), Segments: db.Vectors()})
		require.NoError(t, a.(adapters.Closer).Close(ctx))
		require.NoError(t, a.(adapters.Closer).Close(ctx), "Close is idempotent")
		_, err := a.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, 0, 1), Meta: meta()})
		requireCode(t, err, "ADAPTER_CLOSED", adapters.ClassRetryable)
	})

	t.Run("after use", func(t *testing.T) {
		a := build(t, ``, adapters.Deps{LLM: newProfiles(t), Segments: db.Vectors()})
		_, err := a.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, 0, 1), Meta: meta()})
		require.NoError(t, err)
		require.NoError(t, a.(adapters.Closer).Close(ctx))
		_, err = a.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, 1, 2), Meta: meta()})
		requireCode(t, err, "ADAPTER_CLOSED", adapters.ClassRetryable)
	})

	t.Run("aborts a batch in flight when its context ends", func(t *testing.T) {
		prof := newProfiles(t)
		prof.gate = make(chan struct{}) // never opened
		prof.entered = make(chan struct{}, 1)
		a := build(t, `{ batch_size: 1 }`, adapters.Deps{LLM: prof, Segments: db.Vectors()})
		done := make(chan error, 1)
		go func() {
			_, err := a.Process(ctx, &adapters.Input{Payload: segmentMessage(t, 0, 0, 1), Meta: meta()})
			done <- err
		}()
		waitFor(t, prof.entered, "the batch's Embed call")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		require.ErrorIs(t, a.(adapters.Closer).Close(cctx), context.Canceled)
		err := waitErr(t, done)
		require.Error(t, err)
		require.NotEqual(t, adapters.ClassPermanent, adapters.Classify(err), "an aborted batch is retried later: %v", err)
	})
}

func TestBuildErrors(t *testing.T) {
	db := vectorDB(t)
	prof := newProfiles(t)

	_, err := tryBuild(t, ``, adapters.Deps{Segments: db.Vectors()})
	var ce *adapters.CodedError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "LLM_NOT_CONFIGURED", ce.Code)
	require.NotEmpty(t, ce.Hint)

	_, err = tryBuild(t, ``, adapters.Deps{LLM: prof})
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "SEGMENT_STORE_UNAVAILABLE", ce.Code)
	require.NotEmpty(t, ce.Hint)

	_, err = tryBuild(t, `models: [{ profile: nowhere }]`, adapters.Deps{LLM: prof, Segments: db.Vectors()})
	require.Error(t, err)
	require.Equal(t, llm.CodeProfileNotFound, llm.Code(err), "error: %v", err)

	// The default slot resolves to the hashing profile: naming it again
	// makes a duplicate slot.
	_, err = tryBuild(t, `models: [{}, { profile: hashing }]`, adapters.Deps{LLM: prof, Segments: db.Vectors()})
	require.ErrorContains(t, err, `slot "hashing" appears twice`)
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func waitErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(time.Minute):
		t.Fatal("timed out waiting for Process to return")
		return errors.New("unreachable")
	}
}
