package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// seedSegments stores one segment per document, embedded with the
// server's default (hashing) profile, in a new execution.
func (e *cliEnv) seedSegments(docs map[string]string) string {
	e.t.Helper()
	ctx := context.Background()
	ex := &store.Execution{}
	require.NoError(e.t, e.c.DB.Executions().Create(ctx, ex))
	emb, err := e.c.LLM.Embedder("")
	require.NoError(e.t, err)
	require.NoError(e.t, e.c.Vectors.RegisterModel(ctx, store.EmbeddingModel{Name: emb.Profile(), Profile: emb.Profile(),
		ProviderModel: emb.Model(), Dims: emb.Dims()}))
	var recs []store.SegmentRecord
	for key, text := range docs {
		vecs, err := emb.Embed(ctx, []string{text})
		require.NoError(e.t, err)
		recs = append(recs, store.SegmentRecord{ExecutionID: ex.ID, DocumentKey: key, StorageKey: key,
			URL: "https://docs.example.org/" + key, Title: strings.TrimSuffix(key, ".md"), Text: text,
			Embeddings: map[string][]float32{emb.Profile(): vecs[0]}})
	}
	_, err = e.c.Vectors.Save(ctx, recs)
	require.NoError(e.t, err)
	return ex.ID
}

var chatDocs = map[string]string{
	"retries.md":  "Failed messages are retried with exponential backoff. The retry delay doubles after every attempt.",
	"sitemaps.md": "The sitemap parser reads sitemap XML files and emits one fetch message for every page it lists.",
	"widgets.md":  "A widget renders a chart on the dashboard and refreshes every minute.",
}

// chatSession runs `factflow chat` with stdin as the user's input.
func (e *cliEnv) chatSession(stdin string, args ...string) runResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(append([]string{"chat", "--server", e.url}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := exitOK
	if err := root.ExecuteContext(ctx); err != nil {
		code = exitFailed
		errOut.WriteString(err.Error())
	}
	require.NoError(e.t, ctx.Err(), "the session did not end")
	return runResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

func TestCLISearchIndexAndChat(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	exID := e.seedSegments(chatDocs)

	// Every search mode, as a table and as JSON.
	for _, mode := range []string{"semantic", "hybrid", "rrf"} {
		res := e.cli("search", mode, "how", "are", "failed", "messages", "retried", "--limit", "2")
		require.Equal(t, exitOK, res.code, res)
		require.Regexp(t, `^1\. [0-9.]+  retries`, res.stdout, mode)
		require.Contains(t, res.stdout, "https://docs.example.org/retries.md")
	}
	found := decoded[search.Response](t, e.cli("search", "multi-model", "sitemap pages", "--models", "hashing", "--output", "json"))
	require.Equal(t, "sitemaps.md", found.Hits[0].DocumentKey)
	require.Contains(t, found.Hits[0].ModelScores, "hashing")
	res := e.cli("search", "multi-model", "sitemap pages")
	require.Equal(t, exitUsage, res.code, res)
	res = e.cli("search", "semantic", "x", "--model", "nope")
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, search.CodeModelNotFound)
	src := decoded[api.IndexedSources](t, e.cli("search", "sources", "--output", "json"))
	require.Equal(t, exID, src.Sources[0].ExecutionID)
	res = e.cli("search", "capabilities")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "pgvector_available: true")

	// Index management.
	ix := decoded[store.IndexInfo](t, e.cli("index", "create", "hashing", "--type", "ivfflat", "--param", "lists=1", "--output", "json"))
	require.Equal(t, "ivfflat", ix.Type)
	require.Equal(t, 1, ix.Parameters["lists"])
	res = e.cli("index", "list")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, ix.Name)
	require.Contains(t, res.stdout, "lists=1")
	res = e.cli("index", "auto-manage", "--dry-run")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "hashing")
	res = e.cli("index", "drop", ix.Name)
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("index", "drop", ix.Name)
	require.Equal(t, exitFailed, res.code, res)
	require.Contains(t, res.stderr, "VECTOR_INDEX_NOT_FOUND")

	// One question: the answer, then the sources it cites.
	res = e.cli("chat", "--stateless", "How are failed messages retried?")
	require.Equal(t, exitOK, res.code, res)
	require.Regexp(t, `Failed messages are retried with exponential backoff\. \[\d\]`, res.stdout)
	require.Contains(t, res.stdout, "\nSources:\n")
	require.Contains(t, res.stdout, "https://docs.example.org/retries.md")

	// A session: questions line by line in one server thread.
	res = e.chatSession("How are failed messages retried?\n/thread\n\nAnd what does the delay do?\n/quit\nnever asked\n")
	require.Equal(t, exitOK, res.code, res)
	threadID := regexp.MustCompile(`(?m)^[0-9a-f-]{36}$`).FindString(res.stdout)
	require.NotEmpty(t, threadID, "/thread prints the thread's id\n%s", res.stdout)
	require.Equal(t, 2, strings.Count(res.stdout, "Sources:"), res.stdout)
	res = e.cli("chat", "--thread", threadID, "What renders a chart on the dashboard?")
	require.Equal(t, exitOK, res.code, res)
	require.Contains(t, res.stdout, "https://docs.example.org/widgets.md")
	var msgs api.Page[store.ChatMessage]
	require.Equal(t, http.StatusOK, serveCall(t, http.MethodGet, e.url+"/api/v1/chat/threads/"+threadID+"/messages", nil, &msgs))
	require.Equal(t, 6, msgs.Total, "three questions and their answers in the one thread")
	require.Equal(t, "user", msgs.Items[4].Role)
	require.Equal(t, "What renders a chart on the dashboard?", msgs.Items[4].Content)
}
