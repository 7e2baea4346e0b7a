package storage_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
)

type recorder struct {
	mu     sync.Mutex
	events []storage.Event
}

func (r *recorder) sink(_ context.Context, ev storage.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) all() []storage.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]storage.Event(nil), r.events...)
}

func observed(t *testing.T) (storage.Store, *recorder) {
	t.Helper()
	s, err := fs.New(t.TempDir(), fs.WithSync(false))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	rec := &recorder{}
	return storage.Observe(s, rec.sink), rec
}

func TestObserveEmitsOnPut(t *testing.T) {
	t.Parallel()
	s, rec := observed(t)
	key := storage.ExecutionKey("exec-1", "crawl", "fetch", "msg-1", ".html")
	meta := storage.Metadata{
		storage.MetaContentType: "text/html",
		storage.MetaExecutionID: "exec-1",
		storage.MetaRoute:       "crawl",
		storage.MetaStage:       "fetch",
		"extra":                 "kept",
	}
	info, err := s.Put(t.Context(), key, strings.NewReader("<p>x</p>"), meta)
	require.NoError(t, err)

	events := rec.all()
	require.Len(t, events, 1)
	ev := events[0]
	require.Equal(t, storage.EventObjectCreated, ev.Type)
	require.Equal(t, key, ev.Key)
	require.Equal(t, info.Size, ev.Size)
	require.EqualValues(t, 8, ev.Size)
	require.Equal(t, "text/html", ev.ContentType)
	require.Equal(t, "exec-1", ev.ExecutionID)
	require.Equal(t, "crawl", ev.Route)
	require.Equal(t, "fetch", ev.Stage)
	require.Equal(t, "kept", ev.Metadata["extra"])
	require.False(t, ev.Time.IsZero())
	require.Equal(t, "UTC", ev.Time.Location().String())
}

func TestObserveEmitsOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	s, rec := observed(t)
	ctx := t.Context()

	_, err := s.Put(ctx, "../escape", strings.NewReader("x"), nil)
	require.ErrorIs(t, err, storage.ErrInvalidKey)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Put(cancelled, "k", strings.NewReader("x"), nil)
	require.ErrorIs(t, err, context.Canceled)
	boom := errors.New("source failed")
	_, err = s.Put(ctx, "k", &failingReader{err: boom}, nil)
	require.ErrorIs(t, err, boom)
	require.Empty(t, rec.all(), "failed writes emit nothing")

	// Reads and deletes are not writes.
	_, err = s.Put(ctx, "k", strings.NewReader("x"), nil)
	require.NoError(t, err)
	_, err = s.Stat(ctx, "k")
	require.NoError(t, err)
	rc, _, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	for _, err := range s.List(ctx, "", storage.ListOptions{}) {
		require.NoError(t, err)
	}
	require.NoError(t, s.Delete(ctx, "k"))
	events := rec.all()
	require.Len(t, events, 1)
	require.Equal(t, "k", events[0].Key)
	require.Empty(t, events[0].ExecutionID, "no execution in metadata, none in the event")
	require.Equal(t, "application/octet-stream", events[0].ContentType)
}

func TestObserveConcurrentPuts(t *testing.T) {
	t.Parallel()
	s, rec := observed(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			_, err := s.Put(t.Context(), "c/"+string(rune('a'+i)), strings.NewReader("x"), nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	seen := map[string]bool{}
	for _, ev := range rec.all() {
		seen[ev.Key] = true
	}
	require.Len(t, seen, 16, "one event per successful write")
	require.Len(t, rec.all(), 16)
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }
