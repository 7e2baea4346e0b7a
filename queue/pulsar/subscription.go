package pulsar

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/factflow/factflow/queue"
)

// localHoldMax is the longest a subscription holds an early message
// itself; a message further from its time is scheduled again on the
// broker. The broker may dispatch a scheduled message up to its delayed
// delivery tick (1s by default) early.
const localHoldMax = 2 * time.Second

// maxConsumers bounds the consumers of one subscription.
const maxConsumers = 8

// layoutFor picks the consumers, the receiver queue of each (0: a
// zero-queue consumer) and the slots of a subscription.
func layoutFor(o queue.SubscribeOptions) (consumers, queueSize, slots int) {
	if o.Prefetch > o.Concurrency {
		return 1, o.Prefetch - o.Concurrency, o.Concurrency
	}
	return min(o.Concurrency, maxConsumers), 0, o.Prefetch
}

// subscription holds consumers on the topic's Shared subscription and
// never lets the broker hand it more than Prefetch unsettled messages. Each
// received message takes a slot until it is settled:
//
//   - Prefetch above Concurrency: one consumer whose receiver queue holds
//     Prefetch-Concurrency messages, read through an unbuffered channel so
//     that the client asks for more only as the handlers take them, and
//     Concurrency slots; the broker's messages are those queued plus those
//     being handled.
//   - Prefetch equal to Concurrency: zero-queue consumers (one per
//     handler, up to maxConsumers; one handler gets one, which keeps
//     publish order), each asking the broker for one message per Receive,
//     and Prefetch slots.
//
// Concurrency workers run the handler.
type subscription struct {
	p     *Provider
	dst   queue.Destination
	topic string
	opts  queue.SubscribeOptions
	h     queue.Handler
	// queueSize is each consumer's receiver queue; 0 means zero-queue
	// consumers.
	queueSize int

	work  chan inbound
	slots chan struct{} // one per message received and not yet settled
	due   chan inbound  // messages held back until their time, now due

	intakeCtx  context.Context // cancelled when intake stops
	stopIntake context.CancelFunc
	runCtx     context.Context // the handlers' context
	cancelRun  context.CancelFunc

	mu     sync.Mutex
	all    []pulsar.Consumer // every consumer not yet closed
	timers map[*time.Timer]struct{}

	reconnecting atomic.Int32 // consumers being subscribed again
	loops        sync.WaitGroup
	workers      sync.WaitGroup
	holds        sync.WaitGroup // messages held back or being scheduled again
	closeOnce    sync.Once
	closed       chan struct{}
	stopWatch    func() bool
}

// inbound is a received message with the consumer that must settle it.
type inbound struct {
	cons pulsar.Consumer
	msg  pulsar.Message
}

// Subscribe starts consuming dst on the Shared subscription opts.Group.
func (p *Provider) Subscribe(ctx context.Context, dst queue.Destination, opts queue.SubscribeOptions, h queue.Handler) (queue.Subscription, error) {
	topic, err := p.names.topic(dst)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", dst, err)
	}
	if p.isClosed() {
		return nil, ErrClosed
	}
	opts = opts.Normalized()
	consumers, queueSize, slots := layoutFor(opts)
	s := &subscription{
		p: p, dst: dst, topic: topic, opts: opts, h: h, queueSize: queueSize,
		work:   make(chan inbound, slots),
		slots:  make(chan struct{}, slots),
		due:    make(chan inbound),
		timers: map[*time.Timer]struct{}{},
		closed: make(chan struct{}),
	}
	s.intakeCtx, s.stopIntake = context.WithCancel(context.Background())
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	conss := make([]pulsar.Consumer, 0, consumers)
	for range cap(conss) {
		cons, err := s.subscribe(ctx)
		if err != nil {
			s.stopIntake()
			s.cancelRun()
			s.closeConsumers()
			return nil, err
		}
		conss = append(conss, cons)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		s.stopIntake()
		s.cancelRun()
		s.closeConsumers()
		return nil, ErrClosed
	}
	p.subs[s] = struct{}{}
	p.ensured[topic] = true // the consumer created its subscription
	p.mu.Unlock()

	for range opts.Concurrency {
		s.workers.Add(1)
		go s.worker()
	}
	for _, cons := range conss {
		s.loops.Add(1)
		go s.receive(cons)
	}
	s.stopWatch = context.AfterFunc(ctx, func() {
		hard, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Close(hard)
	})
	return s, nil
}

// subscribe creates a consumer; ctx bounds the wait, a creation that
// outlives it closes its consumer.
func (s *subscription) subscribe(ctx context.Context) (pulsar.Consumer, error) {
	type result struct {
		cons pulsar.Consumer
		err  error
	}
	done := make(chan result, 1)
	go func() {
		o := pulsar.ConsumerOptions{
			Topic:                       s.topic,
			SubscriptionName:            s.opts.Group,
			Type:                        pulsar.Shared,
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
			MaxReconnectToBroker:        &s.p.cfg.MaxReconnectToBroker,
			BackOffPolicyFunc:           s.p.clientBackoff,
			NackRedeliveryDelay:         time.Second,
		}
		if s.queueSize == 0 {
			o.EnableZeroQueueConsumer = true
		} else {
			o.ReceiverQueueSize = s.queueSize
			// Unbuffered: the client counts a message as taken (and asks
			// the broker for another) only when Receive returns it.
			o.MessageChannel = make(chan pulsar.ConsumerMessage)
		}
		cons, err := s.p.client.Subscribe(o)
		if err != nil {
			done <- result{err: codedError(codeBroker, "is the broker up and the namespace "+s.p.cfg.Tenant+"/"+s.p.cfg.Namespace+" there?",
				fmt.Errorf("subscribing %s to %s: %w", s.opts.Group, s.topic, err))}
			return
		}
		done <- result{cons: cons}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		s.p.bg.Go(func() {
			if r := <-done; r.cons != nil {
				r.cons.Close()
			}
		})
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, r.err
	}
	s.mu.Lock()
	s.all = append(s.all, r.cons)
	s.mu.Unlock()
	return r.cons, nil
}

// receive takes a slot, then a message, until intake stops. A watchdog
// probes the consumer while it waits; a consumer that is gone (the client
// gave up reconnecting, or the topic was deleted) is replaced.
func (s *subscription) receive(cons pulsar.Consumer) {
	defer s.loops.Done()
	for {
		lost := s.receiveFrom(cons)
		if !lost {
			return
		}
		s.reconnecting.Add(1)
		s.p.log.Warn("a Pulsar consumer is gone; subscribing again", "destination", s.dst.String(), "group", s.opts.Group)
		s.retire(cons)
		for n := 0; ; n++ {
			if !queue.Sleep(s.intakeCtx, s.p.reconnectDelay(n)) {
				s.reconnecting.Add(-1)
				return
			}
			s.p.attempts.Add(1)
			ctx, cancel := context.WithTimeout(s.intakeCtx, s.p.cfg.OperationTimeout)
			next, err := s.subscribe(ctx)
			cancel()
			if err == nil {
				s.p.replaced.Add(1)
				cons = next
				break
			}
		}
		s.reconnecting.Add(-1)
	}
}

// receiveFrom feeds the workers from cons until intake stops (false) or
// the consumer is lost (true).
func (s *subscription) receiveFrom(cons pulsar.Consumer) bool {
	ctx, cancel := context.WithCancel(s.intakeCtx)
	defer cancel()
	var lost atomic.Bool
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if s.watch(ctx, cons) {
			lost.Store(true)
			cancel()
		}
	}()
	defer func() { <-watchDone }()
	for {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return lost.Load()
		}
		msg, err := cons.Receive(ctx)
		if err != nil {
			<-s.slots
			if ctx.Err() != nil {
				return lost.Load()
			}
			// The consumer was closed under us.
			return true
		}
		s.p.lastMessage.Store(time.Now().UnixNano())
		in := inbound{cons: cons, msg: msg}
		if hold := time.Until(holdUntil(msg)); hold > 0 {
			s.hold(in, hold)
			continue
		}
		s.work <- in // never blocks: the slots bound what is queued
	}
}

// watch probes cons every ProbeInterval until ctx ends; it reports true
// when the consumer no longer answers.
func (s *subscription) watch(ctx context.Context, cons pulsar.Consumer) bool {
	for {
		if !queue.Sleep(ctx, s.p.cfg.ProbeInterval) {
			return false
		}
		if s.p.down.Load() {
			// The client reconnects by itself once the broker is back.
			continue
		}
		done := make(chan error, 1)
		s.p.bg.Go(func() {
			_, err := cons.GetLastMessageIDs()
			done <- err
		})
		// The request waits behind a reconnect in progress; the client
		// gives up on it after its operation timeout.
		limit := time.NewTimer(s.p.cfg.OperationTimeout + s.p.cfg.ConnectTimeout)
		select {
		case err := <-done:
			limit.Stop()
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return false
			}
			return true
		case <-limit.C:
			s.awaitProbe(done)
			return true
		case <-ctx.Done():
			limit.Stop()
			s.awaitProbe(done)
			return false
		}
	}
}

// awaitProbe lets a probe still in flight finish before the consumer may
// be closed: pulsar-client-go never answers a request that a consumer
// closing meanwhile left queued, and its goroutine would wait for ever.
// The consumer's event loop answers it within its operation timeout; the
// wait is bounded beyond that all the same.
func (s *subscription) awaitProbe(done <-chan error) {
	t := time.NewTimer(2 * (s.p.cfg.OperationTimeout + s.p.cfg.ConnectTimeout))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.p.log.Warn("a Pulsar consumer probe is still unanswered; closing the consumer anyway", "destination", s.dst.String())
	}
}

// retire closes a lost consumer in the background; its unsettled
// messages return to the subscription on the broker.
func (s *subscription) retire(cons pulsar.Consumer) {
	s.mu.Lock()
	for i, c := range s.all {
		if c == cons {
			s.all = append(s.all[:i], s.all[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	s.p.bg.Go(cons.Close)
}

// holdUntil is the earliest time msg may be handled: its not-before
// header, or the time a deferred copy was scheduled for.
func holdUntil(msg pulsar.Message) time.Time {
	props := msg.Properties()
	t := queue.Message{Headers: props}.NotBefore()
	if ns, err := strconv.ParseInt(props[propDeliverAt], 10, 64); err == nil {
		if at := time.Unix(0, ns); at.After(t) {
			t = at
		}
	}
	return t
}

// hold keeps a message the broker dispatched early: briefly in memory,
// or scheduled again on the broker when its time is further off.
func (s *subscription) hold(in inbound, d time.Duration) {
	if d > localHoldMax {
		s.holds.Go(func() {
			defer func() { <-s.slots }()
			ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
			defer cancel()
			qd := decode(in.msg, s.dst)
			c := encode(qd.Message, in.msg.Properties()[propRedelivered] == "true", holdUntil(in.msg))
			if err := s.p.send(ctx, s.topic, []*pulsar.ProducerMessage{c}); err != nil {
				in.cons.Nack(in.msg)
				return
			}
			_ = in.cons.Ack(in.msg)
		})
		return
	}
	// The slot goes back while the message waits: a held message must not
	// keep the subscription from receiving the ones due now. When its time
	// comes it is handled outside the slots, so a receive waiting for a
	// slot-bound message cannot starve it.
	<-s.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer s.holds.Done()
		s.mu.Lock()
		delete(s.timers, t)
		s.mu.Unlock()
		select {
		case s.due <- in:
		case <-s.intakeCtx.Done():
		}
	})
	s.timers[t] = struct{}{}
}

func (s *subscription) worker() {
	defer s.workers.Done()
	for {
		select {
		case <-s.intakeCtx.Done():
			return
		default:
		}
		select {
		case in := <-s.work:
			s.handle(in)
			<-s.slots
		case in := <-s.due:
			s.handle(in)
		case <-s.intakeCtx.Done():
			return
		}
	}
}

// decode turns a Pulsar message into a delivery.
func decode(msg pulsar.Message, dst queue.Destination) queue.Delivery {
	props := msg.Properties()
	h := make(map[string]string, len(props))
	for k, v := range props {
		h[k] = v
	}
	redelivered := h[propRedelivered] == "true" || msg.RedeliveryCount() > 0
	delete(h, propRedelivered)
	delete(h, propDeliverAt)
	id := h[queue.HeaderMessageID]
	if id == "" {
		// Published by something other than Factflow.
		id = msg.ID().String()
		h[queue.HeaderMessageID] = id
	}
	body := msg.Payload()
	if body == nil {
		body = []byte{}
	}
	m := queue.Message{ID: id, Headers: h, Body: body}
	return queue.Delivery{Message: m, Destination: dst, Attempt: m.Attempt(), Redelivered: redelivered}
}

func (s *subscription) handle(in inbound) {
	d := decode(in.msg, s.dst)
	out := s.h(s.runCtx, d)
	s.settle(in, d, out)
}

// settle applies the handler's outcome. Copies are published before the
// original is acknowledged, so a crash in between duplicates rather than
// loses the message; a copy that cannot be published leaves the original
// to be redelivered.
func (s *subscription) settle(in inbound, d queue.Delivery, o queue.Outcome) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	var c *pulsar.ProducerMessage
	switch o.Action {
	case queue.ActionAck, queue.ActionDeadLetter:
		// The engine has recorded a dead letter in its own store.
	case queue.ActionRetry:
		c = encode(d.Message.RetryCopy(o, time.Now()), false, time.Time{})
	case queue.ActionDefer:
		var at time.Time
		if o.Delay > 0 {
			at = time.Now().Add(o.Delay)
		}
		c = encode(d.Message, true, at)
	default:
		s.p.log.Error("handler returned an unknown outcome; redelivering the message in a second",
			"destination", s.dst.String(), "message_id", d.ID, "action", o.Action.String())
		c = encode(d.Message, true, time.Now().Add(time.Second))
	}
	if c != nil {
		if err := s.p.send(ctx, s.topic, []*pulsar.ProducerMessage{c}); err != nil {
			s.p.log.Warn("publishing a redelivery failed; the broker redelivers the message",
				"destination", s.dst.String(), "message_id", d.ID, "outcome", o.Action.String(), "error", err)
			in.cons.Nack(in.msg)
			return
		}
	}
	// Acks of a consumer that is gone are lost; the broker redelivers
	// (at least once).
	_ = in.cons.Ack(in.msg)
}

// Close stops intake at once (received messages not yet handled go back
// to the subscription), waits for running handlers until ctx is done,
// then cancels their context and waits for them to return.
func (s *subscription) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		if s.stopWatch != nil {
			s.stopWatch()
		}
		s.stopIntake()
		s.loops.Wait()
		s.mu.Lock()
		for t := range s.timers {
			if t.Stop() {
				s.holds.Done()
			}
		}
		clear(s.timers)
		s.mu.Unlock()
		workersDone := make(chan struct{})
		go func() { s.workers.Wait(); close(workersDone) }()
		select {
		case <-workersDone:
		case <-ctx.Done():
			s.cancelRun()
			<-workersDone
		}
		s.cancelRun()
		s.holds.Wait()
		s.closeConsumers()
		s.p.mu.Lock()
		delete(s.p.subs, s)
		s.p.mu.Unlock()
		close(s.closed)
	})
	return nil
}

func (s *subscription) closeConsumers() {
	s.mu.Lock()
	all := s.all
	s.all = nil
	s.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}
