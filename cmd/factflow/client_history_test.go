package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

const failingOneYAML = `version: "1.0"
routes:
  seed:
    inbound: { queue: h.seed }
    adapters: [ { type: url_expander } ]
    outbound: [ { queue: h.work } ]
  work:
    inbound: { queue: h.work }
    adapters:
      - type: fail
        condition: { field: url, operator: contains, value: "bad" }
        config: { permanent: true }
init_message:
  route: seed
  payload: { urls: [ { url: "https://x.test/ok" }, { url: "https://x.test/bad" } ] }
`

func TestClientVersionsDeadLettersReplays(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	file := writeFile(t, "one-bad.yaml", failingOneYAML)
	require.Equal(t, exitOK, e.cli("config", "create", "-f", file).code)
	require.Equal(t, exitOK, e.cli("config", "edit", "one-bad", "-f", file, "--description", "again").code)

	vs := decoded[api.ConfigVersions](t, e.cli("config", "versions", "one-bad", "--output", "json"))
	require.Equal(t, 2, vs.Total)
	res := e.cli("config", "versions", "one-bad")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "2 (current)")

	res = e.cli("config", "run", "one-bad", "--tag", "h1", "--wait", "--progress", "none")
	require.Equal(t, exitOK, res.code, "a dead letter does not fail the execution\n%s", res)

	dls := decoded[api.Page[api.DeadLetter]](t, e.cli("execution", "dead-letters", "h1", "--output", "json"))
	require.Equal(t, 1, dls.Total)
	require.Equal(t, "work", dls.Items[0].Route)
	res = e.cli("dlq", "list", "--execution", "h1")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, dls.Items[0].ID)
	require.Contains(t, res.stdout, "permanent")
	res = e.cli("dlq", "show", dls.Items[0].ID)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "https://x.test/bad")
	res = e.cli("dlq", "show", "0190c3a8-7d2e-7000-8000-000000000000")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "NOT_FOUND")

	reps := decoded[api.Page[api.Execution]](t, e.cli("execution", "replays", "h1", "--output", "json"))
	require.Zero(t, reps.Total)
}

func TestClientStorageBrowseListWatch(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	folder := writeFiles(t, map[string]string{"a.md": "# A\n\nalpha text\n", "b.md": "# B\n\nbeta text\n"})
	require.Equal(t, exitOK, e.cli("config", "create", "-f", folderIngestYAML, "--name", "fi").code)
	res := e.cli("config", "run", "fi", "--set", "root="+folder, "--tag", "s1", "--wait", "--progress", "none")
	require.Equal(t, exitOK, res.code, res)
	ex := decoded[api.Execution](t, e.cli("execution", "get", "s1", "--output", "json"))

	res = e.cli("storage", "browse", "executions/")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "executions/"+ex.ID+"/")
	require.Contains(t, res.stdout, "fi s1 completed", "the folder names its execution")

	md := decoded[api.StorageList](t, e.cli("storage", "list", "--execution", "s1", "--stage", "markdown_storage_writer", "--output", "json"))
	require.Equal(t, 2, md.Total, "one Markdown per file")

	all := decoded[api.StorageList](t, e.cli("storage", "list", "--execution", "s1", "--limit", "1000", "--output", "json"))
	res = e.cli("storage", "watch", "--execution", "s1", "--output", "json")
	require.Equal(t, exitOK, res.code, "watch ends once the execution has ended\n%s", res)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Len(t, lines, all.Total, "one line per object written")
	require.Contains(t, res.stdout, `"type":"`+store.StorageEventType+`"`)

	res = e.cli("storage", "watch", "--execution", "s1", "--extension", ".md", "--stage", "segments")
	require.Equal(t, exitOK, res.code, res)
	segs := decoded[api.StorageList](t, e.cli("storage", "list", "--execution", "s1", "--stage", "segments", "--limit", "1000", "--output", "json"))
	require.Len(t, strings.Split(strings.TrimSpace(res.stdout), "\n"), segs.Total)
}

func TestClientReplay(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	folder := writeFiles(t, map[string]string{"a.md": "# A\n\nalpha text\n", "b.md": "# B\n\nbeta text\n"})
	require.Equal(t, exitOK, e.cli("config", "create", "-f", folderIngestYAML, "--name", "fi").code)
	res := e.cli("config", "run", "fi", "--set", "root="+folder, "--tag", "r0", "--wait", "--progress", "none")
	require.Equal(t, exitOK, res.code, res)

	res = e.cli("execution", "replay", "r0", "--from-stage", "file_source", "--tag", "r1", "--wait", "--progress", "none")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "2 of 2 artefacts published to route convert")
	r1 := decoded[api.Execution](t, e.cli("execution", "get", "r1", "--output", "json"))
	require.Equal(t, store.StatusCompleted, r1.Status)
	reps := decoded[api.Page[api.Execution]](t, e.cli("execution", "replays", "r0", "--output", "json"))
	require.Equal(t, 1, reps.Total)

	out := decoded[api.ReplayResult](t, e.cli("execution", "replay", "r0", "--from-stage", "file_source", "--detached",
		"--config", "fi", "--to-route", "convert", "--output", "json"))
	require.Equal(t, 2, out.ObjectsPublished)
	require.Empty(t, out.Execution.ParentExecutionID)

	res = e.cli("execution", "replay", "r0", "--from-stage", "nothing_here")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "REPLAY_NOTHING_FOUND")
	res = e.cli("execution", "replay", "r0", "--from-stage", "file_source", "--detached")
	require.Equal(t, exitUsage, res.code, res)
}

func TestClientStorageDownload(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	folder := writeFiles(t, map[string]string{"a.md": "# A\n\nalpha text\n", "b.md": "# B\n\nbeta text\n"})
	require.Equal(t, exitOK, e.cli("config", "create", "-f", folderIngestYAML, "--name", "fi").code)
	res := e.cli("config", "run", "fi", "--set", "root="+folder, "--tag", "d1", "--wait", "--progress", "none")
	require.Equal(t, exitOK, res.code, res)
	ex := decoded[api.Execution](t, e.cli("execution", "get", "d1", "--output", "json"))

	out := t.TempDir()
	res = e.cli("storage", "download", "d1", "--stage", "markdown_storage_writer", "--output-dir", out)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "2 files written")
	st, err := os.Stat(filepath.Join(out, ex.ID, "convert", "markdown_storage_writer"))
	require.NoError(t, err)
	require.True(t, st.IsDir(), "the key hierarchy is kept")
	var files []string
	require.NoError(t, filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	require.Len(t, files, 2)
	for _, f := range files {
		require.Contains(t, f, filepath.Join(out, ex.ID, "convert", "markdown_storage_writer"))
	}
	objs := decoded[api.StorageList](t, e.cli("storage", "list", "--prefix", "archives/", "--output", "json"))
	require.Zero(t, objs.Total, "the server's archive is removed after the download")

	res = e.cli("storage", "download", "d1", "--extension", ".pdf", "--output-dir", out)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "ARCHIVE_EMPTY")
}
