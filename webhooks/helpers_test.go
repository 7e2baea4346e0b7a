package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

const waitLong = 30 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// testOptions allow loopback targets (httptest listens there) and make the
// schedule short.
func testOptions() webhooks.Options {
	return webhooks.Options{
		Key:          testKey,
		AllowPrivate: true,
		PollInterval: 20 * time.Millisecond,
		Timeout:      5 * time.Second,
		Schedule:     []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
		Workers:      4,
	}
}

func newService(t *testing.T, db *store.DB, opts webhooks.Options) *webhooks.Service {
	t.Helper()
	s, err := webhooks.New(db, opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// run starts the dispatcher; the returned stop ends it and waits.
func run(t *testing.T, s *webhooks.Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

type hit struct {
	Delivery, EventType, Timestamp, Signature, UserAgent, ContentType string
	Body                                                              []byte
	EventID                                                           string
	At                                                                time.Time
}

// receiver is an httptest server recording every request. respond decides
// the answer; attempt counts the requests for the same delivery id.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	hits    []hit
	respond func(w http.ResponseWriter, h hit, attempt int)
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, h hit, attempt int)) *receiver {
	t.Helper()
	r := &receiver{respond: respond}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	h := hit{Delivery: req.Header.Get("X-Factflow-Delivery"), EventType: req.Header.Get("X-Factflow-Event"),
		Timestamp: req.Header.Get("X-Factflow-Timestamp"), Signature: req.Header.Get("X-Factflow-Signature"),
		UserAgent: req.Header.Get("User-Agent"), ContentType: req.Header.Get("Content-Type"), Body: body, At: time.Now()}
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &env)
	h.EventID = env.ID
	r.mu.Lock()
	r.hits = append(r.hits, h)
	attempt := 0
	for _, o := range r.hits {
		if o.Delivery == h.Delivery {
			attempt++
		}
	}
	r.mu.Unlock()
	if r.respond == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	r.respond(w, h, attempt)
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func (r *receiver) count() int { return len(r.all()) }

func create(t *testing.T, s *webhooks.Service, url string, types ...string) *webhooks.Created {
	t.Helper()
	if len(types) == 0 {
		types = []string{webhooks.EventExecutionCompleted}
	}
	c, err := s.Create(testCtx(t), webhooks.CreateRequest{URL: url, EventTypes: types})
	require.NoError(t, err)
	return c
}

func publish(t *testing.T, s *webhooks.Service, id string) {
	t.Helper()
	require.NoError(t, s.Publish(testCtx(t), webhooks.Event{ID: id, Type: webhooks.EventExecutionCompleted,
		Data: map[string]any{"n": id}}))
}

// deliveries returns a subscription's deliveries, oldest first.
func deliveries(t *testing.T, s *webhooks.Service, subID string) []store.WebhookDelivery {
	t.Helper()
	p, err := s.Deliveries(testCtx(t), subID, 1000, 0)
	require.NoError(t, err)
	out := make([]store.WebhookDelivery, 0, len(p.Items))
	for i := len(p.Items) - 1; i >= 0; i-- {
		out = append(out, p.Items[i])
	}
	return out
}

func waitStatus(t *testing.T, s *webhooks.Service, deliveryID, status string) *store.WebhookDelivery {
	t.Helper()
	var d *store.WebhookDelivery
	require.Eventually(t, func() bool {
		var err error
		d, err = s.Delivery(testCtx(t), deliveryID)
		require.NoError(t, err)
		return d.Status == status
	}, waitLong, 10*time.Millisecond, "delivery %s never became %s", deliveryID, status)
	return d
}

func onlyDelivery(t *testing.T, s *webhooks.Service, subID string) store.WebhookDelivery {
	t.Helper()
	ds := deliveries(t, s, subID)
	require.Len(t, ds, 1)
	return ds[0]
}
