package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// runIngest runs ingestPipeline over three files to the end.
func runIngest(t *testing.T, e *env, tag string) api.Execution {
	t.Helper()
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/ingest/run?tag="+tag, map[string]any{"root": threeFiles(t)}, http.StatusCreated, &ex)
	require.Equal(t, store.StatusCompleted, e.waitStatus(ex.ID, true).Status)
	return ex
}

func storageEventsOf(t *testing.T, e *env, query, lastID string, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+"/api/v1/storage/events"+query, nil)
	require.NoError(t, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	return readEvents(t, res.Body, stop)
}

func TestStorageListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("ingest", ingestPipeline)
	first := runIngest(t, e, "first")
	runIngest(t, e, "second")

	var all api.StorageList
	e.call(http.MethodGet, "/api/v1/storage/objects?limit=1000", nil, http.StatusOK, &all)
	require.Equal(t, 12, all.Total, "two artefacts per file, three files, two runs")

	var l api.StorageList
	e.call(http.MethodGet, "/api/v1/storage/objects?execution_id=first", nil, http.StatusOK, &l)
	require.Equal(t, 6, l.Total)
	for _, o := range l.Items {
		require.True(t, strings.HasPrefix(o.Key, "executions/"+first.ID+"/"), o.Key)
	}
	e.call(http.MethodGet, "/api/v1/storage/objects?execution_id=first&extension=.md", nil, http.StatusOK, &l)
	require.Equal(t, 4, l.Total, "three Markdown outputs and the copied a.md")
	e.call(http.MethodGet, "/api/v1/storage/objects?execution_id=first&stage=markdown_storage_writer", nil, http.StatusOK, &l)
	require.Equal(t, 3, l.Total)
	e.call(http.MethodGet, "/api/v1/storage/objects?route_id=scan&extension=md,txt", nil, http.StatusOK, &l)
	require.Equal(t, 4, l.Total, "a.md and c.txt copies of both runs")
	e.call(http.MethodGet, "/api/v1/storage/objects?execution_id=first&prefix=elsewhere/", nil, http.StatusOK, &l)
	require.Zero(t, l.Total, "a prefix outside the execution's folder matches nothing")

	e.call(http.MethodGet, "/api/v1/storage/objects?prefix=executions/&delimiter=/&include_execution_info=true", nil, http.StatusOK, &l)
	require.Len(t, l.CommonPrefixes, 2)
	require.Len(t, l.Executions, 2)
	tags := map[string]store.ExecutionStatus{}
	for _, x := range l.Executions {
		require.True(t, x.Found)
		require.Equal(t, "ingest", x.ConfigName)
		tags[x.Tag] = x.Status
	}
	require.Equal(t, map[string]store.ExecutionStatus{"first": store.StatusCompleted, "second": store.StatusCompleted}, tags)

	e.problem(e.do(http.MethodGet, "/api/v1/storage/objects?execution_id=nope", nil), http.StatusNotFound, store.CodeExecutionNotFound)
}

// The storage feed of a finished execution replays its objects and ends;
// a dropped client resumes with Last-Event-ID and gets the rest exactly
// once; filters narrow it.
func TestStorageEventsReplayAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("ingest", ingestPipeline)
	ex := runIngest(t, e, "feed")

	all := storageEventsOf(t, e, "?execution_id=feed", "", nil)
	require.Len(t, all, 6, "every object of the execution, then the end")
	for i, ev := range all {
		require.Equal(t, store.StorageEventType, ev.Type)
		require.Equal(t, ex.ID, ev.Event.ExecutionID)
		if i > 0 {
			require.Greater(t, ev.ID, all[i-1].ID)
		}
	}

	n := 0
	head := storageEventsOf(t, e, "?execution_id=feed", "", func(sseEvent) bool { n++; return n == 2 })
	rest := storageEventsOf(t, e, "?execution_id=feed", head[len(head)-1].ID, nil)
	got := append(head, rest...)
	require.Len(t, got, len(all))
	for i := range all {
		require.Equal(t, all[i].ID, got[i].ID)
	}

	// since starts the feed at a time instead of its beginning.
	mid := time.Now()
	later := runIngest(t, e, "feed-later")
	since := storageEventsOf(t, e, "?execution_id=feed&execution_id=feed-later&since="+url.QueryEscape(mid.Format(time.RFC3339Nano)), "", nil)
	require.Len(t, since, 6, "only the later execution's objects (execution_id repeats)")
	for _, ev := range since {
		require.Equal(t, later.ID, ev.Event.ExecutionID)
	}
	// Last-Event-ID wins over since.
	resumed := storageEventsOf(t, e, "?execution_id=feed&since="+url.QueryEscape(time.Now().Format(time.RFC3339Nano)), all[3].ID, nil)
	require.Len(t, resumed, 2)

	md := storageEventsOf(t, e, "?execution_id="+ex.ID+"&extension=.md&stage=markdown_storage_writer", "", nil)
	require.Len(t, md, 3)

	r := e.do(http.MethodGet, "/api/v1/storage/events?execution_id=nope", nil)
	e.problem(r, http.StatusNotFound, store.CodeExecutionNotFound)
	r = e.do(http.MethodGet, "/api/v1/storage/events", nil, "Last-Event-ID", "garbage")
	e.problem(r, http.StatusBadRequest, api.CodeEventIDInvalid)
}

// Without execution filters the feed stays open and carries objects as
// they are written.
func TestStorageEventsLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("ingest", ingestPipeline)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/v1/storage/events?extension=.md", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	ex := runIngest(t, e, "live")
	n := 0
	evs := readEvents(t, res.Body, func(sseEvent) bool { n++; return n == 4 })
	require.Len(t, evs, 4, "the Markdown outputs and the copied a.md arrive while the stream is open")
	for _, ev := range evs {
		require.Equal(t, ex.ID, ev.Event.ExecutionID)
	}
}

// Streams whose clients go away release their subscriptions (and the
// goroutines serving them).
func TestStreamsReleaseDisconnectedClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("quick", quickPipeline)
	e.call(http.MethodPatch, "/api/v1/pipelines/work", api.PipelineControl{State: "paused"}, http.StatusOK, nil)
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/quick/run", nil, http.StatusCreated, &ex)
	bus := e.c.Manager.Bus()
	base := bus.Subscribers()

	var cancels []context.CancelFunc
	for _, path := range []string{"/api/v1/executions/" + ex.ID + "/events", "/api/v1/executions/" + ex.ID + "/events?detail=stages",
		"/api/v1/storage/events", "/api/v1/storage/events?execution_id=" + ex.ID} {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+path, nil)
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		t.Cleanup(func() { res.Body.Close() })
	}
	require.Eventually(t, func() bool { return bus.Subscribers() == base+4 }, 10*time.Second, 10*time.Millisecond)
	for _, c := range cancels {
		c()
	}
	require.Eventually(t, func() bool { return bus.Subscribers() == base }, 10*time.Second, 10*time.Millisecond,
		"every stream let go of the bus when its client left")
	require.False(t, bus.WantsStages())
	e.call(http.MethodPost, "/api/v1/executions/"+ex.ID+"/cancel", nil, http.StatusAccepted, nil)
}
