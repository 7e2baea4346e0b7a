package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"
)

// bareAMQP is bare3's shape written with amqp091-go against RabbitMQ:
// durable classic queues, persistent messages, publisher confirms, manual
// acks. A connection per stage; the producer and the relay publish with
// deferred confirms and keep up to bareAMQPWindow unconfirmed; consumers
// take up to bareAMQPPrefetch unacked deliveries; the relay acks upstream
// only once the broker confirmed the downstream copy (in order, on its own
// goroutine), like bare3.
type bareAMQP struct {
	url string
	log io.Writer
}

const (
	bareAMQPPrefetch = 512
	bareAMQPWindow   = 2048
)

func (b bareAMQP) run(ctx context.Context, s runSpec) (*recorder, engineOutcome, error) {
	var none engineOutcome
	id := newRunID()
	q := func(i int) string { return fmt.Sprintf("bench.%s.q%d", id, i) }

	// The consumers end when ctx does; their goroutines are waited for
	// after the connections are closed.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var conns []*rmq.Connection
	defer func() {
		cancel()
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}()
	channel := func(name string) (*rmq.Channel, error) {
		props := rmq.NewConnectionProperties()
		props.SetClientConnectionName(name)
		c, err := rmq.DialConfig(b.url, rmq.Config{Properties: props, Heartbeat: 10 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("connecting %s to AMQP: %w", name, err)
		}
		conns = append(conns, c)
		ch, err := c.Channel()
		if err != nil {
			return nil, fmt.Errorf("opening a channel for %s: %w", name, err)
		}
		return ch, nil
	}

	admin, err := channel("bench-admin")
	if err != nil {
		return nil, none, err
	}
	for i := 1; i <= 2; i++ {
		if _, err := admin.QueueDeclare(q(i), true, false, false, false, nil); err != nil {
			return nil, none, fmt.Errorf("declaring %s: %w", q(i), err)
		}
	}
	defer func() {
		for i := 1; i <= 2; i++ {
			_, _ = admin.QueueDelete(q(i), false, false, false)
		}
	}()
	consume := func(name, queue string) (*rmq.Channel, <-chan rmq.Delivery, error) {
		ch, err := channel(name)
		if err != nil {
			return nil, nil, err
		}
		if err := ch.Qos(bareAMQPPrefetch, 0, false); err != nil {
			return nil, nil, fmt.Errorf("setting the prefetch of %s: %w", name, err)
		}
		d, err := ch.ConsumeWithContext(ctx, queue, name, false, false, false, false, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("consuming %s: %w", queue, err)
		}
		return ch, d, nil
	}
	publisher := func(name string) (*rmq.Channel, error) {
		ch, err := channel(name)
		if err != nil {
			return nil, err
		}
		if err := ch.Confirm(false); err != nil {
			return nil, fmt.Errorf("confirm mode for %s: %w", name, err)
		}
		return ch, nil
	}
	persistent := func(body []byte) rmq.Publishing {
		return rmq.Publishing{DeliveryMode: rmq.Persistent, ContentType: "application/octet-stream", Body: body}
	}

	rec := newRecorder(s.n)
	// Set first when the run returns, before its queues are deleted and
	// its connections closed: what fails from then on is the teardown, not
	// a client error.
	var ending atomic.Bool
	defer ending.Store(true)

	// Sink.
	_, sinkIn, err := consume("bench-sink", q(2))
	if err != nil {
		return nil, none, err
	}
	wg.Go(func() {
		for d := range sinkIn {
			rec.Arrive(bornOf(d.Body))
			if err := d.Ack(false); err != nil && !ending.Load() {
				rec.clientErrors.Add(1)
			}
		}
	})

	// Relay.
	_, relayIn, err := consume("bench-relay", q(1))
	if err != nil {
		return nil, none, err
	}
	relayOut, err := publisher("bench-relay-out")
	if err != nil {
		return nil, none, err
	}
	type inflight struct {
		c *rmq.DeferredConfirmation
		d rmq.Delivery
	}
	pending := make(chan inflight, bareAMQPWindow)
	wg.Go(func() {
		defer close(pending)
		for d := range relayIn {
			c, err := relayOut.PublishWithDeferredConfirmWithContext(ctx, "", q(2), false, false, persistent(d.Body))
			if err != nil {
				if !ending.Load() {
					rec.clientErrors.Add(1)
				}
				_ = d.Nack(false, true)
				continue
			}
			pending <- inflight{c, d}
		}
	})
	wg.Go(func() {
		for p := range pending {
			ok, err := p.c.WaitContext(ctx)
			if ok && err == nil {
				_ = p.d.Ack(false)
				continue
			}
			if !ending.Load() {
				rec.clientErrors.Add(1)
			}
			_ = p.d.Nack(false, true)
		}
	})

	// Producer.
	prod, err := publisher("bench-producer")
	if err != nil {
		return nil, none, err
	}
	confirms := make(chan *rmq.DeferredConfirmation, bareAMQPWindow)
	var nacked error
	var confirmer sync.WaitGroup
	confirmer.Go(func() {
		for c := range confirms {
			if ok, err := c.WaitContext(ctx); !ok || err != nil {
				nacked = errors.Join(nacked, fmt.Errorf("publish to %s not confirmed: %v", q(1), err))
			}
		}
	})
	start := time.Now()
	rec.Begin(start)
	var pubErr error
	for i := range s.n {
		if !sleepUntil(ctx, dueAt(start, i, s.rate)) {
			pubErr = ctx.Err()
			break
		}
		c, err := prod.PublishWithDeferredConfirmWithContext(ctx, "", q(1), false, false, persistent(newBody(s.size)))
		if err != nil {
			pubErr = fmt.Errorf("publishing to %s: %w", q(1), err)
			break
		}
		confirms <- c
	}
	close(confirms)
	confirmer.Wait()
	if err := errors.Join(pubErr, nacked); err != nil {
		return rec, none, err
	}
	select {
	case <-rec.done:
		return rec, none, nil
	case <-ctx.Done():
		return rec, none, fmt.Errorf("%d of %d messages reached the sink: %w", rec.count.Load(), s.n, ctx.Err())
	}
}
