//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// TestServeEmbeddedDocsIngestThroughCLI is the whole path of a user: the
// real binary serves on the embedded default (private PostgreSQL,
// in-process NATS, file storage), and the same binary as a CLI client
// creates the docs-ingest pipeline, runs it against a generated website,
// waits for it, and reads stats and artefacts; lineage is read over the
// API. Then SIGTERM stops everything, PostgreSQL included.
func TestServeEmbeddedDocsIngestThroughCLI(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	site := newDocsSite(t, docsSiteOptions{guides: 4, references: 4, troublemakers: true})
	dataDir := t.TempDir()
	env := childEnv("DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock"))
	p := startServe(t, bin, env, "--embedded", "--port", "0", "--data-dir", dataDir)
	m := privateClusterRe.FindStringSubmatch(p.stdout.String())
	require.NotNil(t, m, "the server provisioned its own PostgreSQL\n%s", p.output())
	clusterDir := m[1]
	t.Cleanup(func() { removeCluster(t, dataDir, clusterDir) })

	cliEnv := append(childEnv(), "FACTFLOW_URL="+p.url)
	cli := func(args ...string) runResult {
		t.Helper()
		return runBinary(t, bin, cliEnv, args...)
	}
	jsonOf := func(res runResult, out any) {
		t.Helper()
		require.Equal(t, exitOK, res.code, res)
		require.NoError(t, json.Unmarshal([]byte(res.stdout), out), res)
	}

	res := cli("system", "health")
	require.Equal(t, exitOK, res.code, res)

	var cfg api.Config
	jsonOf(cli("config", "create", "-f", docsIngestYAML, "--name", "docs-e2e", "--output", "json"), &cfg)
	require.True(t, cfg.IsRunnable, cfg.ValidationReport)
	require.Equal(t, store.SourceCLI, cfg.SourceType)

	res = cli("config", "run", "docs-e2e", "--tag", "e2e-docs", "--wait", "--progress", "lines",
		"--payload", fmt.Sprintf(`{"sitemap_url": %q}`, site.URL+"/sitemap.xml"))
	require.Equal(t, exitOK, res.code, "run --wait exits 0 on completed\n%s\n%s", res, p.output())

	var ex api.Execution
	jsonOf(cli("execution", "get", "e2e-docs", "--output", "json"), &ex)
	require.Equal(t, store.StatusCompleted, ex.Status)
	require.Equal(t, cfg.ID, ex.ConfigID)

	// Stats: the counts of the shipped pipeline over this site.
	fetched := len(site.pagePaths())
	require.Equal(t, 4+4+1, fetched, "every page but the missing and the disallowed one")
	var st api.ExecutionStats
	jsonOf(cli("execution", "stats", "e2e-docs", "--output", "json"), &st)
	routes := map[string]api.RouteStats{}
	for _, r := range st.Routes {
		routes[r.RouteID] = r
	}
	require.EqualValues(t, 1, routes["discover"].Completed, st.Routes)
	require.EqualValues(t, fetched, routes["fetch"].Completed, st.Routes)
	require.EqualValues(t, 2, routes["fetch"].DeadLettered, "the 404 and the robots-disallowed page")
	require.EqualValues(t, fetched, routes["convert"].Completed, st.Routes)
	segments := routes["segments"].Completed
	require.GreaterOrEqual(t, segments, int64(fetched), "at least one segment per page")
	require.Equal(t, segments, routes["embed"].Completed, "every segment is embedded")
	require.Equal(t, 2, st.DeadLetters)

	// Artefacts through the CLI: raw HTML and Markdown of each page, one
	// object per segment, each with its provenance.
	var objs api.StorageList
	jsonOf(cli("storage", "list", "--prefix", "executions/"+ex.ID+"/", "--limit", "1000", "--output", "json"), &objs)
	byStage := map[string][]api.StorageObject{}
	for _, o := range objs.Items {
		require.Equal(t, ex.ID, o.Metadata[storage.MetaExecutionID], o.Key)
		stage, _ := o.Metadata[storage.MetaStage].(string)
		byStage[stage] = append(byStage[stage], o)
	}
	require.Len(t, byStage["web_content_storage"], fetched)
	require.Len(t, byStage["markdown_storage_writer"], fetched)
	require.Len(t, byStage["segments"], int(segments))
	require.Equal(t, 2*fetched+int(segments), objs.Total)

	var md api.StorageObject
	for _, o := range byStage["markdown_storage_writer"] {
		if strings.HasSuffix(o.Metadata["source_url"].(string), "/guides/2") {
			md = o
		}
	}
	require.NotEmpty(t, md.Key, "the Markdown of /guides/2 is stored")
	res = cli("storage", "get", md.Key)
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "# "+pageHeading("/guides/2"))
	var meta api.ObjectMetadata
	jsonOf(cli("storage", "metadata", md.Key, "--output", "json"), &meta)
	require.Equal(t, "convert", meta.Metadata[storage.MetaRoute])

	// Lineage over the API: one row per message per adapter, matching the
	// stats, every row of this execution, failures with their codes.
	var lin api.LineagePage
	require.Equal(t, http.StatusOK, p.call(http.MethodGet,
		"/api/v1/executions/e2e-docs/lineage?limit=10000", nil, &lin), p.output())
	require.EqualValues(t, st.LineageRows, lin.Total)
	perAdapter := map[string]int{}
	var failedCodes []string
	for _, e := range lin.Items {
		require.Equal(t, ex.ID, e.ExecutionID)
		perAdapter[e.RouteID+"/"+e.StageName+"/"+e.StageStatus]++
		if e.StageStatus == store.StageFailed {
			code, _ := e.ErrorInfo["code"].(string)
			failedCodes = append(failedCodes, code)
		}
	}
	require.Equal(t, fetched, perAdapter["fetch/web_content_storage/completed"], perAdapter)
	require.Equal(t, fetched, perAdapter["convert/smart_segmenter/completed"], perAdapter)
	require.Equal(t, int(segments), perAdapter["segments/segments/completed"], perAdapter)
	require.Equal(t, int(segments), perAdapter["embed/embedding_generator/completed"], perAdapter)
	require.ElementsMatch(t, []string{"WEB_HTTP_404", "WEB_HTTP_500", "WEB_ROBOTS_DISALLOWED"}, failedCodes)

	// The timeline through the CLI ends with the terminal status.
	res = cli("execution", "timeline", "e2e-docs", "--output", "json")
	require.Equal(t, exitOK, res.code, res)
	var tl api.Timeline
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &tl), res)
	last := tl.Events[len(tl.Events)-1]
	require.Equal(t, store.EventStatus, last.Type)
	require.Equal(t, store.StatusCompleted, last.Status)

	// Search and chat through the CLI, on the offline hashing embeddings:
	// the codename only /guides/3 mentions finds that page, and the chat
	// answer quotes the sentence with a citation naming the page.
	fact := pageFact("/guides/3")
	var found search.Response
	jsonOf(cli("search", "hybrid", "codename cobalt north", "--execution", "e2e-docs", "--limit", "3", "--output", "json"), &found)
	require.NotEmpty(t, found.Hits)
	require.True(t, strings.HasSuffix(found.Hits[0].URL, "/guides/3"), "top hit %+v", found.Hits[0])
	require.Equal(t, ex.ID, found.Hits[0].ExecutionID)
	res = cli("search", "semantic", "codename cobalt north", "--limit", "3")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, site.URL+"/guides/3")

	res = cli("chat", "What is the codename of the guide widget 3?")
	require.Equal(t, exitOK, res.code, res)
	answer, sourcesList, ok := strings.Cut(res.stdout, "\nSources:\n")
	require.True(t, ok, "the answer lists its sources\n%s", res.stdout)
	cited := regexp.MustCompile(`(?m)^  \[(\d+)\] .*\n      (\S+)$`).FindAllStringSubmatch(sourcesList, -1)
	require.NotEmpty(t, cited, sourcesList)
	guide3 := ""
	for _, m := range cited {
		if m[2] == site.URL+"/guides/3" {
			guide3 = m[1]
		}
	}
	require.NotEmpty(t, guide3, "the page is among the cited sources\n%s", res.stdout)
	require.Contains(t, answer, fact+" ["+guide3+"]", "the answer quotes the fact and cites its page\n%s", res.stdout)

	// The raw bytes over plain HTTP too (what a browser link would fetch).
	resp, err := http.Get(p.url + "/api/v1/storage/objects/" + url.PathEscape(md.Key))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	stopped := p.stop(syscall.SIGTERM)
	require.Equal(t, exitOK, stopped.code, stopped)
	requireClusterStopped(t, clusterDir)
}
