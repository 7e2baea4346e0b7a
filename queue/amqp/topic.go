package amqp

import (
	"context"
	"fmt"
	"sync"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/factflow/factflow/queue"
)

const (
	// topicPrefix names topic exchanges apart from the work queues
	// (factflow.…) and the delay buckets (factflow-delay.…).
	topicPrefix = "factflow-topic."
	// topicPrefetch bounds the messages the broker pushes ahead of a
	// topic handler; the rest of a slow subscriber's backlog waits in its
	// queue on the broker.
	topicPrefetch = 256
	// topicOpenTimeout bounds re-opening a topic subscription after a
	// reconnect.
	topicOpenTimeout = 10 * time.Second
)

func topicExchange(topic string) (string, error) {
	if err := queue.ValidateName(topic); err != nil {
		return "", codedError(codeInvalidName, "topic names use letters, digits and _ . : - without empty dot-separated segments", err)
	}
	return topicPrefix + topic, nil
}

// declareTopic declares topic's fanout exchange. It is not durable: topics
// are feeds, nothing of them outlives a broker restart, and the provider
// declares the exchange again on its next connection.
func declareTopic(ch *rmq.Channel, exchange string) error {
	if err := ch.ExchangeDeclare(exchange, rmq.ExchangeFanout, false, false, false, false, nil); err != nil {
		return fmt.Errorf("declaring topic exchange %s: %w", exchange, err)
	}
	return nil
}

// ensureTopic declares topic's exchange once per connection.
func (p *Provider) ensureTopic(ctx context.Context, s *session, exchange string) error {
	if _, ok := s.declared.Load(exchange); ok {
		return nil
	}
	if err := p.admin(ctx, s, func(ch *rmq.Channel) error { return declareTopic(ch, exchange) }); err != nil {
		return err
	}
	s.declared.Store(exchange, struct{}{})
	return nil
}

// PublishTopic multicasts msg to every queue bound to topic's fanout
// exchange factflow-topic.<topic>, i.e. to whoever subscribes to it now,
// and returns once the broker confirmed it. Topic messages are transient
// and nothing is kept for later subscribers: topics are feeds. A publish
// whose confirm was lost with the connection is sent again (at least
// once).
func (p *Provider) PublishTopic(ctx context.Context, topic string, msg queue.Message) error {
	exchange, err := topicExchange(topic)
	if err != nil {
		return fmt.Errorf("publishing to topic %q: %w", topic, err)
	}
	if p.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publishing to topic %s: %w", topic, err)
	}
	pub, err := p.encode(&msg, false, time.Time{})
	if err != nil {
		return fmt.Errorf("publishing to topic %s: %w", topic, err)
	}
	pub.DeliveryMode = rmq.Transient
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !queue.Sleep(ctx, retryPause(attempt-1)) {
			return fmt.Errorf("publishing to topic %s: %w", topic, ctx.Err())
		}
		s, err := p.session(ctx)
		if err != nil {
			return fmt.Errorf("publishing to topic %s: %w", topic, err)
		}
		if err := p.ensureTopic(ctx, s, exchange); err != nil {
			if permanent(err) || ctx.Err() != nil {
				return fmt.Errorf("publishing to topic %s: %w", topic, err)
			}
			continue
		}
		done, err := p.publishTopicOnce(ctx, s, exchange, pub)
		if err != nil {
			return fmt.Errorf("publishing to topic %s: %w", topic, err)
		}
		if done {
			return nil
		}
		// The exchange may be what failed (deleted behind our back):
		// declare it again with the next try.
		s.declared.Delete(exchange)
	}
}

// publishTopicOnce publishes on a pooled channel and waits for the
// confirm; false asks for another try.
func (p *Provider) publishTopicOnce(ctx context.Context, s *session, exchange string, pub rmq.Publishing) (bool, error) {
	ch, err := s.channel()
	if err != nil {
		return false, nil // the connection is going; the session wait handles it
	}
	c, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, "", false, false, pub)
	if err != nil {
		_ = ch.Close()
		return false, ctx.Err()
	}
	ok, err := c.WaitContext(ctx)
	if err != nil {
		_ = ch.Close()
		return false, err
	}
	if !ok {
		_ = ch.Close()
		return false, nil
	}
	s.release(ch)
	return true, nil
}

// SubscribeTopic calls h for every message published to topic from now
// on, until the returned function is called or the provider closed. The
// subscriber consumes a server-named, exclusive, auto-delete queue bound
// to the topic's exchange, on a channel of its own; h runs on one
// goroutine, in publication order. ctx bounds the setup only.
//
// Topics are feeds: when the connection is lost the queue goes with it,
// and the subscription binds a new one on the next connection, so what is
// published meanwhile is missed. Unsubscribing is idempotent and does not
// wait for a call of h that is running; h is not called after it.
func (p *Provider) SubscribeTopic(ctx context.Context, topic string, h func(queue.Message)) (unsubscribe func() error, err error) {
	exchange, err := topicExchange(topic)
	if err != nil {
		return nil, fmt.Errorf("subscribing to topic %q: %w", topic, err)
	}
	if h == nil {
		return nil, fmt.Errorf("subscribing to topic %s: no handler", topic)
	}
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	t := &topicSub{p: p, topic: topic, exchange: exchange, h: h, done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	s, err := p.session(ctx)
	if err != nil {
		t.cancel()
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	deliveries, err := t.open(ctx, s)
	if err != nil {
		t.cancel()
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	if !p.topics.Add(t) {
		t.cancel()
		t.closeChannel()
		return nil, ErrClosed
	}
	go t.run(deliveries)
	return t.unsubscribe, nil
}

// topicSub is one topic subscription, re-opened on every new connection.
type topicSub struct {
	p        *Provider
	topic    string
	exchange string
	h        func(queue.Message)

	ctx    context.Context // cancelled by unsubscribe and Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned

	chMu sync.Mutex
	ch   *rmq.Channel
}

// open binds a new queue to the exchange and consumes it on a new channel.
func (t *topicSub) open(ctx context.Context, s *session) (<-chan rmq.Delivery, error) {
	ch, d, err := consumeOn(ctx, s, func(ch *rmq.Channel) (<-chan rmq.Delivery, error) {
		if err := declareTopic(ch, t.exchange); err != nil {
			return nil, err
		}
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return nil, fmt.Errorf("declaring a queue for topic %s: %w", t.topic, err)
		}
		if err := ch.QueueBind(q.Name, "", t.exchange, false, nil); err != nil {
			return nil, fmt.Errorf("binding %s to %s: %w", q.Name, t.exchange, err)
		}
		if err := ch.Qos(topicPrefetch, 0, false); err != nil {
			return nil, fmt.Errorf("setting prefetch %d: %w", topicPrefetch, err)
		}
		d, err := ch.Consume(q.Name, "", false, true, false, false, nil)
		if err != nil {
			return nil, fmt.Errorf("consuming %s: %w", q.Name, err)
		}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	t.chMu.Lock()
	t.ch = ch
	t.chMu.Unlock()
	return d, nil
}

// run hands deliveries to h and re-opens the subscription on the next
// connection whenever its channel goes, until it is stopped.
func (t *topicSub) run(deliveries <-chan rmq.Delivery) {
	defer close(t.done)
	defer t.closeChannel()
	for {
		if !t.pump(deliveries) {
			return
		}
		var err error
		for failures := 0; ; failures++ {
			if failures > 0 && !queue.Sleep(t.ctx, retryPause(failures-1)) {
				return
			}
			var s *session
			if s, err = t.p.session(t.ctx); err != nil {
				return // stopped or the provider closed
			}
			ctx, cancel := context.WithTimeout(t.ctx, topicOpenTimeout)
			deliveries, err = t.open(ctx, s)
			cancel()
			if err == nil {
				break
			}
			if t.ctx.Err() != nil {
				return
			}
			if failures == 0 || failures%20 == 19 {
				t.p.log.Warn("re-opening a topic subscription failed; retrying with backoff",
					"topic", t.topic, "failures", failures+1, "error", err)
			}
		}
	}
}

// pump calls h for each delivery until the channel closes (true) or the
// subscription is stopped (false).
func (t *topicSub) pump(deliveries <-chan rmq.Delivery) bool {
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return t.ctx.Err() == nil
			}
			if t.ctx.Err() != nil {
				return false
			}
			t.p.lastMessage.Store(time.Now().UnixNano())
			t.h(topicMessage(d))
			// The ack only paces the broker (basic.qos): the queue dies
			// with the connection anyway.
			_ = d.Ack(false)
		case <-t.ctx.Done():
			return false
		}
	}
}

func (t *topicSub) closeChannel() {
	t.chMu.Lock()
	defer t.chMu.Unlock()
	if t.ch != nil && !t.ch.IsClosed() {
		_ = t.ch.Close()
	}
}

// unsubscribe stops the subscription without waiting for it: closing the
// channel is a broker round trip, which run makes on its way out.
func (t *topicSub) unsubscribe() error {
	t.cancel()
	t.p.topics.Remove(t)
	return nil
}

func topicMessage(d rmq.Delivery) queue.Message {
	hdr := map[string]string{}
	if tbl, ok := d.Headers[headersKey].(rmq.Table); ok {
		for k, v := range tbl {
			if s, ok := v.(string); ok {
				hdr[k] = s
			}
		}
	}
	id := hdr[queue.HeaderMessageID]
	if id == "" {
		// Published by something other than Factflow.
		id = d.MessageId
		if id == "" {
			id = queue.NewMessageID()
		}
		hdr[queue.HeaderMessageID] = id
	}
	return queue.Message{ID: id, Headers: hdr, Body: d.Body}
}

// Stop asks the subscription to end (queue.Feed).
func (t *topicSub) Stop() { t.cancel() }

// Done is closed once the subscription ended (queue.Feed).
func (t *topicSub) Done() <-chan struct{} { return t.done }
