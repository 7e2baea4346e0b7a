package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	pulsarq "github.com/factflow/factflow/queue/pulsar"
)

// barePulsar is bare3's shape written with pulsar-client-go: persistent
// topics, Shared subscriptions, individual acks, producers without
// batching (as the provider, so that an ack settles one message) sending
// asynchronously with up to barePulsarPending messages in flight. The
// relay acks upstream in the send callback, once the broker stored the
// downstream copy. One client (its connection pool) per stage.
type barePulsar struct {
	url string
	log io.Writer
	// cleanup deletes each run's topics through the admin API.
	cleanup *pulsarq.Provider
}

const (
	barePulsarPending  = 2048
	barePulsarReceiver = 1000 // the client's default receiver queue
)

// pulsarAdminURL adds the admin API's URL (FACTFLOW_TEST_PULSAR_ADMIN_URL)
// to a pulsar:// URL that does not name one, as the provider reads it.
func pulsarAdminURL(raw, admin string) string {
	u, err := url.Parse(raw)
	if err != nil || admin == "" || u.Query().Get("admin") != "" {
		return raw
	}
	q := u.Query()
	q.Set("admin", admin)
	u.RawQuery = q.Encode()
	return u.String()
}

func newBarePulsar(ctx context.Context, rawURL string, log io.Writer, logger *slog.Logger) (*barePulsar, error) {
	p, err := pulsarq.New(ctx, pulsarq.Config{URL: rawURL, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("connecting to Pulsar: %w", err)
	}
	u, _ := url.Parse(rawURL)
	u.RawQuery = ""
	return &barePulsar{url: u.String(), log: log, cleanup: p}, nil
}

func (b *barePulsar) close(ctx context.Context) error { return b.cleanup.Close(ctx) }

func (b *barePulsar) run(ctx context.Context, s runSpec) (*recorder, engineOutcome, error) {
	var none engineOutcome
	// The topics are factflow.<scope>.q1 and .q2, so the provider's
	// DeleteScope removes them afterwards.
	scope := "bench-" + newRunID()
	topic := func(i int) string { return fmt.Sprintf("persistent://public/default/factflow.%s.q%d", scope, i) }

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var closers []func()
	defer func() {
		cancel()
		wg.Wait()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer dcancel()
		if err := b.cleanup.DeleteScope(dctx, scope); err != nil {
			fmt.Fprintf(b.log, "pulsar/bare: deleting the run's topics: %v\n", err)
		}
	}()
	client := func() (pulsar.Client, error) {
		c, err := pulsar.NewClient(pulsar.ClientOptions{
			URL: b.url, ConnectionTimeout: 5 * time.Second, OperationTimeout: 30 * time.Second,
			Logger: plog.DefaultNopLogger(),
		})
		if err != nil {
			return nil, fmt.Errorf("pulsar client: %w", err)
		}
		closers = append(closers, c.Close)
		return c, nil
	}
	subscribe := func(c pulsar.Client, q int) (pulsar.Consumer, error) {
		cons, err := c.Subscribe(pulsar.ConsumerOptions{
			Topic: topic(q), SubscriptionName: "bench", Type: pulsar.Shared,
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
			ReceiverQueueSize:           barePulsarReceiver,
		})
		if err != nil {
			return nil, fmt.Errorf("subscribing to %s: %w", topic(q), err)
		}
		closers = append(closers, cons.Close)
		return cons, nil
	}
	producer := func(c pulsar.Client, q int) (pulsar.Producer, error) {
		p, err := c.CreateProducer(pulsar.ProducerOptions{
			Topic: topic(q), DisableBatching: true, SendTimeout: 30 * time.Second,
			MaxPendingMessages: barePulsarPending,
		})
		if err != nil {
			return nil, fmt.Errorf("producer for %s: %w", topic(q), err)
		}
		closers = append(closers, p.Close)
		return p, nil
	}

	rec := newRecorder(s.n)
	// Subscriptions first: Pulsar keeps messages only for subscriptions
	// that exist when they are published.
	sinkClient, err := client()
	if err != nil {
		return nil, none, err
	}
	sink, err := subscribe(sinkClient, 2)
	if err != nil {
		return nil, none, err
	}
	wg.Go(func() {
		for {
			m, err := sink.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil {
					rec.clientErrors.Add(1)
					fmt.Fprintf(b.log, "pulsar/bare: sink: %v\n", err)
				}
				return
			}
			rec.Arrive(bornOf(m.Payload()))
			if err := sink.Ack(m); err != nil {
				rec.clientErrors.Add(1)
			}
		}
	})

	relayClient, err := client()
	if err != nil {
		return nil, none, err
	}
	relayIn, err := subscribe(relayClient, 1)
	if err != nil {
		return nil, none, err
	}
	relayOut, err := producer(relayClient, 2)
	if err != nil {
		return nil, none, err
	}
	wg.Go(func() {
		for {
			m, err := relayIn.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil {
					rec.clientErrors.Add(1)
					fmt.Fprintf(b.log, "pulsar/bare: relay: %v\n", err)
				}
				return
			}
			relayOut.SendAsync(ctx, &pulsar.ProducerMessage{Payload: m.Payload()},
				func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
					if err != nil {
						rec.clientErrors.Add(1)
						relayIn.Nack(m)
						return
					}
					_ = relayIn.Ack(m)
				})
		}
	})

	prodClient, err := client()
	if err != nil {
		return nil, none, err
	}
	prod, err := producer(prodClient, 1)
	if err != nil {
		return nil, none, err
	}
	var sent sync.WaitGroup
	var mu sync.Mutex
	var sendErr error
	start := time.Now()
	rec.Begin(start)
	for i := range s.n {
		if !sleepUntil(ctx, dueAt(start, i, s.rate)) {
			break
		}
		sent.Add(1)
		prod.SendAsync(ctx, &pulsar.ProducerMessage{Payload: newBody(s.size)},
			func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					mu.Lock()
					sendErr = errors.Join(sendErr, err)
					mu.Unlock()
				}
				sent.Done()
			})
	}
	sent.Wait()
	if err := errors.Join(sendErr, ctx.Err()); err != nil {
		return rec, none, fmt.Errorf("publishing to %s: %w", topic(1), err)
	}
	select {
	case <-rec.done:
		return rec, none, nil
	case <-ctx.Done():
		return rec, none, fmt.Errorf("%d of %d messages reached the sink: %w", rec.count.Load(), s.n, ctx.Err())
	}
}
