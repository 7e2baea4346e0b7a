package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// TestRunDocsIngest runs the shipped docs-ingest pipeline, unchanged,
// through the CLI against a generated website and checks what it leaves
// behind: the summary, the artefacts on disk, lineage, dead letters and the
// execution's timeline in PostgreSQL.
func TestRunDocsIngest(t *testing.T) {
	t.Parallel()
	site := newDocsSite(t, docsSiteOptions{guides: 10, references: 10, troublemakers: true})
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()

	res := runInProcess(t, "run", docsIngestYAML,
		"--payload", fmt.Sprintf(`{"sitemap_url": %q}`, site.URL+"/sitemap.xml"),
		"--data-dir", dataDir, "--database-url", dbURL)

	// The 404 and the disallowed page are dead-lettered, reported, and do
	// not fail the execution.
	require.Equal(t, exitOK, res.code, res)
	require.NotContains(t, res.stderr, "panic", res)
	id := executionID(t, res.stdout)
	require.Contains(t, res.stdout, "execution "+id+" of docs-ingest started")

	pages := site.pagePaths() // fetched successfully, flaky one included
	fetched := len(pages)
	require.Equal(t, 21, fetched)

	// Artefacts: the raw HTML of every fetched page.
	htmls := artefacts(t, dataDir, id, "fetch", "web_content_storage")
	require.Len(t, keys(htmls), fetched)
	byURL := map[string]artefact{}
	for _, a := range htmls {
		requireProvenance(t, a, id, "fetch", "web_content_storage")
		require.True(t, strings.HasSuffix(a.key, ".html"), a.key)
		require.Equal(t, "text/html; charset=utf-8", a.meta["content_type"], a.key)
		require.EqualValues(t, 200, a.meta["status_code"], a.key)
		u, _ := a.meta["source_url"].(string)
		require.True(t, strings.HasPrefix(u, site.URL), "source_url %q of %s", u, a.key)
		path := strings.TrimPrefix(u, site.URL)
		want, ok := site.page(path)
		require.True(t, ok, "stored a page the site does not have: %s", u)
		require.Equal(t, want, readFile(t, a.path), "stored HTML of %s", path)
		byURL[u] = a
	}
	require.Len(t, byURL, fetched, "one stored page per URL")

	// Markdown of every page: the content only, code and tables kept.
	mds := artefacts(t, dataDir, id, "convert", "markdown_storage_writer")
	require.Len(t, keys(mds), fetched)
	mdByPath := map[string]string{}
	for _, a := range mds {
		requireProvenance(t, a, id, "convert", "markdown_storage_writer")
		require.True(t, strings.HasSuffix(a.key, ".md"), a.key)
		u, _ := a.meta["source_url"].(string)
		path := strings.TrimPrefix(u, site.URL)
		require.Contains(t, pages, path, "markdown of an unexpected page %q", u)
		require.Equal(t, pageHeading(path)+" — Acme Docs", a.meta["title"], a.key)
		mdByPath[path] = readFile(t, a.path)
	}
	guide := mdByPath["/guides/3"]
	require.Contains(t, guide, "# "+pageHeading("/guides/3"))
	require.Contains(t, guide, "## Section 1 of "+pageHeading("/guides/3"))
	require.Contains(t, guide, "```go\npackage main", "code block with its language")
	require.Contains(t, guide, `fmt.Println("/guides/3 section 1")`)
	require.Regexp(t, `\n\| Option +\| Default +\| Meaning +\|\n\|-+\|-+\|-+\|\n`, guide, "table header")
	require.Regexp(t, `\n\| opt2 +\| 4 +\| \w`, guide, "table row")
	for _, chrome := range []string{"Top navigation link", "Sidebar navigation", "Copyright 2024", "tracking", "font-family"} {
		for path, md := range mdByPath {
			require.NotContains(t, md, chrome, "page chrome left in the markdown of %s", path)
		}
	}

	// Segments: one artefact per segment, grouped by page they add up to
	// each page's segment_count with indexes 0…n-1.
	segs := artefacts(t, dataDir, id, "segments", "segments")
	perPage := map[string][]int{}
	for _, a := range segs {
		requireProvenance(t, a, id, "segments", "segments")
		path := strings.TrimPrefix(a.meta["source_url"].(string), site.URL)
		idx, ok := a.meta["segment_index"].(float64)
		require.True(t, ok, "segment_index of %s: %v", a.key, a.meta)
		perPage[path] = append(perPage[path], int(idx))
		text := readFile(t, a.path)
		require.NotEmpty(t, strings.TrimSpace(text), a.key)
		require.Contains(t, mdByPath[path], firstLine(text), "segment %s is a piece of its page's markdown", a.key)
	}
	for _, a := range segs {
		path := strings.TrimPrefix(a.meta["source_url"].(string), site.URL)
		require.EqualValues(t, len(perPage[path]), a.meta["segment_count"], "segment_count of %s", a.key)
	}
	require.Len(t, perPage, fetched, "every page has segments")
	for path, idx := range perPage {
		slices.Sort(idx)
		for i, v := range idx {
			require.Equal(t, i, v, "segment indexes of %s: %v", path, idx)
		}
		if strings.HasPrefix(path, "/reference/") && path != flakyPath {
			require.Greater(t, len(idx), 1, "a long reference page is cut into several segments: %s", path)
		}
	}
	segments := len(segs)

	// Summary: per-route counts, totals, where the artefacts are. Output
	// that is not a terminal gets no live table, only the summary.
	require.Equal(t, 1, strings.Count(res.stdout, "ROUTE "), res.stdout)
	require.NotContains(t, res.stdout, "\x1b[", "no terminal control codes in redirected output")
	rows := summaryRows(t, res.stdout)
	require.Equal(t, map[string]routeRow{
		"discover": {Done: 1, Emitted: site.listed()},
		"fetch":    {Done: fetched, Failed: 3, Retried: 1, Dead: 2, Emitted: fetched},
		"convert":  {Done: fetched, Emitted: segments},
		"segments": {Done: segments, Emitted: segments},
		"embed":    {Done: segments},
	}, rows, res.stdout)
	tot := totals(t, res.stdout)
	require.Equal(t, summaryTotals{status: "completed", done: 1 + 2*fetched + 2*segments, dead: 2, retried: 1,
		artefacts: 2*fetched + segments}, tot, res.stdout)
	require.Contains(t, res.stdout, "artefacts: file://"+filepath.ToSlash(filepath.Join(dataDir, "storage"))+"/executions/"+id+"\n")

	// Lineage: one row per message per adapter, every attempt counted.
	conn := pgConn(t, dbURL)
	require.Equal(t, map[string]int{
		"discover/sitemap_parser/sitemap_parser/completed":                  1,
		"discover/url_expander/url_expander/completed":                      1,
		"fetch/web_scraper/web_scraper/completed":                           fetched,
		"fetch/web_scraper/web_scraper/failed":                              3,
		"fetch/web_content_storage/web_content_storage/completed":           fetched,
		"convert/storage_retriever/storage_retriever/completed":             fetched,
		"convert/html_to_markdown/html_to_markdown/completed":               fetched,
		"convert/markdown_storage_writer/markdown_storage_writer/completed": fetched,
		"convert/smart_segmenter/smart_segmenter/completed":                 fetched,
		"convert/segment_publisher/segment_publisher/completed":             fetched,
		"segments/markdown_storage_writer/segments/completed":               segments,
		"embed/embedding_generator/embedding_generator/completed":           segments,
	}, lineageCounts(t, conn, id))
	requireEmbedded(t, conn, id, fetched, segments)

	var failures []string
	rowsQ, err := conn.Query(context.Background(), `
		SELECT error_info->>'code' || ' ' || (error_info->>'attempt') || ' ' || (metadata->>'url')
		FROM lineage WHERE execution_id = $1 AND stage_status = 'failed' ORDER BY 1`, id)
	require.NoError(t, err)
	failures, err = pgx.CollectRows(rowsQ, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{
		"WEB_HTTP_404 1 " + site.URL + missingPath,
		"WEB_HTTP_500 1 " + site.URL + flakyPath,
		"WEB_ROBOTS_DISALLOWED 1 " + site.URL + disallowedPath,
	}, failures)

	// Every segment traces back through convert and fetch to the root
	// message of the execution.
	var root string
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT root_correlation_id FROM executions WHERE id = $1`, id).Scan(&root))
	for _, a := range []artefact{segs[0], segs[len(segs)-1]} {
		chain := lineageChain(t, conn, a.meta["message_id"].(string))
		require.Equal(t, []string{"segments", "convert", "fetch", "discover"}, chain.routes, a.key)
		require.Equal(t, root, chain.top, a.key)
	}

	// Dead letters: permanent failures, once each, with their codes.
	dls := deadLetters(t, conn, id)
	require.Len(t, dls, 2)
	byReason := map[string]deadLetter{}
	for _, d := range dls {
		require.Equal(t, "fetch", d.route)
		require.Equal(t, "web_scraper", d.adapter)
		require.Equal(t, "docs.fetch", d.queue)
		require.Equal(t, "permanent", d.errorClass)
		require.Equal(t, 1, d.attempt, "permanent failures are not retried")
		for _, code := range []string{"WEB_HTTP_404", "WEB_ROBOTS_DISALLOWED"} {
			if strings.Contains(d.reason, code+": ") {
				byReason[code] = d
			}
		}
	}
	require.Equal(t, site.URL+missingPath, byReason["WEB_HTTP_404"].payload["url"], dls)
	require.Equal(t, site.URL+disallowedPath, byReason["WEB_ROBOTS_DISALLOWED"].payload["url"], dls)

	// The execution and its timeline.
	ex := loadExecution(t, conn, id)
	require.Equal(t, "completed", ex.status)
	require.Equal(t, "docs-ingest", ex.configName)
	require.True(t, ex.completed, "completed_at is set")
	require.Equal(t, []string{"pending", "running", "completed"}, statusTimeline(t, conn, id))
	require.Equal(t, 2, countEvents(t, conn, id, "dead_letter"))

	var sourcePath, sourceType string
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT source_path, source_type FROM pipeline_configs WHERE name = 'docs-ingest'`).Scan(&sourcePath, &sourceType))
	abs, err := filepath.Abs(docsIngestYAML)
	require.NoError(t, err)
	require.Equal(t, abs, sourcePath)
	require.Equal(t, "file", sourceType)

	// What the site saw: robots.txt honoured, permanent failures not
	// retried, the transient one retried once, every page fetched once.
	require.Zero(t, site.hit(disallowedPath), "robots.txt disallows it")
	require.Equal(t, 1, site.hit(missingPath))
	require.Equal(t, 2, site.hit(flakyPath))
	for _, p := range pages {
		if p != flakyPath {
			require.Equal(t, 1, site.hit(p), "fetches of %s", p)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// lineageChain follows a message's parents up to the root.
type chainResult struct {
	routes []string
	top    string
}

func lineageChain(t *testing.T, conn *pgx.Conn, correlationID string) chainResult {
	t.Helper()
	var out chainResult
	id := correlationID
	for range 10 {
		var route string
		var parent *string
		err := conn.QueryRow(context.Background(), `
			SELECT route_id, parent_correlation_id FROM lineage
			WHERE correlation_id = $1 ORDER BY adapter_index LIMIT 1`, id).Scan(&route, &parent)
		require.NoError(t, err, "lineage of %s", id)
		out.routes = append(out.routes, route)
		if parent == nil || *parent == "" {
			out.top = id
			return out
		}
		id = *parent
	}
	t.Fatalf("lineage of %s does not reach a root", correlationID)
	return out
}
