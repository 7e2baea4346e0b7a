package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// writeTree writes files (slash-separated relative paths) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// longMarkdown is a document big enough to be cut into several segments.
func longMarkdown(title string, sections int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n", title, prose(title, 0, 3))
	for s := 1; s <= sections; s++ {
		fmt.Fprintf(&b, "\n## %s part %d\n\n", title, s)
		for p := 1; p <= 3; p++ {
			fmt.Fprintf(&b, "%s\n\n", prose(title, s*10+p, 6))
		}
		fmt.Fprintf(&b, "```sh\nfactflow run part-%d.yaml\n```\n", s)
	}
	return b.String()
}

// folderTree is the input folder of the folder-ingest tests: HTML and
// Markdown at several depths, a text file, an empty document and files
// the pipeline must ignore.
func folderTree() map[string]string {
	return map[string]string{
		"index.html": `<!DOCTYPE html><html><head><title>Handbook</title></head><body>
<nav>Handbook navigation</nav>
<h1>Handbook</h1><p>` + prose("index", 1, 4) + `</p>
<h2>Getting started</h2><p>` + prose("index", 2, 4) + `</p>
<pre><code>make install</code></pre>
<footer>Handbook footer</footer></body></html>`,
		"guide/intro.md":                    "# Introduction\n\n" + prose("intro", 1, 5) + "\n\n## Why\n\n" + prose("intro", 2, 5) + "\n",
		"guide/advanced/deep-dive.markdown": longMarkdown("Deep dive", 8),
		"api/reference.htm": `<html><head><title>API reference</title></head><body><main>
<h1>API reference</h1><table><tr><th>Endpoint</th><th>Method</th></tr><tr><td>/executions</td><td>GET</td></tr></table>
<p>` + prose("api", 3, 4) + `</p></main></body></html>`,
		"notes.txt":          "Release notes\n\n" + prose("notes", 4, 6) + "\n",
		"drafts/empty.md":    "",
		"images/logo.png":    "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"data/export.json":   `{"not": "a document"}`,
		"guide/.DS_Store.db": "binary junk",
	}
}

// TestRunFolderIngest runs the shipped folder-ingest pipeline, unchanged,
// over a folder tree and checks the artefacts, their metadata, lineage and
// the summary.
func TestRunFolderIngest(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, folderTree())
	documents := []string{"api/reference.htm", "drafts/empty.md", "guide/advanced/deep-dive.markdown",
		"guide/intro.md", "index.html", "notes.txt"}
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()

	res := runInProcess(t, "run", folderIngestYAML,
		"--payload", fmt.Sprintf(`{"root": %q}`, root),
		"--data-dir", dataDir, "--database-url", dbURL)
	require.Equal(t, exitOK, res.code, res)
	id := executionID(t, res.stdout)

	// The files, copied into storage under their relative paths.
	copies := artefacts(t, dataDir, id, "scan", "file_source")
	var rels []string
	for _, a := range copies {
		requireProvenance(t, a, id, "scan", "file_source")
		rel, _ := a.meta["relative_path"].(string)
		rels = append(rels, rel)
		require.True(t, strings.HasSuffix(a.key, "/scan/file_source/"+rel), a.key)
		require.Equal(t, "file://"+filepath.ToSlash(filepath.Join(root, filepath.FromSlash(rel))), a.meta["source_url"])
		require.Equal(t, folderTree()[rel], readFile(t, a.path), "copy of %s", rel)
	}
	slices.Sort(rels)
	require.Equal(t, documents, rels, "only the HTML, Markdown and text files are taken")

	// One Markdown artefact per document.
	mds := artefacts(t, dataDir, id, "convert", "markdown_storage_writer")
	require.Len(t, keys(mds), len(documents))
	mdBySource := map[string]string{}
	for _, a := range mds {
		requireProvenance(t, a, id, "convert", "markdown_storage_writer")
		src, _ := a.meta["source_url"].(string)
		mdBySource[strings.TrimPrefix(src, "file://"+filepath.ToSlash(root)+"/")] = readFile(t, a.path)
	}
	require.Contains(t, mdBySource["index.html"], "# Handbook")
	require.Contains(t, mdBySource["index.html"], "```\nmake install\n```")
	require.NotContains(t, mdBySource["index.html"], "Handbook navigation")
	require.NotContains(t, mdBySource["index.html"], "Handbook footer")
	require.Contains(t, mdBySource["api/reference.htm"], "| /executions | GET")
	require.Equal(t, strings.TrimSpace(folderTree()["guide/intro.md"]), mdBySource["guide/intro.md"], "Markdown passes through")
	require.Empty(t, mdBySource["drafts/empty.md"])

	// Segments: their number is the sum of the documents' segment_count.
	segs := artefacts(t, dataDir, id, "segments", "segments")
	perDoc := map[string][]int{}
	for _, a := range segs {
		requireProvenance(t, a, id, "segments", "segments")
		src := strings.TrimPrefix(a.meta["source_url"].(string), "file://"+filepath.ToSlash(root)+"/")
		perDoc[src] = append(perDoc[src], int(a.meta["segment_index"].(float64)))
		require.Contains(t, mdBySource[src], firstLine(readFile(t, a.path)), a.key)
	}
	sum := 0
	for _, a := range segs {
		src := strings.TrimPrefix(a.meta["source_url"].(string), "file://"+filepath.ToSlash(root)+"/")
		require.EqualValues(t, len(perDoc[src]), a.meta["segment_count"], "segment_count of %s", a.key)
	}
	for doc, idx := range perDoc {
		slices.Sort(idx)
		require.Equal(t, idx[len(idx)-1], len(idx)-1, "indexes of %s: %v", doc, idx)
		sum += len(idx)
	}
	require.Len(t, perDoc, len(documents)-1, "every document but the empty one has segments")
	require.Greater(t, len(perDoc["guide/advanced/deep-dive.markdown"]), 2, "the long document is cut")
	require.Equal(t, sum, len(segs))
	segments := len(segs)

	rows := summaryRows(t, res.stdout)
	require.Equal(t, map[string]routeRow{
		"scan":     {Done: 1, Emitted: len(documents)},
		"convert":  {Done: len(documents), Skipped: 1, Emitted: segments},
		"segments": {Done: segments, Emitted: segments},
		"embed":    {Done: segments},
	}, rows, res.stdout)
	require.Equal(t, summaryTotals{status: "completed", done: 1 + len(documents) + 2*segments,
		artefacts: 2*len(documents) + segments}, totals(t, res.stdout))

	conn := pgConn(t, dbURL)
	n := len(documents)
	require.Equal(t, map[string]int{
		"scan/file_source/file_source/completed":                            1,
		"convert/storage_retriever/storage_retriever/completed":             n,
		"convert/html_to_markdown/html_to_markdown/completed":               n,
		"convert/markdown_storage_writer/markdown_storage_writer/completed": n,
		"convert/smart_segmenter/smart_segmenter/completed":                 n,
		"convert/segment_publisher/segment_publisher/completed":             n - 1,
		"convert/segment_publisher/segment_publisher/skipped":               1,
		"segments/markdown_storage_writer/segments/completed":               segments,
		"embed/embedding_generator/embedding_generator/completed":           segments,
	}, lineageCounts(t, conn, id))
	requireEmbedded(t, conn, id, len(documents)-1, segments)
	var emitted int
	require.NoError(t, conn.QueryRow(context.Background(), `
		SELECT (metadata->>'emitted')::int FROM lineage
		WHERE execution_id = $1 AND adapter_name = 'file_source'`, id).Scan(&emitted))
	require.Equal(t, n, emitted)

	ex := loadExecution(t, conn, id)
	require.Equal(t, "completed", ex.status)
	require.Equal(t, "folder-ingest", ex.configName)
	require.Empty(t, deadLetters(t, conn, id))
	require.Equal(t, []string{"pending", "running", "completed"}, statusTimeline(t, conn, id))
}
