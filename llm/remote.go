package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"
)

const (
	// maxEmbedBatch is the most texts one embeddings request carries;
	// larger inputs are split (OpenAI refuses more than 2048 inputs, and
	// smaller requests retry more cheaply).
	maxEmbedBatch = 256

	defaultBackoffBase = 500 * time.Millisecond
	defaultBackoffCap  = 20 * time.Second
	// maxRetryAfter: a provider asking us to come back later than this is
	// effectively down for this call; the caller gets the rate-limited
	// error (with RetryAfter) instead of a silent minutes-long wait.
	maxRetryAfter = time.Minute
)

// remoteClient serves an openai, azure or openai_compatible profile. One
// instance per profile, shared by all callers so they share the limiter.
type remoteClient struct {
	p      Profile
	client *openai.Client
	lim    *limiter
	log    *slog.Logger

	backoffBase, backoffCap time.Duration
	sleep                   func(ctx context.Context, d time.Duration) error

	learnedDims atomic.Int64

	requests, successes, retries atomic.Int64
	errs                         [3]atomic.Int64 // by Class
}

func newRemote(p Profile, opts Options, log *slog.Logger) *remoteClient {
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	var cfg openai.ClientConfig
	switch p.ProviderType {
	case ProviderAzure:
		cfg = openai.DefaultAzureConfig(p.APIKey, p.BaseURL)
		if p.APIVersion != "" {
			cfg.APIVersion = p.APIVersion
		}
		// The profile's model is the deployment name, used verbatim (the
		// library's default mapper rewrites dots and colons).
		cfg.AzureModelMapperFunc = func(model string) string { return model }
	default:
		cfg = openai.DefaultConfig(p.APIKey)
		if p.BaseURL != "" {
			cfg.BaseURL = p.BaseURL
		}
	}
	cfg.HTTPClient = metaDoer{c: hc}
	rc := &remoteClient{
		p:           p,
		client:      openai.NewClientWithConfig(cfg),
		lim:         newLimiter(p.MaxConcurrency),
		log:         log.With("llm_profile", p.Name, "provider_type", p.ProviderType),
		backoffBase: opts.backoffBase,
		backoffCap:  opts.backoffCap,
		sleep:       opts.sleep,
	}
	if rc.backoffBase <= 0 {
		rc.backoffBase = defaultBackoffBase
	}
	if rc.backoffCap <= 0 {
		rc.backoffCap = defaultBackoffCap
	}
	if rc.sleep == nil {
		rc.sleep = sleepCtx
	}
	return rc
}

func (c *remoteClient) Profile() string { return c.p.Name }
func (c *remoteClient) Model() string   { return c.p.Model }

// Dims is the configured dimension, else the one learned from the first
// embeddings answer (0 before it).
func (c *remoteClient) Dims() int {
	if c.p.Dims > 0 {
		return c.p.Dims
	}
	return int(c.learnedDims.Load())
}

func (c *remoteClient) stats() ProfileStats {
	limit, inFlight, ceiling, floor := c.lim.snapshot()
	errs := map[string]int64{}
	for cl := Terminal; cl <= RateLimited; cl++ {
		errs[cl.String()] = c.errs[cl].Load()
	}
	return ProfileStats{
		Name: c.p.Name, Limit: limit, Ceiling: ceiling, Floor: floor, InFlight: inFlight,
		Requests: c.requests.Load(), Successes: c.successes.Load(), Retries: c.retries.Load(),
		Errors: errs,
	}
}

// ---- response metadata ----

// respMeta receives the status and Retry-After of an attempt's HTTP
// answer: go-openai's errors carry the status but not the headers.
type respMeta struct {
	mu     sync.Mutex
	code   int
	after  string
	seenAt time.Time
}

func (m *respMeta) status() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.code
}

func (m *respMeta) retryAfter() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return parseRetryAfter(m.after, m.seenAt)
}

type metaKey struct{}

type metaDoer struct{ c *http.Client }

func (d metaDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if resp != nil {
		if m, ok := req.Context().Value(metaKey{}).(*respMeta); ok {
			m.mu.Lock()
			m.code, m.after, m.seenAt = resp.StatusCode, resp.Header.Get("Retry-After"), time.Now()
			m.mu.Unlock()
		}
	}
	return resp, err
}

// ---- retry loop ----

var errAttemptTimeout = errors.New("attempt timed out")

// attemptTimeout is a request that exceeded the profile's timeout while
// the caller still waited: retryable, reported as LLM_TIMEOUT.
type attemptTimeout struct {
	d   time.Duration
	err error
}

func (e *attemptTimeout) Error() string {
	return fmt.Sprintf("no answer within %s: %v", e.d, e.err)
}
func (e *attemptTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// final marks a failure that must not be retried whatever its class
// (a stream that already delivered text).
type final struct{ err error }

func (f *final) Error() string { return f.err.Error() }
func (f *final) Unwrap() error { return f.err }

// callerError is an error of the caller's own callback: returned as is.
type callerError struct{ err error }

func (c *callerError) Error() string { return c.err.Error() }
func (c *callerError) Unwrap() error { return c.err }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is full jitter: uniform in [0, min(cap, base·2^attempt)], never
// below the provider's Retry-After.
func (c *remoteClient) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceil := c.backoffCap
	if attempt < 30 {
		if b := c.backoffBase << attempt; b > 0 && b < ceil {
			ceil = b
		}
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	return max(d, retryAfter)
}

// call runs fn under the limiter with retries. fn gets the attempt's
// context and touch, which pushes the attempt's deadline out by the
// profile's timeout (streams call it on every chunk, so the timeout bounds
// silence rather than the whole answer).
func (c *remoteClient) call(ctx context.Context, op string, fn func(ctx context.Context, touch func()) error) error {
	timeout := c.p.timeout()
	maxRetries := c.p.maxRetries()
	for attempt := 0; ; attempt++ {
		pm, err := c.lim.acquire(ctx)
		if err != nil {
			return providerError(ctx, &c.p, op, err, nil)
		}
		meta := &respMeta{}
		actx, cancel := context.WithCancelCause(ctx)
		timer := time.AfterFunc(timeout, func() { cancel(errAttemptTimeout) })
		c.requests.Add(1)
		err = fn(context.WithValue(actx, metaKey{}, meta), func() { timer.Reset(timeout) })
		timer.Stop()
		timedOut := ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout)
		cancel(nil)

		if err == nil {
			pm.release(outcomeSuccess)
			c.successes.Add(1)
			return nil
		}
		var ce *callerError
		if errors.As(err, &ce) {
			pm.release(outcomeOther)
			return ce.err
		}
		if timedOut {
			err = &attemptTimeout{d: timeout, err: err}
		}
		var fin *final
		isFinal := errors.As(err, &fin)
		e := providerError(ctx, &c.p, op, err, meta)
		if e.Class == RateLimited {
			pm.release(outcomeRateLimited)
		} else {
			pm.release(outcomeOther)
		}
		c.errs[e.Class].Add(1)

		if e.Class == Terminal || isFinal || attempt >= maxRetries || e.RetryAfter > maxRetryAfter {
			return e
		}
		wait := c.backoff(attempt, e.RetryAfter)
		c.retries.Add(1)
		c.log.LogAttrs(ctx, slog.LevelWarn, "llm request failed, retrying",
			slog.String("op", op), slog.Int("attempt", attempt+1), slog.String("class", e.Class.String()),
			slog.String("code", e.Code), slog.Int("status", e.Status), slog.Duration("wait", wait))
		if err := c.sleep(ctx, wait); err != nil {
			return providerError(ctx, &c.p, op, err, nil)
		}
	}
}

// ---- embeddings ----

// Embed embeds texts in requests of at most 256, concurrently under the
// profile's limiter, and returns the vectors in input order.
func (c *remoteClient) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	if len(texts) == 0 {
		return out, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for start := 0; start < len(texts); start += maxEmbedBatch {
		end := min(start+maxEmbedBatch, len(texts))
		g.Go(func() error {
			return c.call(gctx, "embedding", func(actx context.Context, _ func()) error {
				return c.embedBatch(actx, texts[start:end], out[start:end])
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *remoteClient) embedBatch(ctx context.Context, batch []string, dst [][]float32) error {
	resp, err := c.client.CreateEmbeddings(ctx, openai.EmbeddingRequest{
		Input:      batch,
		Model:      openai.EmbeddingModel(c.p.Model),
		Dimensions: c.p.Dims,
	})
	if err != nil {
		return err
	}
	if len(resp.Data) != len(batch) {
		return badResponse(&c.p, fmt.Sprintf("embeddings answer has %d vectors for %d texts", len(resp.Data), len(batch)))
	}
	got := make([][]float32, len(batch))
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(batch) || got[d.Index] != nil {
			return badResponse(&c.p, fmt.Sprintf("embeddings answer has a bad or repeated index %d", d.Index))
		}
		if len(d.Embedding) == 0 {
			return badResponse(&c.p, fmt.Sprintf("embeddings answer has an empty vector at index %d", d.Index))
		}
		want := c.p.Dims
		if want == 0 {
			// The first answer fixes the dimension; a model that changes
			// it later would corrupt the slot.
			c.learnedDims.CompareAndSwap(0, int64(len(d.Embedding)))
			want = int(c.learnedDims.Load())
		}
		if len(d.Embedding) != want {
			return badResponse(&c.p, fmt.Sprintf("embeddings answer has %d dimensions, want %d", len(d.Embedding), want))
		}
		got[d.Index] = d.Embedding
	}
	copy(dst, got)
	return nil
}

// ---- chat ----

func (c *remoteClient) chatRequest(req ChatRequest) openai.ChatCompletionRequest {
	msgs := make([]openai.ChatCompletionMessage, 0, len(req.Messages))
	for _, m := range req.Messages {
		msgs = append(msgs, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	r := openai.ChatCompletionRequest{
		Model:     modelOr(req.Model, c.p.Model),
		Messages:  msgs,
		MaxTokens: req.MaxTokens,
	}
	if req.Temperature != nil {
		// go-openai omits a zero temperature, so 0 means the provider's
		// default; a tiny positive value is the practical "greedy".
		r.Temperature = *req.Temperature
	}
	return r
}

// Complete runs one chat completion.
func (c *remoteClient) Complete(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	var out *ChatResponse
	err := c.call(ctx, "chat completion", func(actx context.Context, _ func()) error {
		resp, err := c.client.CreateChatCompletion(actx, c.chatRequest(req))
		if err != nil {
			return err
		}
		if len(resp.Choices) == 0 {
			return badResponse(&c.p, "chat answer has no choices")
		}
		ch := resp.Choices[0]
		out = &ChatResponse{
			Content: ch.Message.Content, Model: modelOr(resp.Model, modelOr(req.Model, c.p.Model)),
			FinishReason: string(ch.FinishReason),
			PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Stream runs a streaming chat completion. A failure before any text was
// delivered is retried like any call; after that it is returned, since
// onDelta cannot take text back.
func (c *remoteClient) Stream(ctx context.Context, req ChatRequest, onDelta func(string) error) (*ChatResponse, error) {
	if onDelta == nil {
		onDelta = func(string) error { return nil }
	}
	var (
		text      strings.Builder
		delivered bool
		out       *ChatResponse
	)
	err := c.call(ctx, "chat stream", func(actx context.Context, touch func()) error {
		stream, err := c.client.CreateChatCompletionStream(actx, c.chatRequest(req))
		if err != nil {
			return err
		}
		defer stream.Close()
		out = &ChatResponse{Model: modelOr(req.Model, c.p.Model)}
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				out.Content = text.String()
				return nil
			}
			if err != nil {
				if delivered {
					return &final{err: err}
				}
				return err
			}
			touch()
			if chunk.Model != "" {
				out.Model = chunk.Model
			}
			if chunk.Usage != nil {
				out.PromptTokens, out.CompletionTokens = chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens
			}
			if len(chunk.Choices) == 0 {
				continue
			}
			ch := chunk.Choices[0]
			if ch.FinishReason != "" {
				out.FinishReason = string(ch.FinishReason)
			}
			if d := ch.Delta.Content; d != "" {
				delivered = true
				text.WriteString(d)
				if err := onDelta(d); err != nil {
					return &callerError{err: err}
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
