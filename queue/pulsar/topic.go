package pulsar

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/factflow/factflow/queue"
)

// feedPrefix names topic feeds apart from the work queues (factflow.…),
// as on the other brokers.
const feedPrefix = "factflow-topic."

// feedTopic is the non-persistent Pulsar topic of a topic feed.
func (n naming) feedTopic(topic string) (string, error) {
	if err := queue.ValidateName(topic); err != nil {
		return "", codedError(codeInvalidName, "topic names use letters, digits and _ . : - without empty dot-separated segments", err)
	}
	return "non-persistent://" + n.tenant + "/" + n.namespace + "/" + feedPrefix + topic, nil
}

// PublishTopic multicasts msg to whoever subscribes to topic now, over
// the non-persistent topic non-persistent://<tenant>/<namespace>/factflow-topic.<topic>.
// Topics are feeds: the broker stores nothing, and a subscriber that is
// away (or reconnecting) misses what was published meanwhile.
func (p *Provider) PublishTopic(ctx context.Context, topic string, msg queue.Message) error {
	name, err := p.names.feedTopic(topic)
	if err != nil {
		return fmt.Errorf("publishing to topic %q: %w", topic, err)
	}
	if p.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publishing to topic %s: %w", topic, err)
	}
	if err := p.send(ctx, name, []*pulsar.ProducerMessage{encode(msg, false, time.Time{})}); err != nil {
		return fmt.Errorf("publishing to topic %s: %w", topic, err)
	}
	return nil
}

// SubscribeTopic calls h for every message published to topic from now
// on, until the returned function is called or the provider closed. Each
// subscriber has an exclusive subscription of its own on the feed's
// non-persistent topic; h runs on one goroutine, in publication order. ctx
// bounds the setup only. Unsubscribing is idempotent and does not wait for
// a call of h that is running; h is not called after it.
func (p *Provider) SubscribeTopic(ctx context.Context, topic string, h func(queue.Message)) (unsubscribe func() error, err error) {
	name, err := p.names.feedTopic(topic)
	if err != nil {
		return nil, fmt.Errorf("subscribing to topic %q: %w", topic, err)
	}
	if h == nil {
		return nil, fmt.Errorf("subscribing to topic %s: no handler", topic)
	}
	if p.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	f := &feed{p: p, topic: name, sub: "factflow-feed-" + queue.NewMessageID(), h: h, done: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	cons, err := f.consume(ctx)
	if err != nil {
		f.cancel()
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	if err := f.awaitReady(ctx, cons); err != nil {
		f.cancel()
		cons.Close()
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	if !p.feeds.Add(f) {
		f.cancel()
		cons.Close()
		return nil, ErrClosed
	}
	go f.run(cons)
	return f.unsubscribe, nil
}

// feed is one subscriber of a topic feed.
type feed struct {
	p     *Provider
	topic string
	sub   string
	h     func(queue.Message)

	ctx    context.Context // cancelled by unsubscribe and Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returned
	once   sync.Once
}

// Stop asks the feed to end (queue.Feed).
func (f *feed) Stop() { f.cancel() }

// Done is closed once the feed ended (queue.Feed).
func (f *feed) Done() <-chan struct{} { return f.done }

func (f *feed) unsubscribe() error {
	f.once.Do(func() {
		f.cancel()
		f.p.feeds.Remove(f)
	})
	return nil
}

// probeHeader marks the messages awaitReady publishes; every feed skips
// them.
const probeHeader = "factflow-feed-probe"

// awaitReady returns once cons hears what is published to the topic. The
// broker accepts a non-persistent subscription before the consumer's first
// flow permits reach it, and drops what it gets meanwhile, so without this
// a message published right after SubscribeTopic returned could be lost.
// A probe of this subscription's own, published until one comes back,
// proves the path is open. Messages heard before that were published
// before SubscribeTopic returned and are not owed to h.
func (f *feed) awaitReady(ctx context.Context, cons pulsar.Consumer) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.p.cfg.OperationTimeout)
		defer cancel()
	}
	probe := queue.Message{ID: queue.NewMessageID(), Headers: map[string]string{probeHeader: f.sub}}
	for {
		if err := f.p.send(ctx, f.topic, []*pulsar.ProducerMessage{encode(probe, false, time.Time{})}); err != nil {
			return fmt.Errorf("probing the new subscription: %w", err)
		}
		wait, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		for {
			msg, err := cons.Receive(wait)
			if err != nil {
				break
			}
			if decode(msg, queue.Destination{Queue: f.topic}).Message.Headers[probeHeader] == f.sub {
				cancel()
				return nil
			}
		}
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for the new subscription to hear the topic: %w", err)
		}
	}
}

// consume creates the feed's consumer; ctx bounds the wait.
func (f *feed) consume(ctx context.Context) (pulsar.Consumer, error) {
	type result struct {
		cons pulsar.Consumer
		err  error
	}
	done := make(chan result, 1)
	go func() {
		cons, err := f.p.client.Subscribe(pulsar.ConsumerOptions{
			Topic:                f.topic,
			SubscriptionName:     f.sub,
			Type:                 pulsar.Exclusive,
			MaxReconnectToBroker: &f.p.cfg.MaxReconnectToBroker,
			BackOffPolicyFunc:    f.p.clientBackoff,
		})
		done <- result{cons, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, codedError(codeBroker, "is the broker up and the namespace "+f.p.cfg.Tenant+"/"+f.p.cfg.Namespace+" there?",
				fmt.Errorf("subscribing to %s: %w", f.topic, r.err))
		}
		return r.cons, nil
	case <-ctx.Done():
		f.p.bg.Go(func() {
			if r := <-done; r.cons != nil {
				r.cons.Close()
			}
		})
		return nil, ctx.Err()
	}
}

// run hands messages to h until the feed is stopped. After the broker was
// unreachable the consumer is replaced: the client may have given up on
// it, and a non-persistent topic's consumer cannot be probed.
func (f *feed) run(cons pulsar.Consumer) {
	defer close(f.done)
	defer func() { cons.Close() }()
	for {
		if !f.receive(cons) {
			return
		}
		f.p.log.Debug("re-subscribing a topic feed after the broker was unreachable", "topic", f.topic)
		cons.Close()
		for n := 0; ; n++ {
			if !queue.Sleep(f.ctx, f.p.reconnectDelay(n)) {
				return
			}
			ctx, cancel := context.WithTimeout(f.ctx, f.p.cfg.OperationTimeout)
			next, err := f.consume(ctx)
			cancel()
			if err == nil {
				cons = next
				break
			}
		}
	}
}

// receive feeds h from cons until the feed stops (false) or the broker
// was unreachable and is back (true).
func (f *feed) receive(cons pulsar.Consumer) bool {
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	lost := make(chan struct{})
	go func() {
		wasDown := false
		for queue.Sleep(ctx, f.p.cfg.ProbeInterval) {
			switch down := f.p.down.Load(); {
			case down:
				wasDown = true
			case wasDown:
				close(lost)
				cancel()
				return
			}
		}
	}()
	for {
		msg, err := cons.Receive(ctx)
		if err != nil {
			select {
			case <-lost:
				return true
			default:
				return false
			}
		}
		f.p.lastMessage.Store(time.Now().UnixNano())
		d := decode(msg, queue.Destination{Queue: f.topic})
		if _, probe := d.Message.Headers[probeHeader]; probe {
			continue
		}
		if f.ctx.Err() == nil { // not after unsubscribe returned
			f.h(d.Message)
		}
		// No ack: a non-persistent topic keeps nothing to settle, and
		// pulsar-client-go (up to at least v0.19.0) drops every later
		// message of a consumer that acked one there, since all their
		// message ids are (0,0) (apache/pulsar-client-go#1519).
	}
}
