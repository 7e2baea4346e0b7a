package chat_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/search/searchtest"
	"github.com/factflow/factflow/store"
)

func TestSendMessagePersistsTheTurnAndFollowsUp(t *testing.T) {
	f := searchtest.New(t)
	fake := newFakeLLM(t, "Wild yeast ferments the flour [1].")
	svc := service(f, t, fake.registry(t))
	ctx := testCtx(t)
	threads := f.DB.ChatThreads()

	th, err := threads.Create(ctx, "", map[string]any{"profile": "remote",
		"rag_config": map[string]any{"sources": []any{map[string]any{"name": "main", "model_name": searchtest.Slot384}}}}, nil)
	require.NoError(t, err)

	var events []chat.Event
	a, err := svc.SendMessage(ctx, th.ID, chat.Request{Query: question}, func(e chat.Event) error {
		events = append(events, e)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "remote", a.Profile, "the thread's settings apply")
	require.Equal(t, "main", a.Sources[0].Source)
	require.Equal(t, th.ID, a.ThreadID)
	require.NotEmpty(t, a.MessageID)
	require.NotEmpty(t, a.UserMessageID)
	require.Equal(t, chat.EventSources, events[0].Type)
	done := events[len(events)-1]
	require.Equal(t, chat.EventDone, done.Type)
	require.Equal(t, a.MessageID, done.Data.(chat.DoneData).MessageID)

	got, err := threads.Get(ctx, th.ID)
	require.NoError(t, err)
	require.Equal(t, question, got.Title, "the first question names the thread")

	page, err := threads.Messages(ctx, th.ID, 0, 0)
	require.NoError(t, err)
	require.Len(t, page.Items, 2)
	require.Equal(t, store.ChatRoleUser, page.Items[0].Role)
	require.Equal(t, question, page.Items[0].Content)
	require.Equal(t, a.UserMessageID, page.Items[0].ID)
	asst := page.Items[1]
	require.Equal(t, store.ChatRoleAssistant, asst.Role)
	require.Equal(t, a.Text, asst.Content)
	require.Equal(t, a.MessageID, asst.ID)
	var stored []chat.Citation
	require.NoError(t, json.Unmarshal(asst.Sources, &stored))
	require.Equal(t, a.Sources, stored)
	require.Equal(t, f.Segments["sourdough"], stored[0].SegmentID)
	require.Equal(t, "fake-model-1", asst.Metadata["model"])
	require.Equal(t, "remote", asst.Metadata["profile"])

	// A follow-up sharing no word with the passages retrieves with the
	// question before it, and the model sees the thread's history.
	a2, err := svc.SendMessage(ctx, th.ID, chat.Request{Query: "Tell me more please"}, nil)
	require.NoError(t, err)
	require.True(t, a2.FollowUp)
	require.NotEmpty(t, a2.Sources)
	require.Equal(t, f.Segments["sourdough"], a2.Sources[0].SegmentID)
	reqs := fake.requests()
	require.Len(t, reqs, 2)
	msgs := reqs[1].Messages
	require.Len(t, msgs, 4)
	require.Contains(t, msgs[0].Content, "Sourdough bread rises")
	require.Equal(t, wireMessage{Role: "user", Content: question}, msgs[1])
	require.Equal(t, wireMessage{Role: "assistant", Content: a.Text}, msgs[2])
	require.Equal(t, wireMessage{Role: "user", Content: "Tell me more please"}, msgs[3])

	got, err = threads.Get(ctx, th.ID)
	require.NoError(t, err)
	require.EqualValues(t, 4, got.MessageCount)
	require.Equal(t, question, got.Title, "later questions keep the title")

	// A request field overrides the thread's settings.
	a3, err := svc.SendMessage(ctx, th.ID, chat.Request{Query: question, Profile: llm.DefaultCompletionProfile}, nil)
	require.NoError(t, err)
	require.Equal(t, llm.DefaultCompletionProfile, a3.Profile)
	require.Contains(t, a3.Text, "[1]")
	require.Len(t, fake.requests(), 2)
}

func TestSendMessageFailureStoresNoAnswer(t *testing.T) {
	f := searchtest.New(t)
	fake := newFakeLLM(t, "unused")
	fake.setFail(true)
	svc := service(f, t, fake.registry(t))
	ctx := testCtx(t)
	threads := f.DB.ChatThreads()
	th, err := threads.Create(ctx, "kept title", map[string]any{"profile": "remote"}, nil)
	require.NoError(t, err)

	_, err = svc.SendMessage(ctx, th.ID, chat.Request{Query: question}, nil)
	require.Equal(t, chat.CodeGenerationFailed, chat.ErrorCode(err), "%v", err)
	var ce *chat.Error
	require.True(t, errors.As(err, &ce))
	require.Equal(t, llm.Terminal, ce.Class)
	require.Equal(t, llm.CodeRequestRejected, llm.Code(err), "the provider's code stays reachable")

	var events []chat.Event
	_, err = svc.SendMessage(ctx, th.ID, chat.Request{Query: "second try"}, func(e chat.Event) error {
		events = append(events, e)
		return nil
	})
	require.Equal(t, chat.CodeGenerationFailed, chat.ErrorCode(err))
	require.Len(t, events, 2)
	require.Equal(t, chat.EventSources, events[0].Type)
	require.Equal(t, chat.EventError, events[1].Type)
	require.Equal(t, chat.CodeGenerationFailed, events[1].Data.(chat.ErrorData).Code)
	require.False(t, strings.Contains(events[1].Data.(chat.ErrorData).Message, "sk-"), "no secret in the event")

	page, err := threads.Messages(ctx, th.ID, 0, 0)
	require.NoError(t, err)
	require.Len(t, page.Items, 2, "only the questions are stored")
	for _, m := range page.Items {
		require.Equal(t, store.ChatRoleUser, m.Role)
	}
	got, err := threads.Get(ctx, th.ID)
	require.NoError(t, err)
	require.Equal(t, "kept title", got.Title)

	// Invalid requests and unknown threads store nothing.
	_, err = svc.SendMessage(ctx, th.ID, chat.Request{Query: ""}, nil)
	require.Equal(t, chat.CodeQueryInvalid, chat.ErrorCode(err))
	_, err = svc.SendMessage(ctx, "0190b3c2-0000-7000-8000-000000000000", chat.Request{Query: question}, nil)
	require.Equal(t, chat.CodeThreadNotFound, chat.ErrorCode(err))
	require.ErrorIs(t, err, store.ErrNotFound)
	page, err = threads.Messages(ctx, th.ID, 0, 0)
	require.NoError(t, err)
	require.Len(t, page.Items, 2)

	// Malformed stored settings are reported, not ignored.
	bad, err := threads.Create(ctx, "", map[string]any{"rag_config": map[string]any{"retrieval_strategy": "vote"}}, nil)
	require.NoError(t, err)
	_, err = svc.SendMessage(ctx, bad.ID, chat.Request{Query: question}, nil)
	require.Equal(t, chat.CodeQueryInvalid, chat.ErrorCode(err))
	require.Equal(t, chat.CodeQueryInvalid, chat.ErrorCode(svc.CheckMessage(ctx, bad.ID, chat.Request{Query: question})))
	require.NoError(t, svc.CheckMessage(ctx, th.ID, chat.Request{Query: question}))
	require.Equal(t, chat.CodeThreadNotFound, chat.ErrorCode(svc.CheckMessage(ctx, "nope", chat.Request{Query: question})))
	_, err = chat.ParseSettings(map[string]any{"unknown_field": 1})
	require.Equal(t, chat.CodeQueryInvalid, chat.ErrorCode(err))
}
