package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want Class
	}{
		{&openai.APIError{HTTPStatusCode: 429}, RateLimited},
		{fmt.Errorf("wrapped: %w", &openai.RequestError{HTTPStatusCode: 429}), RateLimited},
		{&openai.APIError{HTTPStatusCode: 500}, Retryable},
		{&openai.RequestError{HTTPStatusCode: 503}, Retryable},
		{&openai.APIError{HTTPStatusCode: 408}, Retryable},
		{&openai.APIError{HTTPStatusCode: 400}, Terminal},
		{&openai.APIError{HTTPStatusCode: 401}, Terminal},
		{&openai.APIError{HTTPStatusCode: 404}, Terminal},
		{io.ErrUnexpectedEOF, Retryable},
		{context.DeadlineExceeded, Retryable},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, Retryable},
		{context.Canceled, Terminal},
		{fmt.Errorf("x: %w", context.Canceled), Terminal},
		{errors.New("something else"), Terminal},
		{nil, Terminal},
		{&Error{Code: CodeRateLimited, Class: RateLimited}, RateLimited},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Classify(tc.err), "%v", tc.err)
	}
	assert.Equal(t, "rate_limited", RateLimited.String())
	b, _ := Retryable.MarshalText()
	assert.Equal(t, "retryable", string(b))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	assert.Equal(t, 1500*time.Millisecond, parseRetryAfter("1.5", now))
	assert.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter("", now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter("-3", now))
}

func TestBackoffFullJitter(t *testing.T) {
	c := &remoteClient{backoffBase: 100 * time.Millisecond, backoffCap: time.Second}
	for attempt := range 40 {
		ceil := min(time.Second, 100*time.Millisecond<<min(attempt, 20))
		for range 20 {
			d := c.backoff(attempt, 0)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, ceil)
		}
	}
	assert.GreaterOrEqual(t, c.backoff(0, 5*time.Second), 5*time.Second, "Retry-After is a floor")
}

func TestLimiterAIMD(t *testing.T) {
	l := newLimiter(0)
	limit, _, ceiling, floor := l.snapshot()
	assert.Equal(t, DefaultMaxConcurrency, limit)
	assert.Equal(t, DefaultMaxConcurrency, ceiling)
	assert.Equal(t, MinConcurrency, floor)

	ctx := context.Background()
	// A burst admitted under one limit halves it once, not once per 429.
	var burst []permit
	for range 10 {
		p, err := l.acquire(ctx)
		assert.NoError(t, err)
		burst = append(burst, p)
	}
	for _, p := range burst {
		p.release(outcomeRateLimited)
	}
	limit, inFlight, _, _ := l.snapshot()
	assert.Equal(t, 25, limit)
	assert.Equal(t, 0, inFlight)

	for range 5 {
		p, _ := l.acquire(ctx)
		p.release(outcomeRateLimited)
	}
	limit, _, _, _ = l.snapshot()
	assert.Equal(t, MinConcurrency, limit, "never below the floor")

	p, _ := l.acquire(ctx)
	p.release(outcomeSuccess)
	limit, _, _, _ = l.snapshot()
	assert.Equal(t, MinConcurrency+1, limit)

	// Full: acquire blocks until ctx ends or a slot frees.
	var held []permit
	for range MinConcurrency + 1 {
		p, err := l.acquire(ctx)
		assert.NoError(t, err)
		held = append(held, p)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := l.acquire(cctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	got := make(chan error, 1)
	go func() {
		p, err := l.acquire(ctx)
		if err == nil {
			p.release(outcomeOther)
		}
		got <- err
	}()
	held[0].release(outcomeOther)
	select {
	case err := <-got:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("a released slot did not wake the waiter")
	}
	for _, p := range held[1:] {
		p.release(outcomeOther)
	}

	small := newLimiter(2)
	limit, _, _, floor = small.snapshot()
	assert.Equal(t, 2, limit)
	assert.Equal(t, 2, floor)
}
