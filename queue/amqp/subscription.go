package amqp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/factflow/factflow/queue"
)

// subscription is one consumer on a channel of its own, re-opened on the
// next connection whenever the channel or the connection goes. Deliveries
// feed a fixed pool of Concurrency handler goroutines; basic.qos bounds
// what the broker pushes ahead of them to Prefetch.
type subscription struct {
	p       *Provider
	dst     queue.Destination
	n       names
	opts    queue.SubscribeOptions
	handler queue.Handler
	tag     string

	work chan rmq.Delivery
	held atomic.Int64 // delivered by the broker, not yet settled

	handlerCtx     context.Context // cancelled on a hard stop
	cancelHandlers context.CancelFunc
	intakeCtx      context.Context // cancelled when intake stops
	stopIntake     context.CancelFunc

	chMu sync.Mutex
	ch   *rmq.Channel // the current consumer channel

	closing   atomic.Bool
	closeOnce sync.Once
	stopWatch func() bool
	loopDone  chan struct{}
	running   atomic.Int32
	finished  chan struct{}
}

func newSubscription(ctx context.Context, p *Provider, dst queue.Destination, n names, opts queue.SubscribeOptions, h queue.Handler) *subscription {
	s := &subscription{
		p: p, dst: dst, n: n, opts: opts, handler: h,
		tag:      "factflow-" + queue.NewMessageID(),
		work:     make(chan rmq.Delivery, opts.Prefetch),
		loopDone: make(chan struct{}),
		finished: make(chan struct{}),
	}
	s.handlerCtx, s.cancelHandlers = context.WithCancel(ctx)
	s.intakeCtx, s.stopIntake = context.WithCancel(s.handlerCtx)
	return s
}

// start opens the first consumer (so that an unreachable broker or a
// refused queue fails Subscribe) and launches the goroutines.
func (s *subscription) start(ctx context.Context) error {
	sess, err := s.p.session(ctx)
	if err != nil {
		s.cancelHandlers()
		return err
	}
	deliveries, err := s.open(ctx, sess, true)
	if err != nil {
		s.cancelHandlers()
		return err
	}
	s.running.Store(int32(s.opts.Concurrency))
	for range s.opts.Concurrency {
		go s.worker()
	}
	go s.consume(deliveries)
	s.stopWatch = context.AfterFunc(ctx, s.beginClose)
	return nil
}

// open declares the queue (or, after the broker cancelled the consumer
// because the queue was deleted, only checks that it exists again), sets
// the prefetch and starts consuming on a new channel.
func (s *subscription) open(ctx context.Context, sess *session, declare bool) (<-chan rmq.Delivery, error) {
	if declare {
		sess.declared.Delete(s.n.queue)
		if err := s.p.ensureQueue(ctx, sess, s.n); err != nil {
			return nil, err
		}
	}
	ch, d, err := consumeOn(ctx, sess, func(ch *rmq.Channel) (<-chan rmq.Delivery, error) {
		if !declare {
			if _, err := ch.QueueDeclarePassive(s.n.queue, true, false, false, false, nil); err != nil {
				return nil, err
			}
		}
		if err := ch.Qos(s.opts.Prefetch, 0, false); err != nil {
			return nil, fmt.Errorf("setting prefetch %d: %w", s.opts.Prefetch, err)
		}
		d, err := ch.Consume(s.n.queue, s.tag, false, false, false, false, nil)
		if err != nil {
			return nil, fmt.Errorf("consuming %s: %w", s.n.queue, err)
		}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	s.chMu.Lock()
	s.ch = ch
	s.chMu.Unlock()
	return d, nil
}

// consumeOn opens a channel on sess and starts a consumer on it with
// setup. amqp091 calls take no context, so they run apart from the caller
// and ctx bounds the wait; a channel that comes too late, or whose setup
// failed, is closed.
func consumeOn(ctx context.Context, sess *session, setup func(*rmq.Channel) (<-chan rmq.Delivery, error)) (*rmq.Channel, <-chan rmq.Delivery, error) {
	type result struct {
		ch  *rmq.Channel
		d   <-chan rmq.Delivery
		err error
	}
	done := make(chan result, 1)
	go func() {
		ch, err := sess.conn.Channel()
		if err != nil {
			done <- result{err: err}
			return
		}
		d, err := setup(ch)
		if err != nil {
			_ = ch.Close()
			done <- result{err: err}
			return
		}
		done <- result{ch: ch, d: d}
	}()
	select {
	case r := <-done:
		return r.ch, r.d, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.ch != nil {
				_ = r.ch.Close()
			}
		}()
		return nil, nil, ctx.Err()
	}
}

// consume moves deliveries to the handlers and re-opens the consumer when
// its channel goes, until intake stops.
func (s *subscription) consume(deliveries <-chan rmq.Delivery) {
	defer close(s.loopDone)
	defer close(s.work)
	for failures := 0; ; {
		cancelled := s.pump(deliveries)
		if s.intakeCtx.Err() != nil {
			return
		}
		if cancelled {
			s.chMu.Lock()
			_ = s.ch.Close()
			s.chMu.Unlock()
		}
		// The channel or connection went (declare again: a restarted
		// broker may have lost a non-replicated queue's definition), or
		// the broker cancelled the consumer because the queue was
		// deleted: wait until someone uses the queue again.
		for {
			if failures > 0 && !queue.Sleep(s.intakeCtx, retryPause(failures-1)) {
				return
			}
			sess, err := s.p.session(s.intakeCtx)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(s.intakeCtx, 10*time.Second)
			deliveries, err = s.open(ctx, sess, !cancelled)
			cancel()
			if err == nil {
				failures = 0
				break
			}
			if s.intakeCtx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%20 == 0 {
				s.p.log.Warn("re-opening the consumer failed; retrying with backoff",
					"destination", s.dst.String(), "failures", failures, "error", err)
			}
		}
	}
}

// pump forwards deliveries until the channel closes (false) or the broker
// cancels the consumer while the channel stays open (true). When intake
// stops it cancels the consumer and returns what the broker still sent.
func (s *subscription) pump(deliveries <-chan rmq.Delivery) (cancelled bool) {
	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				s.chMu.Lock()
				ch := s.ch
				s.chMu.Unlock()
				return ch != nil && !ch.IsClosed()
			}
			s.held.Add(1)
			s.p.lastMessage.Store(time.Now().UnixNano())
			select {
			case s.work <- d:
			case <-s.intakeCtx.Done():
				s.requeue(d)
			}
		case <-s.intakeCtx.Done():
			s.chMu.Lock()
			ch := s.ch
			s.chMu.Unlock()
			if ch != nil && !ch.IsClosed() {
				cancelDone := make(chan struct{})
				go func() {
					_ = ch.Cancel(s.tag, false)
					close(cancelDone)
				}()
				for {
					select {
					case d, ok := <-deliveries:
						if !ok {
							return false
						}
						s.held.Add(1)
						s.requeue(d)
						continue
					case <-cancelDone:
					}
					break
				}
				// Whatever raced the cancel.
				for {
					select {
					case d, ok := <-deliveries:
						if ok {
							s.held.Add(1)
							s.requeue(d)
							continue
						}
					default:
					}
					break
				}
			}
			return false
		}
	}
}

// requeue returns a delivery not handed to a handler to the queue.
func (s *subscription) requeue(d rmq.Delivery) {
	_ = d.Nack(false, true)
	s.held.Add(-1)
}

// Close stops intake at once (messages not yet handed to a handler go
// back to the queue), waits for running handlers until ctx is done, then
// cancels their context and waits for them to return. Messages are
// settled as their handlers decide; an interrupted handler should return
// Defer(0).
func (s *subscription) Close(ctx context.Context) error {
	if s.stopWatch != nil {
		s.stopWatch()
	}
	s.beginClose()
	select {
	case <-s.finished:
	case <-ctx.Done():
		s.cancelHandlers()
		<-s.finished
	}
	return nil
}

func (s *subscription) beginClose() {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.stopIntake()
		<-s.loopDone
	})
}

func (s *subscription) worker() {
	defer func() {
		if s.running.Add(-1) == 0 {
			s.cancelHandlers()
			s.chMu.Lock()
			if s.ch != nil {
				_ = s.ch.Close()
			}
			s.chMu.Unlock()
			s.p.forget(s)
			close(s.finished)
		}
	}()
	for d := range s.work {
		s.process(d)
		s.held.Add(-1)
	}
}

func (s *subscription) process(d rmq.Delivery) {
	if ch, ok := d.Acknowledger.(*rmq.Channel); ok && ch.IsClosed() {
		// Its channel is gone: the broker has already put it back.
		return
	}
	if s.closing.Load() {
		_ = d.Nack(false, true)
		return
	}
	del, hold := s.delivery(d)
	if hold > 0 {
		s.delay(d, del, hold, false)
		return
	}
	s.settle(d, del, s.handler(s.handlerCtx, del))
}

// delivery decodes d. A positive hold means the message must not be
// delivered yet (a not-before time or a deferral that a delay bucket
// returned early).
func (s *subscription) delivery(d rmq.Delivery) (queue.Delivery, time.Duration) {
	hdr := map[string]string{}
	if t, ok := d.Headers[headersKey].(rmq.Table); ok {
		for k, v := range t {
			if sv, ok := v.(string); ok {
				hdr[k] = sv
			}
		}
	}
	msg := queue.Message{ID: hdr[queue.HeaderMessageID], Headers: hdr, Body: d.Body}
	if msg.ID == "" {
		// Published by something other than Factflow.
		msg.ID = d.MessageId
		if msg.ID == "" {
			msg.ID = fmt.Sprintf("%s:%d", s.n.queue, d.DeliveryTag)
		}
		hdr[queue.HeaderMessageID] = msg.ID
	}
	if msg.Body == nil {
		msg.Body = []byte{}
	}
	notBefore := msg.NotBefore()
	if ns, ok := d.Headers[holdUntilKey].(int64); ok {
		if t := time.Unix(0, ns); t.After(notBefore) {
			notBefore = t
		}
	}
	var hold time.Duration
	if !notBefore.IsZero() {
		hold = time.Until(notBefore)
	}
	deferred, _ := d.Headers[redeliveredKey].(bool)
	return queue.Delivery{
		Message:     msg,
		Destination: s.dst,
		Attempt:     msg.Attempt(),
		Redelivered: d.Redelivered || deferred,
	}, hold
}

// settle applies the handler's outcome.
func (s *subscription) settle(d rmq.Delivery, del queue.Delivery, o queue.Outcome) {
	var err error
	switch o.Action {
	case queue.ActionAck:
		err = d.Ack(false)
	case queue.ActionRetry:
		s.retry(d, del, o)
		return
	case queue.ActionDefer:
		if o.Delay <= 0 {
			err = d.Nack(false, true)
			break
		}
		s.delay(d, del, o.Delay, true)
		return
	case queue.ActionDeadLetter:
		// The engine recorded the dead letter; the work queue has no
		// dead-letter exchange, so rejecting drops it.
		err = d.Reject(false)
	default:
		s.p.log.Error("handler returned an unknown outcome; redelivering the message in a second",
			"destination", s.dst.String(), "message_id", del.ID, "action", o.Action.String())
		s.delay(d, del, time.Second, true)
		return
	}
	s.settled(del, err)
}

func (s *subscription) settled(del queue.Delivery, err error) {
	if err == nil || errors.Is(err, rmq.ErrClosed) {
		// A closed channel: the broker redelivers whatever was not settled.
		return
	}
	s.p.log.Warn("settling a message failed; the broker redelivers it",
		"destination", s.dst.String(), "message_id", del.ID, "error", err)
}

// retry publishes a copy with one more attempt through a delay bucket,
// then acks the original. Publishing first means a crash in between
// duplicates the message instead of losing it.
func (s *subscription) retry(d rmq.Delivery, del queue.Delivery, o queue.Outcome) {
	c := del.Message.RetryCopy(o, time.Now())
	if err := s.republish(c, false, time.Time{}, o.Delay); err != nil {
		s.p.log.Warn("publishing a retry failed; the message comes back without counting the attempt",
			"destination", s.dst.String(), "message_id", del.ID, "error", err)
		s.settled(del, d.Nack(false, true))
		return
	}
	s.settled(del, d.Ack(false))
}

// delay holds a message back for wait: a copy goes through a delay bucket,
// then the original is acked. A deferral marks the copy as redelivered; a
// message held for its not-before time stays a first delivery.
func (s *subscription) delay(d rmq.Delivery, del queue.Delivery, wait time.Duration, deferral bool) {
	until := time.Now().Add(wait)
	redelivered := del.Redelivered || deferral
	if err := s.republish(del.Message, redelivered, until, wait); err != nil {
		s.p.log.Warn("delaying a message failed; it comes back at once",
			"destination", s.dst.String(), "message_id", del.ID, "error", err)
		s.settled(del, d.Nack(false, true))
		return
	}
	s.settled(del, d.Ack(false))
}

func (s *subscription) republish(m queue.Message, redelivered bool, holdUntil time.Time, wait time.Duration) error {
	pub, err := s.p.encode(&m, redelivered, holdUntil)
	if err != nil {
		return err
	}
	o := outgoing{pub: pub}
	if wait > 0 {
		o.exchange = delayName(bucketFor(wait))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.handlerCtx), settleTimeout)
	defer cancel()
	return s.p.send(ctx, s.n, []outgoing{o})
}
