package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/factflow/factflow/netguard"
	"github.com/factflow/factflow/store"
)

// leaseMargin is added to the request timeout for the lease of a claimed
// delivery: the time left to record the outcome before another dispatcher
// may take the delivery over.
const leaseMargin = 30 * time.Second

// Run dispatches due deliveries until ctx ends, then waits for the requests
// in flight (cancelled with ctx) and returns nil. Database errors are
// logged and retried at the next poll.
func (s *Service) Run(ctx context.Context) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inFlight int
	)
	done := make(chan struct{}, 1)
	ticker := time.NewTicker(s.opts.PollInterval)
	defer ticker.Stop()
	defer wg.Wait()
	for {
		mu.Lock()
		free := s.opts.Workers - inFlight
		mu.Unlock()
		if free > 0 {
			now := time.Now()
			claimed, err := s.repo.ClaimDue(ctx, now, free, now.Add(s.opts.Timeout+leaseMargin))
			if err != nil && ctx.Err() == nil {
				s.log.Warn("claiming due webhook deliveries failed", "error", err)
			}
			for _, c := range claimed {
				mu.Lock()
				inFlight++
				mu.Unlock()
				wg.Add(1)
				go func(c store.ClaimedDelivery) {
					defer wg.Done()
					s.deliver(ctx, c)
					mu.Lock()
					inFlight--
					mu.Unlock()
					select {
					case done <- struct{}{}:
					default:
					}
				}(c)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-s.wake:
		case <-done:
		}
	}
}

// outcome of one attempt.
type outcome struct {
	status     int
	err        string
	retryable  bool
	retryAfter time.Duration
}

func (s *Service) deliver(ctx context.Context, c store.ClaimedDelivery) {
	log := s.log.With("webhook_id", c.SubscriptionID, "delivery_id", c.ID, "event_type", c.EventType)
	secret, err := s.sealer.open(c.SubscriptionID, c.SecretCiphertext)
	var out outcome
	if err != nil {
		out = outcome{err: err.Error()}
	} else {
		out = s.send(ctx, c, secret)
	}
	// The outcome is recorded even when ctx ended during the request, but
	// a request cut short by shutdown is given back rather than counted.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ctx.Err() != nil && out.status == 0 {
		if err := s.repo.Release(rctx, c.ID); err != nil && store.Code(err) != store.CodeWebhookDeliveryNotFound {
			log.Warn("releasing webhook delivery failed", "error", err)
		}
		return
	}
	attempt := c.Attempts + 1
	switch {
	case out.status >= 200 && out.status < 300:
		err = s.repo.MarkSucceeded(rctx, c.ID, out.status, time.Now())
		log.Debug("webhook delivered", "status", out.status, "attempt", attempt)
	case out.retryable && attempt <= len(s.opts.Schedule):
		wait := max(s.opts.Schedule[attempt-1], out.retryAfter)
		err = s.repo.MarkRetry(rctx, c.ID, time.Now().Add(wait), out.status, out.err)
		log.Info("webhook delivery failed, will retry", "status", out.status, "error", out.err, "attempt", attempt,
			"retry_in", wait)
	default:
		err = s.repo.MarkDead(rctx, c.ID, out.status, out.err)
		log.Warn("webhook delivery dead", "status", out.status, "error", out.err, "attempt", attempt)
	}
	if err != nil && store.Code(err) != store.CodeWebhookDeliveryNotFound {
		// The lease runs out and the delivery is sent again: at least once.
		log.Warn("recording the webhook delivery outcome failed", "error", err)
	}
}

func (s *Service) send(ctx context.Context, c store.ClaimedDelivery, secret string) outcome {
	body := []byte(c.Payload)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	rctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: fmt.Sprintf("building the request: %v", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set("X-Factflow-Event", c.EventType)
	req.Header.Set("X-Factflow-Delivery", c.ID)
	req.Header.Set("X-Factflow-Timestamp", ts)
	req.Header.Set("X-Factflow-Signature", Sign(secret, ts, body))
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrBlocked) {
			return outcome{err: "target refused by the SSRF guard: " + blockedMessage(err)}
		}
		return outcome{err: "request failed: " + transportError(err), retryable: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	out := outcome{status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return out
	}
	out.err = "HTTP " + resp.Status
	if s := strings.TrimSpace(string(snippet)); s != "" {
		out.err += ": " + strings.ToValidUTF8(s, "")
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode >= 500:
		out.retryable = true
	case resp.StatusCode == http.StatusTooManyRequests:
		out.retryable = true
		out.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return out
}

func blockedMessage(err error) string {
	var be *netguard.BlockedError
	if errors.As(err, &be) {
		return be.Error() + " (" + be.Hint() + ")"
	}
	return err.Error()
}

// transportError describes a failed request without its URL: receivers
// often take a token in the path or query of the webhook URL, and the
// message is logged and stored with the delivery.
func transportError(err error) string {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
