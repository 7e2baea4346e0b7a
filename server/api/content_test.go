package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/archive"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func waitArchive(t *testing.T, e *env, id string) api.ArchiveJob {
	t.Helper()
	var j api.ArchiveJob
	require.Eventually(t, func() bool {
		e.call(http.MethodGet, "/api/v1/content/archive/"+id+"/status", nil, http.StatusOK, &j)
		return j.Status != store.ArchivePending && j.Status != store.ArchiveRunning
	}, 30*time.Second, 50*time.Millisecond)
	return j
}

func zipNames(t *testing.T, body []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

func TestContentArchives(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("ingest", ingestPipeline)
	ex := runIngest(t, e, "arch")

	var n api.ArchiveCount
	e.call(http.MethodPost, "/api/v1/content/archive/count", api.ArchiveSelection{ExecutionIDs: []string{"arch"}}, http.StatusOK, &n)
	require.Equal(t, 6, n.Objects)
	require.Positive(t, n.Bytes)
	e.call(http.MethodPost, "/api/v1/content/archive/count", api.ArchiveSelection{ExecutionIDs: []string{"arch"}, Extensions: []string{".md"}}, http.StatusOK, &n)
	require.Equal(t, 4, n.Objects)

	var j api.ArchiveJob
	e.call(http.MethodPost, "/api/v1/content/archive/prepare", api.ArchiveSelection{ExecutionIDs: []string{"arch"}, IncludeMetadata: true},
		http.StatusAccepted, &j)
	require.Equal(t, 6, j.ObjectsTotal)
	require.Equal(t, "archives/"+j.ID+".zip", j.ArchiveKey)
	done := waitArchive(t, e, j.ID)
	require.Equal(t, store.ArchiveCompleted, done.Status, done.Error)
	require.Equal(t, 6, done.ObjectsDone)
	require.Positive(t, done.ArchiveSize)

	r := e.do(http.MethodGet, "/api/v1/content/archive/"+j.ID+"/download", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, "application/zip", r.header.Get("Content-Type"))
	names := zipNames(t, r.body)
	require.Len(t, names, 12, "six objects and their metadata")
	for _, name := range names {
		require.True(t, strings.HasPrefix(name, ex.ID+"/"), "the key hierarchy below executions/ is kept: %s", name)
	}

	// Archives are not themselves artefacts of anything.
	var objs api.StorageList
	e.call(http.MethodGet, "/api/v1/storage/objects?prefix=archives/", nil, http.StatusOK, &objs)
	require.Equal(t, 1, objs.Total)

	r = e.do(http.MethodDelete, "/api/v1/content/archive/"+j.ID, nil)
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	e.problem(e.do(http.MethodGet, "/api/v1/content/archive/"+j.ID+"/status", nil), http.StatusNotFound, store.CodeArchiveNotFound)
	e.call(http.MethodGet, "/api/v1/storage/objects?prefix=archives/", nil, http.StatusOK, &objs)
	require.Zero(t, objs.Total, "deleting the job removes its zip")

	// Bad input.
	e.problem(e.do(http.MethodPost, "/api/v1/content/archive/prepare", api.ArchiveSelection{ExecutionIDs: []string{"nope"}}),
		http.StatusNotFound, store.CodeExecutionNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/content/archive/prepare", api.ArchiveSelection{ExecutionIDs: []string{"arch"}, Extensions: []string{".pdf"}}),
		http.StatusNotFound, api.CodeArchiveEmpty)
	e.problem(e.do(http.MethodPost, "/api/v1/content/archive/count", api.ArchiveSelection{}), http.StatusUnprocessableEntity, api.CodeValidationFailed)
	e.problem(e.do(http.MethodGet, "/api/v1/content/archive/0190c3a8-7d2e-7000-8000-000000000000/download", nil),
		http.StatusNotFound, store.CodeArchiveNotFound)
}

// A job never stays stuck: one cut short by a stop ends failed (not
// running), and one whose process died is failed at the next start.
func TestArchiveJobsNeverStuck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createConfig("ingest", ingestPipeline)
	runIngest(t, e, "stuck")
	ctx := context.Background()

	jobs := e.c.DB.ArchiveJobs()
	orphan := &store.ArchiveJob{Selection: []byte(`{}`), ArchiveKey: "archives/x.zip", OwnerID: "a-process-that-died"}
	require.NoError(t, jobs.Create(ctx, orphan))
	require.NoError(t, jobs.Progress(ctx, orphan.ID, 1, 10))
	failed, err := e.c.Archives.Recover(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{orphan.ID}, failed)
	got, err := jobs.Get(ctx, orphan.ID)
	require.NoError(t, err)
	require.Equal(t, store.ArchiveFailed, got.Status)
	require.Contains(t, got.Error, "prepare it again")

	// A second service (another process of the same instance would not
	// exist; a fresh one stands for the next start) building while Stop
	// comes: the job ends, and a new Prepare is refused.
	svc := archive.New(e.c.DB, e.c.Storage, e.c.Instance.ID, nil)
	rec, err := e.c.DB.Executions().GetByIDOrTag(ctx, "stuck")
	require.NoError(t, err)
	j, err := svc.Prepare(ctx, archive.Selection{ExecutionIDs: []string{rec.ID}})
	require.NoError(t, err)
	require.NoError(t, svc.Stop(ctx))
	end, err := jobs.Get(ctx, j.ID)
	require.NoError(t, err)
	require.Contains(t, []string{store.ArchiveCompleted, store.ArchiveFailed}, end.Status, "ended, whichever came first")
	_, err = svc.Prepare(ctx, archive.Selection{ExecutionIDs: []string{rec.ID}})
	require.ErrorIs(t, err, archive.ErrStopped)
}
