package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	rmq "github.com/rabbitmq/amqp091-go"
)

// wmRun is the same work done the way a watermill user would: producer →
// q1 → router handler (returns a copy of the message for q2) → q2 → sink
// handler. The router runs watermill's usual middleware (correlation id,
// retry, recoverer) and acks a message after its handler returned and the
// router published what it produced; the publishers wait for the broker
// (JetStream PubAck, AMQP publisher confirms); queues are durable and
// messages persistent.
//
// watermill hands a subscription's messages to its handler one at a time,
// waiting for each ack, so parallelism comes from workers subscribers
// per stage (NATS: SubscribersCount in one queue group; AMQP: as many
// router handlers on the same queue, each with its own channel); the
// producer publishes from workers goroutines (each publish waits).
type wmRun struct {
	broker string // brokerNATS or brokerAMQP
	url    string
	log    io.Writer
	logger *slog.Logger
	// workers is the subscribers per stage and the producer's goroutines.
	workers int
}

// wmPubSub is one broker's watermill publisher and subscriber for a run.
type wmPubSub struct {
	pub     message.Publisher
	sub     message.Subscriber
	topics  [2]string
	cleanup func()
}

func (w wmRun) pubSub(ctx context.Context, id string, logger watermill.LoggerAdapter) (*wmPubSub, error) {
	switch w.broker {
	case brokerNATS:
		// A topic is a JetStream stream name as well as its subject.
		topics := [2]string{"WM_" + strings.ToUpper(id) + "_Q1", "WM_" + strings.ToUpper(id) + "_Q2"}
		js := wmnats.JetStreamConfig{
			AutoProvision:    true,
			AckAsync:         true, // as the bare loop: acks are not waited for
			SubscribeOptions: []nats.SubOpt{nats.DeliverAll(), nats.AckExplicit()},
		}
		pub, err := wmnats.NewPublisher(wmnats.PublisherConfig{URL: w.url, JetStream: js}, logger)
		if err != nil {
			return nil, fmt.Errorf("watermill NATS publisher: %w", err)
		}
		sub, err := wmnats.NewSubscriber(wmnats.SubscriberConfig{
			URL: w.url, QueueGroupPrefix: "bench", SubscribersCount: w.workers,
			AckWaitTimeout: 30 * time.Second, CloseTimeout: 10 * time.Second, JetStream: js,
		}, logger)
		if err != nil {
			_ = pub.Close()
			return nil, fmt.Errorf("watermill NATS subscriber: %w", err)
		}
		for _, t := range topics {
			if err := sub.SubscribeInitialize(t); err != nil {
				_ = pub.Close()
				_ = sub.Close()
				return nil, fmt.Errorf("provisioning stream %s: %w", t, err)
			}
		}
		return &wmPubSub{pub: pub, sub: sub, topics: topics, cleanup: func() { w.deleteStreams(ctx, topics) }}, nil
	case brokerAMQP:
		topics := [2]string{"bench.wm." + id + ".q1", "bench.wm." + id + ".q2"}
		cfg := wmamqp.NewDurableQueueConfig(w.url)
		cfg.Publish.ConfirmDelivery = true
		cfg.Publish.ChannelPoolSize = w.workers
		pub, err := wmamqp.NewPublisher(cfg, logger)
		if err != nil {
			return nil, fmt.Errorf("watermill AMQP publisher: %w", err)
		}
		sub, err := wmamqp.NewSubscriber(cfg, logger)
		if err != nil {
			_ = pub.Close()
			return nil, fmt.Errorf("watermill AMQP subscriber: %w", err)
		}
		for _, t := range topics {
			if err := sub.SubscribeInitialize(t); err != nil {
				_ = pub.Close()
				_ = sub.Close()
				return nil, fmt.Errorf("declaring %s: %w", t, err)
			}
		}
		return &wmPubSub{pub: pub, sub: sub, topics: topics, cleanup: func() { w.deleteQueues(topics) }}, nil
	}
	return nil, fmt.Errorf("no watermill variant for broker %s", w.broker)
}

func (w wmRun) deleteStreams(ctx context.Context, topics [2]string) {
	nc, err := nats.Connect(w.url, nats.Name("bench-admin"))
	if err != nil {
		fmt.Fprintf(w.log, "nats/wm: deleting streams: %v\n", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, t := range topics {
		_ = js.DeleteStream(dctx, t)
	}
}

func (w wmRun) deleteQueues(topics [2]string) {
	c, err := rmq.Dial(w.url)
	if err != nil {
		fmt.Fprintf(w.log, "amqp/wm: deleting queues: %v\n", err)
		return
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return
	}
	for _, t := range topics {
		_, _ = ch.QueueDelete(t, false, false, false)
	}
}

func (w wmRun) run(ctx context.Context, s runSpec) (*recorder, engineOutcome, error) {
	var none engineOutcome
	var quiet atomic.Bool
	logger := wmLogger{watermill.NewSlogLogger(w.logger), &quiet}
	ps, err := w.pubSub(ctx, newRunID(), logger)
	if err != nil {
		return nil, none, err
	}
	defer ps.cleanup()
	defer ps.sub.Close()
	defer ps.pub.Close()

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, logger)
	if err != nil {
		return nil, none, fmt.Errorf("watermill router: %w", err)
	}
	router.AddMiddleware(wmCorrelationID, wmRetry(3, 100*time.Millisecond), wmRecoverer)
	rec := newRecorder(s.n)
	relay := func(msg *message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage(watermill.NewUUID(), msg.Payload)}, nil
	}
	sink := func(msg *message.Message) error {
		rec.Arrive(bornOf(msg.Payload))
		return nil
	}
	// NATS spreads one handler's subscription over SubscribersCount
	// subscribers; AMQP needs a handler per consumer.
	handlers := 1
	if w.broker == brokerAMQP {
		handlers = w.workers
	}
	for i := range handlers {
		router.AddHandler(fmt.Sprintf("relay-%d", i), ps.topics[0], ps.sub, ps.topics[1], ps.pub, relay)
		router.AddConsumerHandler(fmt.Sprintf("sink-%d", i), ps.topics[1], ps.sub, sink)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(rctx) }()
	defer func() {
		quiet.Store(true)
		_ = router.Close()
		<-runErr
	}()
	select {
	case <-router.Running():
	case err := <-runErr:
		runErr <- err
		return nil, none, fmt.Errorf("watermill router: %w", err)
	case <-ctx.Done():
		return nil, none, ctx.Err()
	}

	senders := w.workers
	if s.rate > 0 {
		senders = 1
	}
	start := time.Now()
	rec.Begin(start)
	var next atomic.Int64
	errs := make([]error, senders)
	var wg sync.WaitGroup
	for k := range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= s.n {
					return
				}
				if !sleepUntil(ctx, dueAt(start, i, s.rate)) {
					errs[k] = ctx.Err()
					return
				}
				if err := ps.pub.Publish(ps.topics[0], message.NewMessage(watermill.NewUUID(), newBody(s.size))); err != nil {
					errs[k] = fmt.Errorf("publishing to %s: %w", ps.topics[0], err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return rec, none, err
	}
	select {
	case <-rec.done:
		return rec, none, nil
	case <-ctx.Done():
		return rec, none, fmt.Errorf("%d of %d messages reached the sink: %w", rec.count.Load(), s.n, ctx.Err())
	}
}

// The router's usual middleware. watermill's own (message/router/middleware)
// pulls in modules this repository does not carry (backoff/v5, gobreaker),
// so these are the same three in a few lines each: they cost next to
// nothing per message either way.

// wmCorrelationID copies the correlation id onto the produced messages.
func wmCorrelationID(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		id := msg.Metadata.Get("correlation_id")
		if id == "" {
			id = msg.UUID
		}
		for _, m := range out {
			m.Metadata.Set("correlation_id", id)
		}
		return out, err
	}
}

// wmRetry runs a failing handler again up to retries times, doubling the
// pause between tries.
func wmRetry(retries int, first time.Duration) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			for i, pause := 0, first; err != nil && i < retries; i, pause = i+1, 2*pause {
				select {
				case <-msg.Context().Done():
					return out, err
				case <-time.After(pause):
				}
				out, err = h(msg)
			}
			return out, err
		}
	}
}

// wmRecoverer turns a handler's panic into an error.
func wmRecoverer(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) (out []*message.Message, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic in handler: %v", r)
			}
		}()
		return h(msg)
	}
}

// wmLogger drops watermill's errors once the run is over: closing its AMQP
// publisher logs "Error closing channel" every time, which is not news.
type wmLogger struct {
	watermill.LoggerAdapter
	quiet *atomic.Bool
}

func (l wmLogger) Error(msg string, err error, fields watermill.LogFields) {
	if !l.quiet.Load() {
		l.LoggerAdapter.Error(msg, err, fields)
	}
}

func (l wmLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return wmLogger{l.LoggerAdapter.With(fields), l.quiet}
}
