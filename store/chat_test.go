package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestChatThreadsCRUD(t *testing.T) {
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	threads := db.ChatThreads()

	th, err := threads.Create(ctx, "", map[string]any{"strategy": "merge"}, map[string]any{"owner": "ada"})
	require.NoError(t, err)
	require.NotEmpty(t, th.ID)
	require.Equal(t, "", th.Title)
	require.Equal(t, "merge", th.Settings["strategy"])
	require.Equal(t, "ada", th.Metadata["owner"])
	require.Zero(t, th.MessageCount)

	got, err := threads.Get(ctx, th.ID)
	require.NoError(t, err)
	require.Equal(t, th.ID, got.ID)

	set, err := threads.SetTitleIfEmpty(ctx, th.ID, "first question")
	require.NoError(t, err)
	require.True(t, set)
	set, err = threads.SetTitleIfEmpty(ctx, th.ID, "second question")
	require.NoError(t, err)
	require.False(t, set, "a title once set is kept")

	// Only the given fields change.
	title := "renamed"
	up, err := threads.Update(ctx, th.ID, store.ChatThreadUpdate{Title: &title})
	require.NoError(t, err)
	require.Equal(t, "renamed", up.Title)
	require.Equal(t, "merge", up.Settings["strategy"])
	require.Equal(t, "ada", up.Metadata["owner"])
	up, err = threads.Update(ctx, th.ID, store.ChatThreadUpdate{Settings: map[string]any{"strategy": "ensemble"}})
	require.NoError(t, err)
	require.Equal(t, "renamed", up.Title)
	require.Equal(t, "ensemble", up.Settings["strategy"])
	require.Equal(t, "ada", up.Metadata["owner"])

	// Messages, in order, with sources.
	src := json.RawMessage(`[{"index":1,"segment_id":"s"}]`)
	_, err = threads.AppendMessage(ctx, th.ID, store.ChatRoleUser, "q1", nil, nil)
	require.NoError(t, err)
	a, err := threads.AppendMessage(ctx, th.ID, store.ChatRoleAssistant, "a1 [1]", src, map[string]any{"model": "m"})
	require.NoError(t, err)
	require.JSONEq(t, string(src), string(a.Sources))
	for i := 2; i <= 4; i++ {
		_, err = threads.AppendMessage(ctx, th.ID, store.ChatRoleUser, fmt.Sprintf("q%d", i), nil, nil)
		require.NoError(t, err)
	}
	_, err = threads.AppendMessage(ctx, th.ID, "robot", "x", nil, nil)
	require.ErrorIs(t, err, store.ErrInvalidArgument)

	page, err := threads.Messages(ctx, th.ID, 2, 0)
	require.NoError(t, err)
	require.Equal(t, 5, page.Total)
	require.True(t, page.HasMore())
	require.Equal(t, []string{"q1", "a1 [1]"}, []string{page.Items[0].Content, page.Items[1].Content})
	require.JSONEq(t, "[]", string(page.Items[0].Sources))
	require.JSONEq(t, string(src), string(page.Items[1].Sources))
	require.Equal(t, "m", page.Items[1].Metadata["model"])
	page, err = threads.Messages(ctx, th.ID, 10, 10)
	require.NoError(t, err)
	require.Equal(t, 5, page.Total)
	require.Empty(t, page.Items)

	recent, err := threads.Recent(ctx, th.ID, 2)
	require.NoError(t, err)
	require.Len(t, recent, 2)
	require.Equal(t, "q3", recent[0].Content)
	require.Equal(t, "q4", recent[1].Content)

	got, err = threads.Get(ctx, th.ID)
	require.NoError(t, err)
	require.EqualValues(t, 5, got.MessageCount)

	// The most recently active thread lists first.
	other, err := threads.Create(ctx, "other", nil, nil)
	require.NoError(t, err)
	require.Empty(t, other.Settings)
	list, err := threads.List(ctx, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 2, list.Total)
	require.Equal(t, other.ID, list.Items[0].ID)
	_, err = threads.AppendMessage(ctx, th.ID, store.ChatRoleUser, "q5", nil, nil)
	require.NoError(t, err)
	list, err = threads.List(ctx, 1, 0)
	require.NoError(t, err)
	require.Equal(t, 2, list.Total)
	require.Equal(t, th.ID, list.Items[0].ID)

	require.NoError(t, threads.Delete(ctx, th.ID))
	_, err = threads.Get(ctx, th.ID)
	requireThreadNotFound(t, err)
	_, err = threads.Messages(ctx, th.ID, 10, 0)
	requireThreadNotFound(t, err)
	list, err = threads.List(ctx, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 1, list.Total)
}

func TestChatThreadsUnknown(t *testing.T) {
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	threads := db.ChatThreads()
	for _, id := range []string{"not-a-uuid", "0190b3c2-0000-7000-8000-000000000000"} {
		_, err := threads.Get(ctx, id)
		requireThreadNotFound(t, err)
		_, err = threads.Update(ctx, id, store.ChatThreadUpdate{})
		requireThreadNotFound(t, err)
		requireThreadNotFound(t, threads.Delete(ctx, id))
		_, err = threads.AppendMessage(ctx, id, store.ChatRoleUser, "q", nil, nil)
		requireThreadNotFound(t, err)
		_, err = threads.Messages(ctx, id, 0, 0)
		requireThreadNotFound(t, err)
		_, err = threads.Recent(ctx, id, 5)
		if err != nil {
			requireThreadNotFound(t, err)
		}
		_, err = threads.SetTitleIfEmpty(ctx, id, "x")
		if err != nil {
			requireThreadNotFound(t, err)
		}
	}
}

func requireThreadNotFound(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, store.ErrNotFound), "error %v", err)
	require.Equal(t, store.CodeChatThreadNotFound, store.Code(err))
}
