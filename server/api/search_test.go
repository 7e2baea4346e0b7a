package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/config"
	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// knowledge is a small folder of documents on distinct subjects, so that
// lexical (hashing) embeddings can tell them apart.
var knowledge = map[string]string{
	"retries.md": "# Retries\n\nFailed messages are retried with exponential backoff. " +
		"The retry delay doubles after every attempt until max_retries is reached; " +
		"then the message goes to the dead letter queue.\n",
	"sitemaps.md": "# Sitemaps\n\nThe sitemap parser reads sitemap XML files and sitemap indexes, " +
		"and emits one fetch message for every page location it lists.\n",
	"widgets.md": "# Widgets\n\nA widget renders a chart on the dashboard. Widgets refresh " +
		"every minute and can be arranged in columns.\n",
}

// ingestKnowledge runs the shipped folder-ingest pipeline (with its embed
// route) over the knowledge folder and returns the execution.
func ingestKnowledge(t *testing.T, e *env, tag string) api.Execution {
	t.Helper()
	root := t.TempDir()
	for name, body := range knowledge {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(body), 0o644))
	}
	yaml, err := fs.ReadFile(config.Pipelines(), "folder-ingest.yaml")
	require.NoError(t, err)
	cfg := e.createConfig("folder-ingest-"+tag, string(yaml))
	var ex api.Execution
	e.call(http.MethodPost, "/api/v1/configs/"+cfg.ID+"/run?tag="+tag, map[string]any{"root": root},
		http.StatusCreated, &ex)
	return e.waitStatus(ex.ID, true)
}

func TestSearchIndexesAndChatOverAnIngestedFolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := ingestKnowledge(t, e, "kb")
	require.Equal(t, store.StatusCompleted, ex.Status, ex.ErrorInfo)

	var caps search.Capabilities
	e.call(http.MethodGet, "/api/v1/search/capabilities", nil, http.StatusOK, &caps)
	require.True(t, caps.PgvectorAvailable)
	require.Len(t, caps.Models, 1, "the slot embedding_generator wrote")
	require.Equal(t, "hashing", caps.Models[0].Name)
	require.Equal(t, 384, caps.Models[0].Dims)

	var info api.SystemInfo
	e.call(http.MethodGet, "/api/v1/system/info", nil, http.StatusOK, &info)
	require.True(t, info.Providers.PgVector)
	names := map[string]bool{}
	for _, p := range info.Providers.LLM {
		names[p.Name] = true
	}
	require.True(t, names["hashing"] && names["extractive"], info.Providers.LLM)

	// Every mode ranks the document on the subject first.
	for _, path := range []string{"/search", "/search/hybrid", "/search/rrf"} {
		var res search.Response
		e.call(http.MethodPost, "/api/v1"+path, api.SearchBody{Query: "how are failed messages retried with backoff"},
			http.StatusOK, &res)
		require.NotEmpty(t, res.Hits, path)
		require.True(t, strings.HasSuffix(res.Hits[0].DocumentKey, "retries.md") ||
			strings.HasSuffix(res.Hits[0].StorageKey, "retries.md"), "%s: %+v", path, res.Hits[0])
		require.Equal(t, ex.ID, res.Hits[0].ExecutionID)
		for i := 1; i < len(res.Hits); i++ {
			require.GreaterOrEqual(t, res.Hits[i-1].Score, res.Hits[i].Score, "%s ranks best first", path)
		}
		if path == "/search/hybrid" {
			require.NotNil(t, res.Hits[0].VectorScore)
			require.NotNil(t, res.Hits[0].TextScore)
		}
	}
	var multi search.Response
	e.call(http.MethodPost, "/api/v1/search/multi-model",
		api.SearchBody{Query: "sitemap index pages", Models: []string{"hashing"}}, http.StatusOK, &multi)
	require.NotEmpty(t, multi.Hits)
	require.Contains(t, multi.Hits[0].ModelScores, "hashing")

	// Filters: by execution tag (all hits of it), an unknown one is 404.
	var filtered search.Response
	e.call(http.MethodPost, "/api/v1/search", api.SearchBody{Query: "widgets dashboard", Limit: 2,
		Filter: api.SearchFilter{ExecutionIDs: []string{"kb"}}}, http.StatusOK, &filtered)
	require.Len(t, filtered.Hits, 2)
	e.problem(e.do(http.MethodPost, "/api/v1/search", api.SearchBody{Query: "x",
		Filter: api.SearchFilter{ExecutionIDs: []string{"no-such-tag"}}}), http.StatusNotFound, store.CodeExecutionNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/search", api.SearchBody{Query: "x", Model: "nope"}),
		http.StatusNotFound, search.CodeModelNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/search", map[string]any{"query": ""}),
		http.StatusUnprocessableEntity, api.CodeValidationFailed)

	var sources api.IndexedSources
	e.call(http.MethodGet, "/api/v1/search/sources", nil, http.StatusOK, &sources)
	require.Equal(t, 1, sources.Total)
	require.Equal(t, ex.ID, sources.Sources[0].ExecutionID)
	require.EqualValues(t, len(knowledge), sources.Sources[0].Documents)
	e.call(http.MethodGet, "/api/v1/chat/sources?embedding_model=hashing", nil, http.StatusOK, &sources)
	require.Equal(t, 1, sources.Total)

	// Chat answers from the retrieved passages and cites them.
	var ans chat.Answer
	e.call(http.MethodPost, "/api/v1/chat/complete", api.ChatBody{Query: "How are failed messages retried?"},
		http.StatusOK, &ans)
	requireCitesRetries(t, ans.Text, ans.Sources)

	// The same as a stream: sources, text…, done.
	events := e.chatStream("/api/v1/chat/stream", api.ChatBody{Query: "How are failed messages retried?"})
	require.Equal(t, "sources", events[0].typ)
	require.Equal(t, "done", events[len(events)-1].typ)
	var streamed strings.Builder
	for _, ev := range events[1 : len(events)-1] {
		require.Equal(t, "text", ev.typ)
		var d chat.TextData
		require.NoError(t, json.Unmarshal([]byte(ev.data), &d))
		streamed.WriteString(d.Content)
	}
	require.Equal(t, ans.Text, streamed.String(), "the stream carries the same answer")

	// A thread keeps both turns; a follow-up sees the conversation.
	var th store.ChatThread
	e.call(http.MethodPost, "/api/v1/chat/threads", api.ThreadCreate{Settings: &api.ChatOptions{
		RAGConfig: &api.RAGConfig{RetrievalStrategy: "ensemble"}}}, http.StatusCreated, &th)
	events = e.chatStream("/api/v1/chat/threads/"+th.ID+"/messages", api.ThreadMessage{Content: "How are failed messages retried?"})
	require.Equal(t, "done", events[len(events)-1].typ, events)
	e.chatStream("/api/v1/chat/threads/"+th.ID+"/messages", api.ThreadMessage{Content: "And what is the delay?"})
	var msgs api.Page[store.ChatMessage]
	e.call(http.MethodGet, "/api/v1/chat/threads/"+th.ID+"/messages", nil, http.StatusOK, &msgs)
	require.Equal(t, 4, msgs.Total)
	require.Equal(t, []string{"user", "assistant", "user", "assistant"},
		[]string{msgs.Items[0].Role, msgs.Items[1].Role, msgs.Items[2].Role, msgs.Items[3].Role})
	var cites []chat.Citation
	require.NoError(t, json.Unmarshal(msgs.Items[1].Sources, &cites))
	requireCitesRetries(t, msgs.Items[1].Content, cites)
	e.call(http.MethodGet, "/api/v1/chat/threads/"+th.ID, nil, http.StatusOK, &th)
	require.Equal(t, "How are failed messages retried?", th.Title, "the first question titles the thread")
	title := "Retries"
	e.call(http.MethodPatch, "/api/v1/chat/threads/"+th.ID, api.ThreadUpdate{Title: &title}, http.StatusOK, &th)
	require.Equal(t, "Retries", th.Title)
	var threads api.Page[store.ChatThread]
	e.call(http.MethodGet, "/api/v1/chat/threads", nil, http.StatusOK, &threads)
	require.Equal(t, 1, threads.Total)
	e.call(http.MethodDelete, "/api/v1/chat/threads/"+th.ID, nil, http.StatusNoContent, nil)
	e.problem(e.do(http.MethodGet, "/api/v1/chat/threads/"+th.ID, nil), http.StatusNotFound, store.CodeChatThreadNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/chat/threads/"+th.ID+"/messages", api.ThreadMessage{Content: "hello?"}),
		http.StatusNotFound, store.CodeChatThreadNotFound)
	e.problem(e.do(http.MethodPost, "/api/v1/chat/complete", api.ChatBody{Query: "x",
		ChatOptions: api.ChatOptions{Profile: "no-such-profile"}}), http.StatusBadRequest, "LLM_PROFILE_NOT_FOUND")

	// Indexes: create, list, refuse a second, plan, drop.
	var ix store.IndexInfo
	e.call(http.MethodPost, "/api/v1/indexes", api.IndexCreate{Model: "hashing", Type: "hnsw"}, http.StatusCreated, &ix)
	require.Equal(t, "hnsw", ix.Type)
	require.Equal(t, "hashing", ix.Model)
	var list api.IndexList
	e.call(http.MethodGet, "/api/v1/indexes", nil, http.StatusOK, &list)
	require.Equal(t, 1, list.Total)
	require.Equal(t, ix.Name, list.Items[0].Name)
	e.problem(e.do(http.MethodPost, "/api/v1/indexes", api.IndexCreate{Model: "hashing", Type: "ivfflat"}),
		http.StatusConflict, "VECTOR_INDEX_EXISTS")
	var plan api.AutoManageResult
	e.call(http.MethodPost, "/api/v1/indexes/auto-manage", api.AutoManageBody{DryRun: true}, http.StatusOK, &plan)
	require.True(t, plan.DryRun)
	require.Zero(t, plan.AppliedCount)
	// The search still answers the same with the index in place.
	var indexed search.Response
	e.call(http.MethodPost, "/api/v1/search", api.SearchBody{Query: "how are failed messages retried with backoff"},
		http.StatusOK, &indexed)
	require.True(t, strings.HasSuffix(indexed.Hits[0].DocumentKey, "retries.md") ||
		strings.HasSuffix(indexed.Hits[0].StorageKey, "retries.md"), indexed.Hits[0])
	e.call(http.MethodDelete, "/api/v1/indexes/"+ix.Name, nil, http.StatusNoContent, nil)
	e.problem(e.do(http.MethodDelete, "/api/v1/indexes/"+ix.Name, nil), http.StatusNotFound, "VECTOR_INDEX_NOT_FOUND")
}

// requireCitesRetries checks that an answer cites, as [n], the passage of
// retries.md, and that sources[n-1] names it.
func requireCitesRetries(t *testing.T, text string, sources []chat.Citation) {
	t.Helper()
	require.NotEmpty(t, sources, text)
	found := false
	for i, c := range sources {
		require.Equal(t, i+1, c.Index, "sources are numbered as cited")
		if strings.HasSuffix(c.StorageKey, "retries.md") {
			require.True(t, c.Cited, "the retries passage is cited: %s", text)
			require.Contains(t, text, "["+itoa(c.Index)+"]")
			found = true
		}
	}
	require.True(t, found, "retries.md is among the sources: %+v", sources)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type streamEvent struct{ typ, data string }

// chatStream posts body to path and reads the whole event stream.
func (e *env) chatStream(path string, body any) []streamEvent {
	e.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(e.t, err)
	res, err := http.Post(e.url+path, "application/json", strings.NewReader(string(raw)))
	require.NoError(e.t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		require.Equal(e.t, http.StatusOK, res.StatusCode, "%s: %s", path, b)
	}
	require.Equal(e.t, "text/event-stream", res.Header.Get("Content-Type"))
	var (
		out []streamEvent
		cur streamEvent
	)
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.typ != "" {
				out = append(out, cur)
			}
			cur = streamEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	require.NoError(e.t, sc.Err())
	return out
}

// TestVectorFeaturesWithoutPgvector runs the server on a PostgreSQL that
// has no pgvector: vector operations answer PGVECTOR_UNAVAILABLE, the
// rest works, and an embedding route dead-letters with that code.
func TestVectorFeaturesWithoutPgvector(t *testing.T) {
	t.Parallel()
	dbURL := storetest.NoVectorDatabaseURL(t)
	e := newEnv(t, func(c *container.Config) { c.DatabaseURL = dbURL })

	for _, path := range []string{"/search", "/search/hybrid", "/search/rrf"} {
		e.problem(e.do(http.MethodPost, "/api/v1"+path, api.SearchBody{Query: "anything"}),
			http.StatusServiceUnavailable, store.CodeVectorUnavailable)
	}
	e.problem(e.do(http.MethodGet, "/api/v1/indexes", nil), http.StatusServiceUnavailable, store.CodeVectorUnavailable)
	e.problem(e.do(http.MethodPost, "/api/v1/chat/complete", api.ChatBody{Query: "anything"}),
		http.StatusServiceUnavailable, store.CodeVectorUnavailable)
	var info api.SystemInfo
	e.call(http.MethodGet, "/api/v1/system/info", nil, http.StatusOK, &info)
	require.False(t, info.Providers.PgVector)
	var caps search.Capabilities
	e.call(http.MethodGet, "/api/v1/search/capabilities", nil, http.StatusOK, &caps)
	require.False(t, caps.PgvectorAvailable)
	var sources api.IndexedSources
	e.call(http.MethodGet, "/api/v1/search/sources", nil, http.StatusOK, &sources)

	// Pipelines run; the embed route gives its messages up with the code,
	// everything before it works.
	ex := ingestKnowledge(t, e, "no-vectors")
	var st api.ExecutionStats
	e.call(http.MethodGet, "/api/v1/executions/"+ex.ID+"/stats", nil, http.StatusOK, &st)
	routes := map[string]api.RouteStats{}
	for _, r := range st.Routes {
		routes[r.RouteID] = r
	}
	require.EqualValues(t, len(knowledge), routes["convert"].Completed, st.Routes)
	require.Positive(t, routes["segments"].Completed, st.Routes)
	require.Equal(t, routes["segments"].Completed, routes["embed"].DeadLettered, st.Routes)
	var dls api.Page[api.DeadLetter]
	e.call(http.MethodGet, "/api/v1/dead-letters?execution_id="+ex.ID, nil, http.StatusOK, &dls)
	require.NotEmpty(t, dls.Items)
	require.Contains(t, dls.Items[0].Reason, store.CodeVectorUnavailable)
	require.Equal(t, "permanent", dls.Items[0].ErrorClass)
}
