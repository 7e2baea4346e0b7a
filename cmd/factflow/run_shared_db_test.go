package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// TestRunLeavesOtherRunsAlone: two runs sharing one database (a team
// PostgreSQL, or DATABASE_URL set for every shell) are independent. The
// second one starting must not mark the first one's live execution
// interrupted: the first completes, and its row says so.
func TestRunLeavesOtherRunsAlone(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gate) }) }
	t.Cleanup(release)
	site := newDocsSite(t, docsSiteOptions{guides: 3, gate: gate})
	dbURL := storetest.URL(t)

	// Run A crawls the site, whose pages wait for the gate: A is running
	// until B has come and gone.
	var aOut, aErr syncBuffer
	aCode := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		aCode <- runWith(ctx, []string{"run", docsIngestYAML,
			"--payload", fmt.Sprintf(`{"sitemap_url": %q}`, site.URL+"/sitemap.xml"),
			"--data-dir", t.TempDir(), "--database-url", dbURL}, &aOut, &aErr)
	}()
	waitFor(t, time.Minute, "run A to fetch its first page", func() bool { return site.hit("/guides/1") > 0 })

	// Run B: another pipeline, its own data dir, the same database.
	root := t.TempDir()
	writeTree(t, root, map[string]string{"doc.md": "# Doc\n\n" + prose("doc", 1, 3) + "\n"})
	b := runInProcess(t, "run", folderIngestYAML, "--payload", fmt.Sprintf(`{"root": %q}`, root),
		"--data-dir", t.TempDir(), "--database-url", dbURL)
	require.Equal(t, exitOK, b.code, b)

	release()
	var a runResult
	select {
	case code := <-aCode:
		a = runResult{code: code, stdout: aOut.String(), stderr: aErr.String()}
	case <-ctx.Done():
		t.Fatal("run A did not finish")
	}
	require.Equal(t, exitOK, a.code, a)

	conn := pgConn(t, dbURL)
	aID, bID := executionID(t, a.stdout), executionID(t, b.stdout)
	require.Equal(t, "completed", loadExecution(t, conn, bID).status)
	require.Equal(t, []string{"pending", "running", "completed"}, statusTimeline(t, conn, aID),
		"run B's start must not touch run A's execution\n%s", a)
	require.Equal(t, "completed", loadExecution(t, conn, aID).status)
	require.NotContains(t, a.stderr, "cannot persist execution status", a)
}
