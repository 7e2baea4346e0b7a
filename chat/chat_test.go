package chat_test

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/search/searchtest"
	"github.com/factflow/factflow/store"
)

const question = "Why does sourdough bread rise?"

// requireCitationsMap checks that every [n] of the text names a source
// marked cited, and that no uncited source is marked.
func requireCitationsMap(t *testing.T, a *chat.Answer) {
	t.Helper()
	cited := map[int]bool{}
	for _, m := range regexp.MustCompile(`\[(\d+)\]`).FindAllStringSubmatch(a.Text, -1) {
		n, _ := strconv.Atoi(m[1])
		require.GreaterOrEqual(t, n, 1, a.Text)
		require.LessOrEqual(t, n, len(a.Sources), a.Text)
		cited[n] = true
	}
	for i, c := range a.Sources {
		require.Equal(t, i+1, c.Index)
		require.Equal(t, cited[c.Index], c.Cited, "source %d", c.Index)
		require.LessOrEqual(t, len([]rune(c.Snippet)), chat.SnippetChars)
	}
}

func TestCompleteExtractiveCitesTheRightSegment(t *testing.T) {
	f := searchtest.New(t)
	svc := service(f, t, nil)
	ctx := testCtx(t)

	a, err := svc.Complete(ctx, chat.Request{Query: question})
	require.NoError(t, err)
	require.Contains(t, a.Text, "[1]")
	require.NotEmpty(t, a.Sources)
	first := a.Sources[0]
	require.Equal(t, f.Segments["sourdough"], first.SegmentID)
	require.Equal(t, "raw/sourdough.html", first.StorageKey)
	require.Equal(t, "md/sourdough.md", first.MarkdownKey)
	require.Equal(t, "https://example.org/sourdough", first.URL)
	require.Equal(t, f.ExecA, first.ExecutionID)
	require.Equal(t, "Sourdough", first.Title)
	require.Equal(t, "Fermentation", first.Heading)
	require.Equal(t, searchtest.Slot384, first.Model)
	require.True(t, first.Cited)
	require.LessOrEqual(t, len(a.Sources), chat.DefaultMaxTotalResults)
	requireCitationsMap(t, a)
	require.Equal(t, llm.DefaultCompletionProfile, a.Profile)
	require.NotEmpty(t, a.Model)
	require.Equal(t, chat.StrategyMerge, a.Strategy)
	require.Equal(t, chat.ContextRAG, a.ContextMode)

	// A request may name the slot of its default source.
	a, err = svc.Complete(ctx, chat.Request{Query: question, EmbeddingModel: searchtest.Slot256})
	require.NoError(t, err)
	require.Equal(t, searchtest.Slot256, a.Sources[0].Model)
	require.Equal(t, f.Segments["sourdough"], a.Sources[0].SegmentID)

	// Without context nothing is retrieved and nothing can be cited.
	a, err = svc.Complete(ctx, chat.Request{Query: question, ContextMode: chat.ContextNone})
	require.NoError(t, err)
	require.Empty(t, a.Sources)
	require.Equal(t, llm.NoAnswer, a.Text)
}

func TestStreamEventOrder(t *testing.T) {
	f := searchtest.New(t)
	svc := service(f, t, nil)
	ctx := testCtx(t)

	var events []chat.Event
	a, err := svc.Stream(ctx, chat.Request{Query: question}, func(e chat.Event) error {
		events = append(events, e)
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(events), 3)
	require.Equal(t, chat.EventSources, events[0].Type)
	srcs := events[0].Data.(chat.SourcesData)
	require.Equal(t, f.Segments["sourdough"], srcs.Sources[0].SegmentID)
	var text strings.Builder
	for _, e := range events[1 : len(events)-1] {
		require.Equal(t, chat.EventText, e.Type)
		text.WriteString(e.Data.(chat.TextData).Content)
	}
	require.Equal(t, a.Text, text.String())
	last := events[len(events)-1]
	require.Equal(t, chat.EventDone, last.Type)
	done := last.Data.(chat.DoneData)
	require.True(t, done.Completed)
	require.Contains(t, done.Cited, 1)
	requireCitationsMap(t, a)

	// A receiver that goes away stops the stream with its error.
	gone := errors.New("client gone")
	n := 0
	_, err = svc.Stream(ctx, chat.Request{Query: question}, func(e chat.Event) error {
		n++
		if e.Type == chat.EventText {
			return gone
		}
		return nil
	})
	require.ErrorIs(t, err, gone)
	require.Equal(t, 2, n, "nothing is emitted after the failed event")
}

func TestRetrievalStrategies(t *testing.T) {
	f := searchtest.New(t)
	svc := service(f, t, nil)
	ctx := testCtx(t)
	// Both documents match; on its own the volcano one scores higher.
	const both = "Sourdough bread, volcanic eruptions?"
	srcA := chat.SourceSpec{Name: "a", Model: searchtest.Slot384, ExecutionIDs: []string{f.ExecA}}
	srcB := chat.SourceSpec{Name: "b", Model: searchtest.Slot384, ExecutionIDs: []string{f.ExecB}}

	t.Run("merge", func(t *testing.T) {
		a, err := svc.Complete(ctx, chat.Request{Query: both, RAG: chat.RAGConfig{Sources: []chat.SourceSpec{srcA, srcB}}})
		require.NoError(t, err)
		require.Equal(t, f.Segments["volcano"], a.Sources[0].SegmentID)
		require.Equal(t, "b", a.Sources[0].Source)

		heavy := srcA
		heavy.Weight = 2
		a, err = svc.Complete(ctx, chat.Request{Query: both, RAG: chat.RAGConfig{Sources: []chat.SourceSpec{heavy, srcB}}})
		require.NoError(t, err)
		require.Equal(t, f.Segments["sourdough"], a.Sources[0].SegmentID, "the weight doubles source a's scores")
		require.Equal(t, "a", a.Sources[0].Source)

		// The same segments through two slots are cited once.
		all384 := chat.SourceSpec{Name: "x", Model: searchtest.Slot384}
		all256 := chat.SourceSpec{Name: "y", Model: searchtest.Slot256}
		a, err = svc.Complete(ctx, chat.Request{Query: question,
			RAG: chat.RAGConfig{Sources: []chat.SourceSpec{all384, all256}, MaxTotalResults: 3}})
		require.NoError(t, err)
		require.LessOrEqual(t, len(a.Sources), 3)
		seen := map[string]bool{}
		for _, c := range a.Sources {
			require.False(t, seen[c.SegmentID], "segment %s cited twice", c.SegmentID)
			seen[c.SegmentID] = true
		}
		require.Equal(t, f.Segments["sourdough"], a.Sources[0].SegmentID)
		requireCitationsMap(t, a)
	})

	t.Run("sequential", func(t *testing.T) {
		heavy := srcA
		heavy.Weight = 2
		// Order of the sources, not score, decides.
		a, err := svc.Complete(ctx, chat.Request{Query: both, RAG: chat.RAGConfig{Strategy: chat.StrategySequential,
			Sources: []chat.SourceSpec{srcB, heavy}, MaxTotalResults: 2}})
		require.NoError(t, err)
		require.Equal(t, chat.StrategySequential, a.Strategy)
		require.Len(t, a.Sources, 2)
		require.Equal(t, f.Segments["volcano"], a.Sources[0].SegmentID)
		require.Equal(t, f.Segments["sourdough"], a.Sources[1].SegmentID)
		a, err = svc.Complete(ctx, chat.Request{Query: both, RAG: chat.RAGConfig{Strategy: chat.StrategySequential,
			Sources: []chat.SourceSpec{srcB, heavy}, MaxTotalResults: 1}})
		require.NoError(t, err)
		require.Len(t, a.Sources, 1, "enough results after the first source: the second is not needed")
		require.Equal(t, "b", a.Sources[0].Source)
	})

	t.Run("ensemble", func(t *testing.T) {
		a, err := svc.Complete(ctx, chat.Request{Query: question, RAG: chat.RAGConfig{Strategy: chat.StrategyEnsemble}})
		require.NoError(t, err)
		require.Equal(t, chat.StrategyEnsemble, a.Strategy)
		require.Equal(t, f.Segments["sourdough"], a.Sources[0].SegmentID)
		require.Less(t, a.Sources[0].Score, 1.0, "a fused reciprocal-rank score")
		require.True(t, a.Sources[0].Cited)
		requireCitationsMap(t, a)
	})
}

func TestPromptOfARemoteProfile(t *testing.T) {
	f := searchtest.New(t)
	fake := newFakeLLM(t, "Wild yeast ferments the flour [1].")
	svc := service(f, t, fake.registry(t))
	ctx := testCtx(t)
	history := []llm.Message{
		{Role: "user", Content: "Tell me about glaciers"},
		{Role: "assistant", Content: "Glaciers carve valleys."},
	}
	temp := float32(0.2)

	a, err := svc.Complete(ctx, chat.Request{Query: question, History: history, Profile: "remote", Temperature: &temp, MaxTokens: 99})
	require.NoError(t, err)
	require.Equal(t, "Wild yeast ferments the flour [1].", a.Text)
	require.Equal(t, "fake-model-1", a.Model)
	require.Equal(t, "remote", a.Profile)
	require.Equal(t, chat.Usage{PromptTokens: 40, CompletionTokens: 9, TotalTokens: 49}, a.Usage)
	require.True(t, a.Sources[0].Cited)
	requireCitationsMap(t, a)

	reqs := fake.requests()
	require.Len(t, reqs, 1)
	msgs := reqs[0].Messages
	require.Len(t, msgs, 4)
	require.Equal(t, "system", msgs[0].Role)
	require.Contains(t, msgs[0].Content, "[1] Sourdough — Fermentation\nSourdough bread rises because")
	require.Contains(t, msgs[0].Content, "square brackets")
	for _, c := range a.Sources {
		require.Contains(t, msgs[0].Content, "["+strconv.Itoa(c.Index)+"] "+c.Title)
	}
	require.Equal(t, wireMessage{Role: "user", Content: "Tell me about glaciers"}, msgs[1])
	require.Equal(t, wireMessage{Role: "assistant", Content: "Glaciers carve valleys."}, msgs[2])
	require.Equal(t, wireMessage{Role: "user", Content: question}, msgs[3])

	// Streaming goes through the provider's stream.
	var texts []string
	a, err = svc.Stream(ctx, chat.Request{Query: question, Profile: "remote"}, func(e chat.Event) error {
		if e.Type == chat.EventText {
			texts = append(texts, e.Data.(chat.TextData).Content)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "Wild yeast ferments the flour [1].", strings.Join(texts, ""))
	require.Greater(t, len(texts), 1)
	require.Equal(t, a.Text, strings.Join(texts, ""))
	reqs = fake.requests()
	require.True(t, reqs[len(reqs)-1].Stream)
}

func TestChatErrors(t *testing.T) {
	f := searchtest.New(t)
	ctx := testCtx(t)
	svc := service(f, t, nil)
	for _, req := range []chat.Request{
		{Query: " "},
		{Query: strings.Repeat("x", chat.MaxQueryChars+1)},
		{Query: question, ContextMode: "attachment"},
		{Query: question, RAG: chat.RAGConfig{Strategy: "vote"}},
		{Query: question, RAG: chat.RAGConfig{Sources: []chat.SourceSpec{{Limit: 51}}}},
		{Query: question, RAG: chat.RAGConfig{Sources: []chat.SourceSpec{{Weight: 2.5}}}},
		{Query: question, History: make([]llm.Message, chat.MaxHistory+1)},
	} {
		_, err := svc.Complete(ctx, req)
		require.Equal(t, chat.CodeQueryInvalid, chat.ErrorCode(err), "%v", err)
		require.Equal(t, chat.CodeQueryInvalid, chat.ErrorCode(svc.Check(ctx, req)))
	}
	require.NoError(t, svc.Check(ctx, chat.Request{Query: question}))
	err := svc.Check(ctx, chat.Request{Query: question, RAG: chat.RAGConfig{Sources: []chat.SourceSpec{{Model: "nope"}}}})
	require.Equal(t, search.CodeModelNotFound, store.Code(err), "%v", err)
	err = svc.Check(ctx, chat.Request{Query: question, Profile: "nope"})
	require.Equal(t, llm.CodeProfileNotFound, llm.Code(err), "%v", err)
	_, err = svc.Complete(ctx, chat.Request{Query: question, RAG: chat.RAGConfig{Sources: []chat.SourceSpec{{Model: "nope"}}}})
	require.Equal(t, search.CodeModelNotFound, store.Code(err), "%v", err)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = svc.Complete(ctx, chat.Request{Query: question, Profile: "nope"})
	require.Equal(t, llm.CodeProfileNotFound, llm.Code(err), "%v", err)

	bare := chat.New(search.New(f.V, f.Reg, search.Options{DefaultModel: searchtest.Slot384}), f.V, nil, nil, chat.Options{})
	_, err = bare.Complete(ctx, chat.Request{Query: question})
	require.Equal(t, chat.CodeNotConfigured, chat.ErrorCode(err))
	require.Equal(t, chat.CodeNotConfigured, chat.ErrorCode(bare.Check(ctx, chat.Request{Query: question})))
	var ce *chat.Error
	require.True(t, errors.As(err, &ce))
	require.Equal(t, 503, ce.Status)
	_, err = bare.SendMessage(ctx, "x", chat.Request{Query: question}, nil)
	require.Equal(t, chat.CodeNotConfigured, chat.ErrorCode(err))
}
