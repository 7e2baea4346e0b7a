package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func newWebhookSub(t *testing.T, r *store.Webhooks, f store.WebhookFilters, types ...string) *store.WebhookSubscription {
	t.Helper()
	if len(types) == 0 {
		types = []string{"execution.completed"}
	}
	s := &store.WebhookSubscription{URL: "https://example.com/hook", EventTypes: types, Filters: f,
		SecretCiphertext: []byte{1, 2, 3}, Active: true}
	require.NoError(t, r.Create(testCtx(t), s))
	return s
}

func TestWebhookSubscriptionCRUD(t *testing.T) {
	db := storetest.NewDB(t)
	r := store.NewWebhooks(db)
	ctx := testCtx(t)
	s := newWebhookSub(t, r, store.WebhookFilters{ConfigID: "c1"}, "execution.started", "execution.failed")
	got, err := r.Get(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, s.EventTypes, got.EventTypes)
	require.Equal(t, "c1", got.Filters.ConfigID)
	require.Equal(t, []byte{1, 2, 3}, got.SecretCiphertext)

	got.Active = false
	got.Description = "d"
	require.NoError(t, r.Update(ctx, got))
	again, err := r.Get(ctx, s.ID)
	require.NoError(t, err)
	require.False(t, again.Active)
	require.Equal(t, "d", again.Description)

	newWebhookSub(t, r, store.WebhookFilters{})
	page, err := r.List(ctx, 1, 0)
	require.NoError(t, err)
	require.Equal(t, 2, page.Total)
	require.Len(t, page.Items, 1)
	require.True(t, page.HasMore())

	require.NoError(t, r.Delete(ctx, s.ID))
	_, err = r.Get(ctx, s.ID)
	require.Equal(t, store.CodeWebhookNotFound, store.Code(err))
	require.Equal(t, store.CodeWebhookNotFound, store.Code(r.Delete(ctx, s.ID)))
	_, err = r.GetDelivery(ctx, s.ID)
	require.Equal(t, store.CodeWebhookDeliveryNotFound, store.Code(err))

	bad := &store.WebhookSubscription{URL: "https://x", SecretCiphertext: []byte{1}}
	require.ErrorIs(t, r.Create(ctx, bad), store.ErrInvalidArgument)
}

func TestWebhookMatchingFilters(t *testing.T) {
	db := storetest.NewDB(t)
	r := store.NewWebhooks(db)
	ctx := testCtx(t)
	all := newWebhookSub(t, r, store.WebhookFilters{})
	both := newWebhookSub(t, r, store.WebhookFilters{ConfigID: "c1", RouteID: "r1"})
	other := newWebhookSub(t, r, store.WebhookFilters{}, "execution.failed")
	_ = other
	ids := func(attrs store.WebhookFilters) []string {
		subs, err := r.Matching(ctx, "execution.completed", attrs)
		require.NoError(t, err)
		var out []string
		for _, s := range subs {
			out = append(out, s.ID)
		}
		return out
	}
	require.ElementsMatch(t, []string{all.ID, both.ID}, ids(store.WebhookFilters{ConfigID: "c1", RouteID: "r1", AdapterName: "a"}))
	require.ElementsMatch(t, []string{all.ID}, ids(store.WebhookFilters{ConfigID: "c1", RouteID: "r2"}))
	require.ElementsMatch(t, []string{all.ID}, ids(store.WebhookFilters{}))
}

func TestWebhookClaimDueOrderAndLease(t *testing.T) {
	db := storetest.NewDB(t)
	r := store.NewWebhooks(db)
	ctx := testCtx(t)
	a := newWebhookSub(t, r, store.WebhookFilters{})
	b := newWebhookSub(t, r, store.WebhookFilters{})
	first, err := r.Enqueue(ctx, "execution.completed", "e1", []byte(`{"n":1}`), []string{a.ID, b.ID})
	require.NoError(t, err)
	require.Len(t, first, 2)
	second, err := r.Enqueue(ctx, "execution.completed", "e2", []byte(`{"n":2}`), []string{a.ID})
	require.NoError(t, err)

	now := time.Now().Add(time.Second)
	claimed, err := r.ClaimDue(ctx, now, 10, now.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, claimed, 2, "one head per subscription")
	for _, c := range claimed {
		require.Equal(t, "e1", c.EventID)
		require.Equal(t, "https://example.com/hook", c.URL)
	}
	// Leased: nothing more until the outcome is recorded.
	again, err := r.ClaimDue(ctx, now, 10, now.Add(time.Minute))
	require.NoError(t, err)
	require.Empty(t, again)
	// Nor can a leased delivery be redelivered (two sends at once).
	_, err = r.Redeliver(ctx, claimed[0].ID)
	require.Equal(t, store.CodeWebhookDeliveryInFlight, store.Code(err))
	require.ErrorIs(t, err, store.ErrConflict)
	// A released lease makes it claimable again, no attempt counted.
	require.NoError(t, r.Release(ctx, claimed[0].ID))
	again, err = r.ClaimDue(ctx, now, 10, now.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, claimed[0].ID, again[0].ID)
	require.Zero(t, again[0].Attempts)
	// A lease that ran out (its holder died) is claimable by another.
	later := now.Add(2 * time.Minute)
	again, err = r.ClaimDue(ctx, later, 10, later.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, again, 2)

	var aHead string
	for _, c := range claimed {
		if c.SubscriptionID == a.ID {
			aHead = c.ID
		}
	}
	// A retry keeps the head: the later delivery of a waits.
	require.NoError(t, r.MarkRetry(ctx, aHead, now.Add(time.Hour), 500, "HTTP 500"))
	again, err = r.ClaimDue(ctx, now, 10, now.Add(time.Minute))
	require.NoError(t, err)
	require.Empty(t, again)

	require.NoError(t, r.MarkDead(ctx, aHead, 500, "HTTP 500"))
	again, err = r.ClaimDue(ctx, now, 10, now.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, second[0].ID, again[0].ID)
	require.NoError(t, r.MarkSucceeded(ctx, again[0].ID, 200, time.Now()))

	d, err := r.GetDelivery(ctx, aHead)
	require.NoError(t, err)
	require.Equal(t, store.WebhookDeliveryDead, d.Status)
	require.Equal(t, 2, d.Attempts)
	require.Equal(t, 500, d.LastStatus)

	re, err := r.Redeliver(ctx, aHead)
	require.NoError(t, err)
	require.Equal(t, aHead, re.ID)
	require.Equal(t, store.WebhookDeliveryPending, re.Status)
	again, err = r.ClaimDue(ctx, time.Now().Add(time.Second), 10, now.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, aHead, again[0].ID)

	page, err := r.Deliveries(ctx, a.ID, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 2, page.Total)
	require.Equal(t, second[0].ID, page.Items[0].ID, "newest first")
	_, err = r.Redeliver(ctx, "0190b0a0-0000-7000-8000-000000000000")
	require.Equal(t, store.CodeWebhookDeliveryNotFound, store.Code(err))
}

func TestWebhookClaimDueConcurrentClaimersNeverShare(t *testing.T) {
	db := storetest.NewDB(t)
	r := store.NewWebhooks(db)
	ctx := testCtx(t)
	var subs []string
	for range 20 {
		subs = append(subs, newWebhookSub(t, r, store.WebhookFilters{}).ID)
	}
	_, err := r.Enqueue(ctx, "execution.completed", "e1", []byte(`{}`), subs)
	require.NoError(t, err)
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				now := time.Now().Add(time.Second)
				cs, err := r.ClaimDue(ctx, now, 3, now.Add(time.Minute))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, 20)
	for id, n := range seen {
		require.Equal(t, 1, n, "delivery %s claimed %d times", id, n)
	}
}
