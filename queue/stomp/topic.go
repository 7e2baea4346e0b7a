package stomp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	stomp "github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"

	"github.com/factflow/factflow/queue"
)

const (
	// multicastPrefix is the acceptor's multicastPrefix (Artemis) and the
	// topic prefix of ActiveMQ Classic: /topic/x is the multicast address x.
	multicastPrefix = "/topic/"
	// topicPrefix keeps topic addresses apart from the work queues
	// (factflow.<execution>.<queue>), so no execution's queue ever shares
	// an address with a topic.
	topicPrefix = "factflow-topic."
)

// topicDestination is the STOMP destination of topic:
// /topic/factflow-topic.<topic>.
func topicDestination(topic string) (string, error) {
	if err := queue.ValidateName(topic); err != nil {
		return "", codedError(codeInvalidName, "topic names use letters, digits and _ . : - without empty dot-separated segments", err)
	}
	if strings.Contains(topic, "::") {
		// Artemis reads address::queue as a fully qualified queue name.
		return "", codedError(codeInvalidName, "topic names must not contain ::", fmt.Errorf("topic name %q contains ::", topic))
	}
	return multicastPrefix + topicPrefix + topic, nil
}

// PublishTopic multicasts msg to whoever subscribes to topic now and
// returns once the broker acknowledged it with a receipt. Topic messages
// are not persistent and nothing is kept for later subscribers: topics are
// feeds. A send whose receipt was lost with the connection is sent again
// (at least once).
func (p *Provider) PublishTopic(ctx context.Context, topic string, msg queue.Message) error {
	dest, err := topicDestination(topic)
	if err != nil {
		return fmt.Errorf("publishing to topic %q: %w", topic, err)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publishing to topic %s: %w", topic, err)
	}
	id := msg.ID
	if id == "" {
		id = msg.Headers[queue.HeaderMessageID]
	}
	if id == "" {
		id = queue.NewMessageID()
	}
	if size := messageSize(msg); size > p.cfg.MaxMessageSize {
		return codedError(codeTooLarge, "keep messages small; put large payloads into storage and send a reference",
			fmt.Errorf("publishing to topic %s: %w: %d bytes, limit %d", topic, queue.ErrMessageTooLarge, size, p.cfg.MaxMessageSize))
	}
	opts := []func(*frame.Frame) error{
		stomp.SendOpt.Receipt,
		stomp.SendOpt.Header("persistent", "false"),
		stomp.SendOpt.Header(userHeaderPrefix+queue.HeaderMessageID, id),
	}
	for k, v := range msg.Headers {
		if k != queue.HeaderMessageID {
			opts = append(opts, stomp.SendOpt.Header(userHeaderPrefix+k, v))
		}
	}
	for n := 0; ; n++ {
		c, err := p.publisher(ctx)
		if err == nil {
			if err = sendCtx(ctx, c, dest, msg.Body, opts); err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("publishing to topic %s: %w", topic, ctx.Err())
			}
			p.dropPublisher(c)
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publishing to topic %s: %w (last error: %v)", topic, ctx.Err(), err)
		case <-time.After(p.backoff(n)):
		}
	}
}

// SubscribeTopic calls h for every message published to topic from now
// on, until the returned function is called or the provider closed. The
// subscription owns a connection with a non-durable, auto-acknowledged
// subscription to /topic/factflow-topic.<topic>; h runs on one goroutine,
// in publication order. ctx bounds the setup only.
//
// On Artemis, the address setting of factflow-topic.# must make
// default-queue-routing-type (and default-address-routing-type)
// MULTICAST: Artemis creates a STOMP subscriber's queue with the
// address's default routing type, and an anycast one never receives what
// is sent to /topic/…. ActiveMQ Classic needs nothing.
//
// Topics are feeds: when the connection is lost the broker drops the
// subscription, and the subscription's supervisor subscribes again on a
// new connection, so what is published meanwhile is missed. Unsubscribing
// is idempotent and does not wait for a call of h that is running; h is
// not called after it.
func (p *Provider) SubscribeTopic(ctx context.Context, topic string, h func(queue.Message)) (unsubscribe func() error, err error) {
	dest, err := topicDestination(topic)
	if err != nil {
		return nil, fmt.Errorf("subscribing to topic %q: %w", topic, err)
	}
	if h == nil {
		return nil, fmt.Errorf("subscribing to topic %s: no handler", topic)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	t := &topicSub{p: p, topic: topic, dest: dest, h: h, done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	conn, sub, err := t.connect(ctx)
	if err != nil {
		t.cancel()
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	if !p.topics.Add(t) {
		t.cancel()
		t.disconnect(conn, sub, true)
		return nil, ErrClosed
	}
	go t.run(conn, sub)
	return t.unsubscribe, nil
}

// topicSub is one topic subscription on a connection of its own.
type topicSub struct {
	p     *Provider
	topic string
	dest  string
	h     func(queue.Message)

	ctx    context.Context // cancelled by unsubscribe and Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
}

// connect dials and subscribes. SUBSCRIBE has no answer, but the broker
// handles a connection's frames in order: the receipt of a transaction
// begun and aborted after it proves the subscription is in place, so a
// message published once SubscribeTopic returned is heard.
func (t *topicSub) connect(ctx context.Context) (*stomp.Conn, *stomp.Subscription, error) {
	conn, err := t.p.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	sub, err := conn.Subscribe(t.dest, stomp.AckAuto)
	if err != nil {
		_ = conn.MustDisconnect()
		return nil, nil, codedError(codeBroker, "", fmt.Errorf("subscribing to %s: %w", t.dest, err))
	}
	done := make(chan error, 1)
	go func() {
		tx, err := conn.BeginWithError()
		if err == nil {
			err = tx.AbortWithReceipt()
		}
		done <- err
	}()
	select {
	case err = <-done:
		if err != nil {
			t.disconnect(conn, sub, false)
		}
	case <-ctx.Done():
		err = ctx.Err()
		t.disconnect(conn, sub, false)
		<-done // the receipt wait ends with the connection
	}
	if err != nil {
		return nil, nil, codedError(codeBroker, "on Artemis, check that addresses factflow-topic.# default to multicast (see SubscribeTopic)",
			fmt.Errorf("subscribing to %s: %w", t.dest, err))
	}
	return conn, sub, nil
}

// run hands messages to h and subscribes again on a new connection
// whenever the connection is lost, until it is stopped.
func (t *topicSub) run(conn *stomp.Conn, sub *stomp.Subscription) {
	defer close(t.done)
	for {
		if !t.forward(sub) {
			t.disconnect(conn, sub, true)
			return
		}
		t.disconnect(conn, sub, false)
		t.p.reconnecting.Add(1)
		var err error
		for n := 0; ; n++ {
			select {
			case <-t.ctx.Done():
				t.p.reconnecting.Add(-1)
				return
			case <-time.After(t.p.backoff(n)):
			}
			t.p.attempts.Add(1)
			if conn, sub, err = t.connect(t.ctx); err == nil {
				break
			}
			if n == 0 || n%20 == 19 {
				t.p.cfg.Logger.Warn("re-subscribing to a topic failed; retrying with backoff",
					"topic", t.topic, "attempts", n+1, "error", err)
			}
		}
		t.p.reconnecting.Add(-1)
	}
}

// forward calls h for each message until the connection is lost (true)
// or the subscription is stopped (false).
func (t *topicSub) forward(sub *stomp.Subscription) bool {
	for {
		select {
		case m, ok := <-sub.C:
			if !ok || m.Err != nil {
				return t.ctx.Err() == nil
			}
			if t.ctx.Err() != nil {
				return false
			}
			t.p.lastMessage.Store(time.Now().UnixNano())
			t.h(topicMessage(m))
		case <-t.ctx.Done():
			return false
		}
	}
}

// disconnect closes conn, gracefully while it works (the broker then
// drops the subscription at once and logs no failed connection). go-stomp
// blocks its connection while a message waits to be read, so sub is
// drained meanwhile, until go-stomp closes it.
func (t *topicSub) disconnect(conn *stomp.Conn, sub *stomp.Subscription, graceful bool) {
	drained := make(chan struct{})
	go func() {
		for range sub.C {
		}
		close(drained)
	}()
	if graceful {
		_ = conn.Disconnect()
	}
	_ = conn.MustDisconnect() // a no-op after a graceful disconnect
	<-drained
}

// unsubscribe stops the subscription without waiting for it: the
// disconnect is a broker round trip, which run makes on its way out.
func (t *topicSub) unsubscribe() error {
	t.cancel()
	t.p.topics.Remove(t)
	return nil
}

func topicMessage(m *stomp.Message) queue.Message {
	h := map[string]string{}
	for i := range m.Header.Len() {
		k, v := m.Header.GetAt(i)
		if !strings.HasPrefix(k, userHeaderPrefix) {
			continue
		}
		k = strings.TrimPrefix(k, userHeaderPrefix)
		if _, seen := h[k]; !seen { // STOMP: the first repeated header wins
			h[k] = v
		}
	}
	id := h[queue.HeaderMessageID]
	if id == "" {
		// Sent by something other than Factflow.
		id = m.Header.Get(frame.MessageId)
		if id == "" {
			id = queue.NewMessageID()
		}
		h[queue.HeaderMessageID] = id
	}
	return queue.Message{ID: id, Headers: h, Body: m.Body}
}

// Stop asks the subscription to end (queue.Feed).
func (t *topicSub) Stop() { t.cancel() }

// Done is closed once the subscription ended (queue.Feed).
func (t *topicSub) Done() <-chan struct{} { return t.done }
