package llm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testPassages = []Passage{
	{Index: 1, Title: "Brokers", Text: "Factflow supports NATS, RabbitMQ, Pulsar and STOMP brokers. The broker is chosen by the URL scheme."},
	{Index: 2, Title: "Dead letters", Text: "# Dead letters\nMessages that fail every retry become dead letters. Dead letters are stored in PostgreSQL and can be requeued from the UI."},
	{Index: 3, Title: "Misc", Text: "The logo is blue. Nothing else here."},
}

func TestExtractiveCitesPassages(t *testing.T) {
	x := Extractive()
	req := ChatRequest{
		Messages: []Message{{Role: "user", Content: "What is a broker?"}, {Role: "assistant", Content: "..."}, {Role: "user", Content: "Where are dead letters stored?"}},
		Passages: testPassages,
	}
	resp, err := x.Complete(context.Background(), req)
	require.NoError(t, err)
	assert.Contains(t, resp.Content, "Dead letters are stored in PostgreSQL and can be requeued from the UI. [2]")
	assert.NotContains(t, resp.Content, "[1]", "the last user message is the question")
	assert.NotContains(t, resp.Content, "Dead letters [2]", "a heading is not an answer")
	assert.NotContains(t, resp.Content, "[3]")
	assert.LessOrEqual(t, len(resp.Content), extractiveMaxChars+50)
	assert.Equal(t, "extractive", x.Profile())
	assert.Equal(t, "stop", resp.FinishReason)
}

func TestExtractiveSourceOrderAndLimits(t *testing.T) {
	var passages []Passage
	for i := 1; i <= 8; i++ {
		passages = append(passages, Passage{Index: i, Text: strings.Repeat("Pipelines route messages between adapters. ", 3)})
	}
	resp, err := Extractive().Complete(context.Background(), ChatRequest{
		Messages: []Message{{Role: "user", Content: "how do pipelines route messages"}},
		Passages: passages,
	})
	require.NoError(t, err)
	assert.Equal(t, extractiveMaxSentences, strings.Count(resp.Content, "["))
	// Ties go to the earliest passage; sentences read in source order.
	assert.Equal(t, 3, strings.Count(resp.Content, "[1]"), resp.Content)
	assert.Equal(t, 1, strings.Count(resp.Content, "[2]"), resp.Content)
	assert.True(t, strings.HasSuffix(resp.Content, "[2]"), resp.Content)

	long := strings.Repeat("adapters ", 400)
	resp, err = Extractive().Complete(context.Background(), ChatRequest{
		Messages: []Message{{Role: "user", Content: "adapters"}},
		Passages: []Passage{{Index: 4, Text: long}},
	})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(resp.Content), extractiveMaxChars+len(" [4]"))
	assert.True(t, strings.HasSuffix(resp.Content, "… [4]"), resp.Content)
}

func TestExtractiveNoAnswer(t *testing.T) {
	x := Extractive()
	for _, req := range []ChatRequest{
		{Messages: []Message{{Role: "user", Content: "What is the airspeed of a swallow?"}}, Passages: testPassages},
		{Messages: []Message{{Role: "user", Content: "Where are dead letters stored?"}}},
		{Messages: []Message{{Role: "user", Content: "what is it?"}}, Passages: testPassages},
	} {
		resp, err := x.Complete(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, NoAnswer, resp.Content)
		assert.NotContains(t, resp.Content, "[")
	}
}

func TestExtractiveStream(t *testing.T) {
	x := Extractive()
	req := ChatRequest{Messages: []Message{{Role: "user", Content: "which brokers are supported?"}}, Passages: testPassages}
	want, err := x.Complete(context.Background(), req)
	require.NoError(t, err)
	var deltas []string
	got, err := x.Stream(context.Background(), req, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, len(deltas), 2)
	assert.Equal(t, want.Content, strings.Join(deltas, ""))
	assert.Equal(t, want.Content, got.Content)
	assert.Contains(t, got.Content, "[1]")

	stop := errors.New("stop")
	_, err = x.Stream(context.Background(), req, func(string) error { return stop })
	assert.ErrorIs(t, err, stop)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = x.Stream(ctx, req, func(string) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
	_, err = x.Complete(ctx, req)
	assert.Equal(t, CodeCanceled, Code(err))
}

func TestWordChunks(t *testing.T) {
	s := "one two  three four\nfive"
	chunks := wordChunks(s, 2)
	assert.Equal(t, s, strings.Join(chunks, ""))
	assert.Equal(t, []string{"one two  ", "three four\n", "five"}, chunks)
	assert.Empty(t, wordChunks("", 3))
}
