package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
	"github.com/factflow/factflow/webhooks"
)

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts := "1800000000"
	body := []byte(`{"id":"e1"}`)
	sig := webhooks.Sign("s3cret", ts, body)
	require.True(t, strings.HasPrefix(sig, "sha256="))
	require.NoError(t, webhooks.Verify("s3cret", ts, body, sig, time.Minute, now))
	require.NoError(t, webhooks.Verify("s3cret", ts, body, sig, time.Minute, now.Add(59*time.Second)))

	for name, err := range map[string]error{
		"tampered body":   webhooks.Verify("s3cret", ts, []byte(`{"id":"e2"}`), sig, time.Minute, now),
		"wrong secret":    webhooks.Verify("other", ts, body, sig, time.Minute, now),
		"moved timestamp": webhooks.Verify("s3cret", "1800000001", body, sig, time.Minute, now),
		"replayed late":   webhooks.Verify("s3cret", ts, body, sig, time.Minute, now.Add(2*time.Minute)),
		"from the future": webhooks.Verify("s3cret", ts, body, sig, time.Minute, now.Add(-2*time.Minute)),
		"no prefix":       webhooks.Verify("s3cret", ts, body, strings.TrimPrefix(sig, "sha256="), time.Minute, now),
		"not hex":         webhooks.Verify("s3cret", ts, body, "sha256=zz", time.Minute, now),
		"bad timestamp":   webhooks.Verify("s3cret", "yesterday", body, sig, time.Minute, now),
	} {
		require.ErrorIs(t, err, webhooks.ErrSignature, name)
		require.Equal(t, webhooks.CodeSignatureInvalid, store.Code(err), name)
		require.NotContains(t, err.Error(), "s3cret", name)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "webhooks.key")
	k1, err := webhooks.LoadOrCreateKey(path)
	require.NoError(t, err)
	require.Len(t, k1, webhooks.KeySize)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	k2, err := webhooks.LoadOrCreateKey(path)
	require.NoError(t, err)
	require.Equal(t, k1, k2)

	bad := filepath.Join(t.TempDir(), "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("short"), 0o600))
	_, err = webhooks.LoadOrCreateKey(bad)
	require.Equal(t, webhooks.CodeKeyInvalid, store.Code(err))

	_, err = webhooks.New(storetest.NewDB(t), webhooks.Options{Key: []byte("short")})
	require.Equal(t, webhooks.CodeKeyInvalid, store.Code(err))
}

// ParseKey takes the 64 hex characters of FACTFLOW_SECRET_KEY and never
// quotes a rejected value; ReadKey reads what LoadOrCreateKey wrote and
// tells a missing file apart.
func TestParseKeyAndReadKey(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("ab", webhooks.KeySize)
	k, err := webhooks.ParseKey(good + "\n")
	require.NoError(t, err)
	require.Len(t, k, webhooks.KeySize)
	for name, bad := range map[string]string{
		"short":   strings.Repeat("ab", webhooks.KeySize-1),
		"long":    good + "ab",
		"not hex": strings.Repeat("zq", webhooks.KeySize),
		"raw":     strings.Repeat("k", webhooks.KeySize),
	} {
		_, err := webhooks.ParseKey(bad)
		require.Equal(t, webhooks.CodeKeyInvalid, store.Code(err), name)
		require.NotContains(t, err.Error(), bad, name)
	}

	path := filepath.Join(t.TempDir(), "webhooks.key")
	_, err = webhooks.ReadKey(path)
	require.ErrorIs(t, err, fs.ErrNotExist)
	created, err := webhooks.LoadOrCreateKey(path)
	require.NoError(t, err)
	read, err := webhooks.ReadKey(path)
	require.NoError(t, err)
	require.Equal(t, created, read)
}

func TestDeliverySignedAndVerifiable(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	rcv := newReceiver(t, nil)
	sub := create(t, s, rcv.srv.URL+"/hook")
	require.Len(t, sub.Secret, 64)
	run(t, s)
	publish(t, s, "e1")
	require.Eventually(t, func() bool { return rcv.count() == 1 }, waitLong, 10*time.Millisecond)
	h := rcv.all()[0]
	d := waitStatus(t, s, h.Delivery, store.WebhookDeliverySucceeded)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, 200, d.LastStatus)
	require.NotNil(t, d.DeliveredAt)
	require.Equal(t, webhooks.EventExecutionCompleted, h.EventType)
	require.Equal(t, "application/json", h.ContentType)
	require.Equal(t, webhooks.DefaultUserAgent, h.UserAgent)
	require.Equal(t, "e1", h.EventID)
	var env map[string]any
	require.NoError(t, json.Unmarshal(h.Body, &env))
	require.Equal(t, "execution.completed", env["type"])
	require.Equal(t, map[string]any{"n": "e1"}, env["data"])
	require.NotEmpty(t, env["time"])

	require.NoError(t, webhooks.Verify(sub.Secret, h.Timestamp, h.Body, h.Signature, time.Minute, time.Now()))
	tampered := bytes.Replace(h.Body, []byte("e1"), []byte("e2"), 1)
	require.ErrorIs(t, webhooks.Verify(sub.Secret, h.Timestamp, tampered, h.Signature, time.Minute, time.Now()),
		webhooks.ErrSignature)

	// A rotated secret signs the next deliveries; the old one no longer
	// verifies them.
	rot, err := s.RotateSecret(testCtx(t), sub.ID, "")
	require.NoError(t, err)
	require.NotEqual(t, sub.Secret, rot.Secret)
	publish(t, s, "e2")
	require.Eventually(t, func() bool { return rcv.count() == 2 }, waitLong, 10*time.Millisecond)
	h2 := rcv.all()[1]
	require.NoError(t, webhooks.Verify(rot.Secret, h2.Timestamp, h2.Body, h2.Signature, time.Minute, time.Now()))
	require.Error(t, webhooks.Verify(sub.Secret, h2.Timestamp, h2.Body, h2.Signature, time.Minute, time.Now()))
}

func TestRetriesThenSuccess(t *testing.T) {
	hijackClose := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	cases := map[string]func(w http.ResponseWriter){
		"500": func(w http.ResponseWriter) { w.WriteHeader(500) },
		"503": func(w http.ResponseWriter) { w.WriteHeader(503) },
		"408": func(w http.ResponseWriter) { w.WriteHeader(408) },
		"429": func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		},
		"connection dropped": hijackClose,
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			db := storetest.NewDB(t)
			s := newService(t, db, testOptions())
			rcv := newReceiver(t, func(w http.ResponseWriter, h hit, attempt int) {
				if attempt <= 2 {
					fail(w)
					return
				}
				w.WriteHeader(204)
			})
			sub := create(t, s, rcv.srv.URL)
			run(t, s)
			publish(t, s, "e1")
			require.Eventually(t, func() bool { return rcv.count() >= 1 }, waitLong, 10*time.Millisecond)
			d := waitStatus(t, s, rcv.all()[0].Delivery, store.WebhookDeliverySucceeded)
			require.Equal(t, 3, d.Attempts)
			require.Equal(t, 204, d.LastStatus)
			hits := rcv.all()
			require.Len(t, hits, 3)
			for _, h := range hits {
				require.Equal(t, d.ID, h.Delivery, "every attempt carries the same delivery id")
			}
			require.Equal(t, d.ID, onlyDelivery(t, s, sub.ID).ID)
			if name == "429" {
				// Retry-After (1s) is a floor over the 50ms schedule.
				require.GreaterOrEqual(t, hits[1].At.Sub(hits[0].At), 900*time.Millisecond)
			}
		})
	}
}

func TestRetriesWhileReceiverIsDown(t *testing.T) {
	db := storetest.NewDB(t)
	opts := testOptions()
	// Enough retries to outlast the time the receiver takes to come up.
	opts.Schedule = make([]time.Duration, 50)
	for i := range opts.Schedule {
		opts.Schedule[i] = 200 * time.Millisecond
	}
	s := newService(t, db, opts)
	// The receiver's address is held from the start (no other process can
	// take it meanwhile); while it is down every connection is dropped
	// unanswered.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := &downListener{Listener: ln}
	down.down.Store(true)
	rcv := &receiver{}
	srv := &http.Server{Handler: http.HandlerFunc(rcv.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(down) }()
	t.Cleanup(func() { _ = srv.Close() })
	sub := create(t, s, "http://"+ln.Addr().String()+"/hook")
	run(t, s)
	publish(t, s, "e1")
	var d store.WebhookDelivery
	require.Eventually(t, func() bool {
		d = onlyDelivery(t, s, sub.ID)
		return d.Attempts >= 1
	}, waitLong, 10*time.Millisecond)
	require.Equal(t, store.WebhookDeliveryPending, d.Status)
	require.Contains(t, d.LastError, "request failed")
	require.Zero(t, d.LastStatus)

	// The receiver comes up: a later retry reaches it.
	down.down.Store(false)
	got := waitStatus(t, s, d.ID, store.WebhookDeliverySucceeded)
	require.GreaterOrEqual(t, got.Attempts, 2)
	require.Equal(t, d.ID, rcv.all()[0].Delivery)
}

// downListener drops every connection while down is set: a receiver
// whose endpoint is unreachable.
type downListener struct {
	net.Listener
	down atomic.Bool
}

func (l *downListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.down.Load() {
			return c, err
		}
		_ = c.Close()
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, code := range []int{400, 401, 404, 410, 422} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			db := storetest.NewDB(t)
			s := newService(t, db, testOptions())
			rcv := newReceiver(t, func(w http.ResponseWriter, h hit, attempt int) {
				w.WriteHeader(code)
				_, _ = w.Write([]byte("nope"))
			})
			sub := create(t, s, rcv.srv.URL)
			run(t, s)
			publish(t, s, "e1")
			require.Eventually(t, func() bool { return onlyDelivery(t, s, sub.ID).Status == store.WebhookDeliveryDead },
				waitLong, 10*time.Millisecond)
			d := onlyDelivery(t, s, sub.ID)
			require.Equal(t, 1, d.Attempts)
			require.Equal(t, code, d.LastStatus)
			require.Contains(t, d.LastError, "nope")
			require.Equal(t, 1, rcv.count())
		})
	}
}

func TestDeadAfterSchedule(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	rcv := newReceiver(t, func(w http.ResponseWriter, h hit, attempt int) { w.WriteHeader(502) })
	sub := create(t, s, rcv.srv.URL)
	run(t, s)
	publish(t, s, "e1")
	require.Eventually(t, func() bool { return onlyDelivery(t, s, sub.ID).Status == store.WebhookDeliveryDead },
		waitLong, 10*time.Millisecond)
	d := onlyDelivery(t, s, sub.ID)
	require.Equal(t, 3, d.Attempts, "the first attempt plus one per schedule step")
	require.Equal(t, 502, d.LastStatus)
	require.Equal(t, 3, rcv.count())

	// A redelivery sends it again under the same id.
	rcv.respond = nil
	_, err := s.Redeliver(testCtx(t), d.ID)
	require.NoError(t, err)
	waitStatus(t, s, d.ID, store.WebhookDeliverySucceeded)
	hits := rcv.all()
	require.Len(t, hits, 4)
	require.Equal(t, d.ID, hits[3].Delivery)
}

func TestOrderWithinSubscription(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	var firstEvent sync.Once
	var firstDelivery string
	var mu sync.Mutex
	rcv := newReceiver(t, func(w http.ResponseWriter, h hit, attempt int) {
		firstEvent.Do(func() {
			mu.Lock()
			firstDelivery = h.Delivery
			mu.Unlock()
		})
		mu.Lock()
		fail := h.Delivery == firstDelivery && attempt <= 2
		mu.Unlock()
		if fail {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(200)
	})
	sub := create(t, s, rcv.srv.URL)
	publish(t, s, "e1")
	publish(t, s, "e2")
	publish(t, s, "e3")
	run(t, s)
	require.Eventually(t, func() bool {
		for _, d := range deliveries(t, s, sub.ID) {
			if d.Status != store.WebhookDeliverySucceeded {
				return false
			}
		}
		return true
	}, waitLong, 10*time.Millisecond)
	var order []string
	for _, h := range rcv.all() {
		order = append(order, h.EventID)
	}
	require.Equal(t, []string{"e1", "e1", "e1", "e2", "e3"}, order)
}

func TestSubscriptionsProgressIndependently(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	release := make(chan struct{})
	slow := newReceiver(t, func(w http.ResponseWriter, h hit, attempt int) {
		<-release
		w.WriteHeader(200)
	})
	fast := newReceiver(t, nil)
	slowSub := create(t, s, slow.srv.URL)
	create(t, s, fast.srv.URL)
	run(t, s)
	for _, id := range []string{"e1", "e2", "e3"} {
		publish(t, s, id)
	}
	require.Eventually(t, func() bool { return fast.count() == 3 }, waitLong, 10*time.Millisecond,
		"the fast receiver must get every event while the slow one holds its first")
	require.Equal(t, 1, slow.count())
	close(release)
	require.Eventually(t, func() bool { return slow.count() == 3 }, waitLong, 10*time.Millisecond)
	for _, d := range deliveries(t, s, slowSub.ID) {
		waitStatus(t, s, d.ID, store.WebhookDeliverySucceeded)
	}
}

func TestRestartMidSchedule(t *testing.T) {
	db := storetest.NewDB(t)
	var failing sync.Mutex
	fail := true
	rcv := newReceiver(t, func(w http.ResponseWriter, h hit, attempt int) {
		failing.Lock()
		defer failing.Unlock()
		if fail {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	})
	opts := testOptions()
	opts.Schedule = []time.Duration{time.Second, time.Second}
	s1 := newService(t, db, opts)
	sub := create(t, s1, rcv.srv.URL)
	stop := run(t, s1)
	publish(t, s1, "e1")
	var d store.WebhookDelivery
	require.Eventually(t, func() bool {
		d = onlyDelivery(t, s1, sub.ID)
		return d.Attempts == 1
	}, waitLong, 10*time.Millisecond)
	stop()
	require.Equal(t, store.WebhookDeliveryPending, d.Status)

	failing.Lock()
	fail = false
	failing.Unlock()
	s2 := newService(t, db, testOptions())
	run(t, s2)
	got := waitStatus(t, s2, d.ID, store.WebhookDeliverySucceeded)
	require.Equal(t, 2, got.Attempts)
	hits := rcv.all()
	require.Len(t, hits, 2)
	require.Equal(t, d.ID, hits[0].Delivery)
	require.Equal(t, d.ID, hits[1].Delivery)
}

func TestPublishNeverWaitsForReceivers(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	release := make(chan struct{})
	rcv := newReceiver(t, func(w http.ResponseWriter, h hit, attempt int) {
		<-release
		w.WriteHeader(200)
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	sub := create(t, s, rcv.srv.URL)
	run(t, s)
	publish(t, s, "e1")
	require.Eventually(t, func() bool { return rcv.count() == 1 }, waitLong, 10*time.Millisecond)
	// The receiver is now stuck on e1; publishing more still returns.
	for _, id := range []string{"e2", "e3", "e4"} {
		publish(t, s, id)
	}
	require.Len(t, deliveries(t, s, sub.ID), 4)
	require.Equal(t, 1, rcv.count())
}

func TestFiltersAndEventTypes(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	ctx := testCtx(t)
	mk := func(types []string, f store.WebhookFilters) string {
		c, err := s.Create(ctx, webhooks.CreateRequest{URL: "http://127.0.0.1:1/hook", EventTypes: types, Filters: f})
		require.NoError(t, err)
		return c.ID
	}
	all := mk([]string{webhooks.EventExecutionCompleted, webhooks.EventExecutionFailed}, store.WebhookFilters{})
	cfg := mk([]string{webhooks.EventExecutionCompleted}, store.WebhookFilters{ConfigID: "c1"})
	cfgRoute := mk([]string{webhooks.EventExecutionCompleted}, store.WebhookFilters{ConfigID: "c1", RouteID: "r1"})
	failedOnly := mk([]string{webhooks.EventExecutionFailed}, store.WebhookFilters{})
	inactive, err := s.Create(ctx, webhooks.CreateRequest{URL: "http://127.0.0.1:1/hook",
		EventTypes: []string{webhooks.EventExecutionCompleted}, Active: new(bool)})
	require.NoError(t, err)

	pub := func(typ, config, route string) {
		require.NoError(t, s.Publish(ctx, webhooks.Event{Type: typ, ConfigID: config, RouteID: route}))
	}
	pub(webhooks.EventExecutionCompleted, "c1", "r1") // all, cfg, cfgRoute
	pub(webhooks.EventExecutionCompleted, "c1", "r2") // all, cfg
	pub(webhooks.EventExecutionCompleted, "c2", "r1") // all
	pub(webhooks.EventExecutionFailed, "c1", "r1")    // all, failedOnly
	pub(webhooks.EventStorageObjectCreated, "c1", "") // none

	count := func(id string) int { return len(deliveries(t, s, id)) }
	require.Equal(t, 4, count(all))
	require.Equal(t, 2, count(cfg))
	require.Equal(t, 1, count(cfgRoute))
	require.Equal(t, 1, count(failedOnly))
	require.Equal(t, 0, count(inactive.ID))

	err = s.Publish(ctx, webhooks.Event{Type: "execution.exploded"})
	require.Equal(t, webhooks.CodeEventTypeInvalid, store.Code(err))
	_, err = s.Create(ctx, webhooks.CreateRequest{URL: "http://127.0.0.1:1/", EventTypes: []string{"nope"}})
	require.Equal(t, webhooks.CodeEventTypeInvalid, store.Code(err))
	_, err = s.Create(ctx, webhooks.CreateRequest{URL: "http://127.0.0.1:1/"})
	require.Equal(t, webhooks.CodeEventTypeInvalid, store.Code(err))
}

func TestTestDeliveryGoesToOneSubscription(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	a := newReceiver(t, nil)
	b := newReceiver(t, nil)
	subA := create(t, s, a.srv.URL, webhooks.EventExecutionFailed)
	create(t, s, b.srv.URL, webhooks.EventExecutionFailed)
	run(t, s)
	d, err := s.Test(testCtx(t), subA.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.EventTest, d.EventType)
	waitStatus(t, s, d.ID, store.WebhookDeliverySucceeded)
	require.Equal(t, 1, a.count())
	require.Equal(t, webhooks.EventTest, a.all()[0].EventType)
	require.Zero(t, b.count())
	_, err = s.Test(testCtx(t), "0190b0a0-0000-7000-8000-000000000000")
	require.Equal(t, store.CodeWebhookNotFound, store.Code(err))
	require.Equal(t, webhooks.CodeEventTypeInvalid,
		store.Code(s.Publish(testCtx(t), webhooks.Event{Type: webhooks.EventTest})))
}

func TestSSRFRefused(t *testing.T) {
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	strict := testOptions()
	strict.AllowPrivate = false
	s := newService(t, db, strict)
	rcv := newReceiver(t, nil)

	for _, u := range []string{rcv.srv.URL, "http://localhost:8080/hook", "http://10.0.0.8/hook",
		"http://[::1]/x", "http://169.254.169.254/latest", "http://2130706433/"} {
		_, err := s.Create(ctx, webhooks.CreateRequest{URL: u, EventTypes: []string{webhooks.EventExecutionFailed}})
		require.Equal(t, webhooks.CodeTargetForbidden, store.Code(err), u)
	}
	for _, u := range []string{"", "ftp://example.com/x", "http://", "/relative", "example.com/hook",
		"http://user:pw@example.com/", "http://example.com:99999/"} {
		_, err := s.Create(ctx, webhooks.CreateRequest{URL: u, EventTypes: []string{webhooks.EventExecutionFailed}})
		require.Equal(t, webhooks.CodeURLInvalid, store.Code(err), u)
		require.NotContains(t, err.Error(), "pw")
	}

	// Allowed when the subscription was made, refused when delivering
	// under a stricter dispatcher: dead at once, the receiver never hit.
	lax := newService(t, db, testOptions())
	sub := create(t, lax, rcv.srv.URL)
	run(t, s)
	publish(t, s, "e1")
	require.Eventually(t, func() bool { return onlyDelivery(t, s, sub.ID).Status == store.WebhookDeliveryDead },
		waitLong, 10*time.Millisecond)
	d := onlyDelivery(t, s, sub.ID)
	require.Equal(t, 1, d.Attempts)
	require.Contains(t, d.LastError, "SSRF")
	require.Zero(t, rcv.count())

	// An allow-list entry lets one host through.
	listed := strict
	listed.AllowedHosts = []string{"127.0.0.1"}
	ok := newService(t, db, listed)
	_, err := ok.Create(ctx, webhooks.CreateRequest{URL: rcv.srv.URL, EventTypes: []string{webhooks.EventExecutionFailed}})
	require.NoError(t, err)
}

func TestSecretNeverShown(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	ctx := testCtx(t)
	given := "my-very-own-shared-secret-value"
	c, err := s.Create(ctx, webhooks.CreateRequest{URL: "http://127.0.0.1:1/hook", Secret: given,
		EventTypes: []string{webhooks.EventExecutionFailed}})
	require.NoError(t, err)
	require.Equal(t, given, c.Secret)
	gen := create(t, s, "http://127.0.0.1:1/hook")

	got, err := s.Get(ctx, c.ID)
	require.NoError(t, err)
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.NotContains(t, string(b), given)
	require.NotContains(t, string(b), "secret")
	list, err := s.List(ctx, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 2, list.Total)
	b, err = json.Marshal(list)
	require.NoError(t, err)
	require.NotContains(t, string(b), given)
	require.NotContains(t, string(b), gen.Secret)

	var ct []byte
	require.NoError(t, db.Pool().QueryRow(ctx, `SELECT secret_ciphertext FROM webhook_subscriptions WHERE id = $1`, c.ID).Scan(&ct))
	require.NotContains(t, string(ct), given)
	require.False(t, bytes.Contains(ct, []byte(given)))

	// Under another key the secret is unreadable: the delivery fails
	// without the secret or the key in the error.
	otherKey := testOptions()
	otherKey.Key = bytes.Repeat([]byte{7}, 32)
	other := newService(t, db, otherKey)
	_, err = other.Test(ctx, c.ID)
	require.NoError(t, err)
	run(t, other)
	require.Eventually(t, func() bool { return onlyDelivery(t, s, c.ID).Status == store.WebhookDeliveryDead },
		waitLong, 10*time.Millisecond)
	d := onlyDelivery(t, s, c.ID)
	require.Contains(t, d.LastError, webhooks.CodeSecretUnreadable)
	require.NotContains(t, d.LastError, given)

	_, err = s.Get(ctx, "0190b0a0-0000-7000-8000-000000000000")
	require.Equal(t, store.CodeWebhookNotFound, store.Code(err))
}

func TestConcurrentDispatchersNeverDoubleSend(t *testing.T) {
	db := storetest.NewDB(t)
	var rcvs []*receiver
	s1 := newService(t, db, testOptions())
	s2 := newService(t, db, testOptions())
	var subs []string
	for range 6 {
		r := newReceiver(t, nil)
		rcvs = append(rcvs, r)
		subs = append(subs, create(t, s1, r.srv.URL).ID)
	}
	run(t, s1)
	run(t, s2)
	const events = 8
	var wg sync.WaitGroup
	for i := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub := s1
			if i%2 == 1 {
				pub = s2
			}
			if err := pub.Publish(context.Background(), webhooks.Event{Type: webhooks.EventExecutionCompleted}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	total := len(subs) * events
	require.Eventually(t, func() bool {
		n := 0
		for _, r := range rcvs {
			n += r.count()
		}
		return n >= total
	}, waitLong, 10*time.Millisecond)
	for _, sub := range subs {
		for _, d := range deliveries(t, s1, sub) {
			waitStatus(t, s1, d.ID, store.WebhookDeliverySucceeded)
		}
	}
	for _, r := range rcvs {
		per := map[string]int{}
		for _, h := range r.all() {
			per[h.Delivery]++
		}
		require.Len(t, per, events)
		for id, n := range per {
			require.Equal(t, 1, n, "delivery %s sent %d times", id, n)
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	db := storetest.NewDB(t)
	s := newService(t, db, testOptions())
	ctx := testCtx(t)
	c := create(t, s, "http://127.0.0.1:1/hook")
	off := false
	desc := "paused"
	up, err := s.Update(ctx, c.ID, webhooks.UpdateRequest{Active: &off, Description: &desc,
		EventTypes: []string{webhooks.EventLineageFailed, webhooks.EventLineageFailed}})
	require.NoError(t, err)
	require.False(t, up.Active)
	require.Equal(t, []string{webhooks.EventLineageFailed}, up.EventTypes)
	bad := "gopher://x"
	_, err = s.Update(ctx, c.ID, webhooks.UpdateRequest{URL: &bad})
	require.Equal(t, webhooks.CodeURLInvalid, store.Code(err))
	require.NoError(t, s.Delete(ctx, c.ID))
	_, err = s.Get(ctx, c.ID)
	require.True(t, errors.Is(err, store.ErrNotFound))
}
