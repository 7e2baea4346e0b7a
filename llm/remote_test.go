package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testKey = "sk-test-VERYSECRET-0123456789abcdef"

// waits records the backoff waits the retry loop asked for, without
// sleeping them.
type waits struct {
	mu sync.Mutex
	ds []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.ds = append(w.ds, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.ds...)
}

func remoteProfile(f *fakeAPI, mod func(*Profile)) Profile {
	p := Profile{Name: "remote", ProviderType: ProviderOpenAI, Model: "test-model", APIKey: testKey, BaseURL: f.srv.URL + "/v1"}
	if mod != nil {
		mod(&p)
	}
	return p
}

func newTestRegistry(t *testing.T, f *fakeAPI, profiles []Profile, mod func(*Options)) (*Registry, *waits) {
	t.Helper()
	w := &waits{}
	opts := Options{
		HTTPClient:  f.srv.Client(),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		backoffBase: time.Millisecond,
		sleep:       w.sleep,
	}
	if mod != nil {
		mod(&opts)
	}
	r, err := NewRegistry(profiles, opts)
	require.NoError(t, err)
	return r, w
}

func statsOf(t *testing.T, r *Registry, name string) ProfileStats {
	t.Helper()
	for _, s := range r.Stats() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stats for %s", name)
	return ProfileStats{}
}

func userReq(q string) ChatRequest {
	return ChatRequest{Messages: []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: q}}}
}

func TestRemoteCompleteAndEmbed(t *testing.T) {
	f := newFakeAPI(t, testKey)
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)

	c, err := r.Completer("remote")
	require.NoError(t, err)
	resp, err := c.Complete(context.Background(), userReq("hello there"))
	require.NoError(t, err)
	assert.Equal(t, "echo: hello there", resp.Content)
	assert.Equal(t, "test-model", resp.Model)
	assert.Equal(t, "stop", resp.FinishReason)
	assert.Equal(t, 7, resp.PromptTokens)

	e, err := r.Embedder("remote")
	require.NoError(t, err)
	assert.Equal(t, 0, e.Dims(), "dims unknown before the first answer")
	texts := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	vecs, err := e.Embed(context.Background(), texts)
	require.NoError(t, err)
	require.Len(t, vecs, len(texts))
	for i, v := range vecs {
		assert.Equal(t, textValue(texts[i]), v[0], "vector %d out of order", i)
	}
	assert.Equal(t, 16, e.Dims(), "dims learned from the answer")
}

func TestRemoteAzurePaths(t *testing.T) {
	f := newFakeAPI(t, testKey)
	p := Profile{Name: "az", ProviderType: ProviderAzure, Model: "gpt-4o.mini", APIKey: testKey, BaseURL: f.srv.URL, APIVersion: "2024-06-01", Dims: 8}
	r, _ := newTestRegistry(t, f, []Profile{p}, nil)

	c, err := r.Completer("az")
	require.NoError(t, err)
	resp, err := c.Complete(context.Background(), userReq("hi azure"))
	require.NoError(t, err)
	assert.Equal(t, "echo: hi azure", resp.Content)

	var got []string
	resp, err = c.Stream(context.Background(), userReq("streamed from azure"), func(d string) error {
		got = append(got, d)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "streamed from azure", resp.Content)
	assert.Equal(t, []string{"streamed", " from", " azure"}, got)

	e, err := r.Embedder("az")
	require.NoError(t, err)
	vecs, err := e.Embed(context.Background(), []string{"one", "two"})
	require.NoError(t, err)
	require.Len(t, vecs, 2)
	assert.Len(t, vecs[0], 8)

	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.paths, 3)
	assert.Equal(t, "/openai/deployments/gpt-4o.mini/chat/completions?api-version=2024-06-01", f.paths[0])
	assert.Equal(t, "/openai/deployments/gpt-4o.mini/embeddings?api-version=2024-06-01", f.paths[2])
	assert.EqualValues(t, 8, f.bodies[2]["dimensions"])
}

func TestRemoteRateLimitedThenSuccess(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.push(reply{status: 429, header: map[string]string{"Retry-After": "3"}, body: `{"error":{"message":"slow down","type":"rate_limit"}}`})
	r, w := newTestRegistry(t, f, []Profile{remoteProfile(f, func(p *Profile) { p.MaxConcurrency = 20 })}, nil)

	c, _ := r.Completer("remote")
	resp, err := c.Complete(context.Background(), userReq("again"))
	require.NoError(t, err)
	assert.Equal(t, "echo: again", resp.Content)
	assert.Equal(t, 2, f.hitCount("chat"))

	ds := w.all()
	require.Len(t, ds, 1)
	assert.GreaterOrEqual(t, ds[0], 3*time.Second, "Retry-After is the floor of the wait")

	s := statsOf(t, r, "remote")
	// 20 halved to 10 by the 429, then +1 for the success.
	assert.Equal(t, 11, s.Limit)
	assert.Equal(t, 20, s.Ceiling)
	assert.Equal(t, int64(2), s.Requests)
	assert.Equal(t, int64(1), s.Successes)
	assert.Equal(t, int64(1), s.Retries)
	assert.Equal(t, int64(1), s.Errors["rate_limited"])
	assert.Equal(t, 0, s.InFlight)
}

func TestRemoteRateLimitedExhausted(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.hook = func(int) *reply {
		return &reply{status: 429, header: map[string]string{"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, body: `{"error":{"message":"quota"}}`}
	}
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	c, _ := r.Completer("remote")
	_, err := c.Complete(context.Background(), userReq("x"))
	var le *Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, CodeRateLimited, le.Code)
	assert.Equal(t, RateLimited, le.Class)
	assert.Equal(t, RateLimited, Classify(err))
	assert.Greater(t, le.RetryAfter, time.Hour)
	// A Retry-After far in the future is not waited for.
	assert.Equal(t, 1, f.hitCount("chat"))
}

func TestRemoteServerErrorThenSuccess(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.push(reply{status: 500, body: `{"error":{"message":"boom"}}`}, reply{status: 502, body: `bad gateway`})
	r, w := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	e, _ := r.Embedder("remote")
	vecs, err := e.Embed(context.Background(), []string{"a", "b"})
	require.NoError(t, err)
	require.Len(t, vecs, 2)
	assert.Equal(t, 3, f.hitCount("embeddings"))
	assert.Len(t, w.all(), 2)
	s := statsOf(t, r, "remote")
	assert.Equal(t, int64(2), s.Errors["retryable"])
	assert.Equal(t, 50, s.Limit, "5xx does not shrink the limit")
}

func TestRemoteRetriesExhausted(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.hook = func(int) *reply { return &reply{status: 503, body: `{"error":{"message":"overloaded"}}`} }
	r, w := newTestRegistry(t, f, []Profile{remoteProfile(f, func(p *Profile) { p.MaxRetries = 2 })}, nil)
	c, _ := r.Completer("remote")
	_, err := c.Complete(context.Background(), userReq("x"))
	assert.Equal(t, CodeUnavailable, Code(err))
	assert.Equal(t, Retryable, Classify(err))
	assert.Equal(t, 3, f.hitCount("chat"), "first try + 2 retries")
	assert.Len(t, w.all(), 2)
}

func TestRemoteAuthFailedIsTerminalAndHidesKey(t *testing.T) {
	f := newFakeAPI(t, "another-key")
	r, w := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	c, _ := r.Completer("remote")
	_, err := c.Complete(context.Background(), userReq("x"))
	require.Error(t, err)
	assert.Equal(t, CodeAuthFailed, Code(err))
	assert.Equal(t, Terminal, Classify(err))
	assert.Equal(t, 1, f.hitCount("chat"), "401 is not retried")
	assert.Empty(t, w.all())
	assertNoKey(t, err)

	e, _ := r.Embedder("remote")
	_, err = e.Embed(context.Background(), []string{"x"})
	assert.Equal(t, CodeAuthFailed, Code(err))
	assertNoKey(t, err)

	_, err = c.Stream(context.Background(), userReq("x"), func(string) error { return nil })
	assert.Equal(t, CodeAuthFailed, Code(err))
	assertNoKey(t, err)
}

func TestErrorsNeverContainKey(t *testing.T) {
	f := newFakeAPI(t, testKey)
	// A provider echoing the key (whole or shortened) in a rejection.
	f.push(reply{status: 400, body: fmt.Sprintf(`{"error":{"message":"bad request for key %s"}}`, testKey)})
	f.push(reply{status: 422, body: fmt.Sprintf(`not json, key=%s...`, testKey[:len(testKey)-4])})
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	c, _ := r.Completer("remote")
	_, err := c.Complete(context.Background(), userReq("x"))
	assert.Equal(t, CodeRequestRejected, Code(err))
	assertNoKey(t, err)
	_, err = c.Complete(context.Background(), userReq("x"))
	assert.Equal(t, CodeRequestRejected, Code(err))
	assertNoKey(t, err)

	// Unreachable provider: a network error.
	dead := newFakeAPI(t, testKey)
	dead.srv.Close()
	r2, _ := newTestRegistry(t, dead, []Profile{remoteProfile(dead, func(p *Profile) { p.MaxRetries = 1 })}, nil)
	c2, _ := r2.Completer("remote")
	_, err = c2.Complete(context.Background(), userReq("x"))
	assert.Equal(t, CodeUnavailable, Code(err))
	assert.Equal(t, Retryable, Classify(err))
	assertNoKey(t, err)

	// Invalid profile errors never show the key either.
	_, err = NewRegistry([]Profile{{Name: "k", ProviderType: ProviderAzure, Model: "m", APIKey: testKey}}, Options{})
	assert.Equal(t, CodeProfileInvalid, Code(err))
	assertNoKey(t, err)
}

func assertNoKey(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		assert.NotContains(t, e.Error(), testKey)
		assert.NotContains(t, e.Error(), "VERYSECRET", "not even partly")
	}
}

func TestRemoteCancelDuringBackoff(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.hook = func(int) *reply { return &reply{status: 500, body: `{"error":{"message":"down"}}`} }
	sleeping := make(chan struct{})
	var once sync.Once
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, func(o *Options) {
		o.sleep = func(ctx context.Context, d time.Duration) error {
			once.Do(func() { close(sleeping) })
			return sleepCtx(ctx, time.Hour)
		}
	})
	c, _ := r.Completer("remote")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Complete(ctx, userReq("x"))
		done <- err
	}()
	select {
	case <-sleeping:
	case <-time.After(30 * time.Second):
		t.Fatal("never reached the backoff")
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("cancel did not end the backoff")
	}
	assert.Equal(t, CodeCanceled, Code(err))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, Terminal, Classify(err))
	assert.Equal(t, 1, f.hitCount("chat"))
}

func TestRemoteAttemptTimeoutIsRetried(t *testing.T) {
	f := newFakeAPI(t, testKey)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.hook = func(n int) *reply {
		if n == 1 {
			<-release // the first request never answers in time
		}
		return nil
	}
	r, w := newTestRegistry(t, f, []Profile{remoteProfile(f, func(p *Profile) { p.Timeout = 50 * time.Millisecond })}, nil)
	c, _ := r.Completer("remote")
	resp, err := c.Complete(context.Background(), userReq("late"))
	require.NoError(t, err)
	assert.Equal(t, "echo: late", resp.Content)
	assert.Len(t, w.all(), 1)
	assert.Equal(t, int64(1), statsOf(t, r, "remote").Errors["retryable"])
}

func TestRemoteStreamDeltasInOrder(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.push(reply{status: 503, body: `{"error":{"message":"warming up"}}`})
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	c, _ := r.Completer("remote")
	words := strings.Fields("one two three four five six seven eight nine ten")
	var got []string
	resp, err := c.Stream(context.Background(), userReq(strings.Join(words, " ")), func(d string) error {
		got = append(got, d)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, len(words))
	for i, d := range got {
		assert.Equal(t, words[i], strings.TrimSpace(d))
	}
	assert.Equal(t, strings.Join(words, " "), resp.Content)
	assert.Equal(t, "stop", resp.FinishReason)
	assert.Equal(t, 2, f.hitCount("stream"), "a failure before any delta is retried")
}

func TestRemoteStreamMidStreamFailure(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.streamFailAfter = 3
	r, w := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	c, _ := r.Completer("remote")
	var got []string
	_, err := c.Stream(context.Background(), userReq("a b c d e f"), func(d string) error {
		got = append(got, d)
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, []string{"a", " b", " c"}, got)
	assert.Equal(t, 1, f.hitCount("stream"), "text was delivered: no retry")
	assert.Empty(t, w.all())
	var le *Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, CodeUnavailable, le.Code)
	assertNoKey(t, err)
}

func TestRemoteStreamCallbackError(t *testing.T) {
	f := newFakeAPI(t, testKey)
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	c, _ := r.Completer("remote")
	stop := errors.New("client went away")
	n := 0
	_, err := c.Stream(context.Background(), userReq("a b c d"), func(string) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 2, n)
	assert.Equal(t, 1, f.hitCount("stream"))
}

func TestRemoteDimsMismatch(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.wrongDims = 7
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, func(p *Profile) { p.Dims = 8 })}, nil)
	e, _ := r.Embedder("remote")
	assert.Equal(t, 8, e.Dims())
	_, err := e.Embed(context.Background(), []string{"a", "b"})
	assert.Equal(t, CodeBadResponse, Code(err))
	assert.Equal(t, Terminal, Classify(err))
	assert.Equal(t, 1, f.hitCount("embeddings"), "a bad answer is not retried")
	f.mu.Lock()
	assert.EqualValues(t, 8, f.bodies[0]["dimensions"], "dims is requested")
	f.mu.Unlock()
}

func TestRemoteEmbedBatches(t *testing.T) {
	f := newFakeAPI(t, testKey)
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, nil)}, nil)
	e, _ := r.Embedder("remote")
	texts := make([]string, 600)
	for i := range texts {
		texts[i] = fmt.Sprintf("text number %d", i)
	}
	vecs, err := e.Embed(context.Background(), texts)
	require.NoError(t, err)
	require.Len(t, vecs, len(texts))
	for i := range texts {
		require.Equal(t, textValue(texts[i]), vecs[i][0], "vector %d", i)
	}
	assert.Equal(t, 3, f.hitCount("embeddings"))
	assert.Equal(t, maxEmbedBatch, f.maxBatch)

	empty, err := e.Embed(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, empty)
}

func TestRemoteConcurrent(t *testing.T) {
	f := newFakeAPI(t, testKey)
	f.hook = func(n int) *reply {
		if n%7 == 0 {
			return &reply{status: 429, header: map[string]string{"Retry-After": "0"}, body: `{"error":{"message":"busy"}}`}
		}
		return nil
	}
	const ceiling = 8
	r, _ := newTestRegistry(t, f, []Profile{remoteProfile(f, func(p *Profile) {
		p.MaxConcurrency = ceiling
		p.MaxRetries = 20
	})}, nil)
	c, _ := r.Completer("remote")
	e, _ := r.Embedder("remote")

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 40 {
		wg.Go(func() {
			for i := range 5 {
				if (g+i)%2 == 0 {
					q := fmt.Sprintf("q%d-%d", g, i)
					resp, err := c.Complete(context.Background(), userReq(q))
					if err == nil && resp.Content != "echo: "+q {
						err = fmt.Errorf("got %q for %q", resp.Content, q)
					}
					errs <- err
				} else {
					texts := []string{fmt.Sprintf("a%d", g), fmt.Sprintf("b%d", i)}
					vecs, err := e.Embed(context.Background(), texts)
					if err == nil && (vecs[0][0] != textValue(texts[0]) || vecs[1][0] != textValue(texts[1])) {
						err = errors.New("vectors out of order")
					}
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	f.mu.Lock()
	maxIn := f.maxIn
	f.mu.Unlock()
	assert.LessOrEqual(t, maxIn, ceiling, "the limiter bounds concurrent requests")
	s := statsOf(t, r, "remote")
	assert.Equal(t, int64(200), s.Successes)
	assert.Equal(t, 0, s.InFlight)
	assert.GreaterOrEqual(t, s.Limit, s.Floor)
	assert.LessOrEqual(t, s.Limit, ceiling)
}
