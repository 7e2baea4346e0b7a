package stomp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	stomp "github.com/go-stomp/stomp/v3"

	"github.com/factflow/factflow/queue"
)

// subscription owns one STOMP connection, re-established by its own
// supervisor after a broker restart. On Artemis it holds Prefetch STOMP
// subscriptions on the queue, each with a consumer window of one byte:
// Artemis counts the window in bytes and always delivers one message while
// credit is positive, so every STOMP subscription holds exactly one
// unsettled message and the connection holds at most Prefetch. On
// ActiveMQ Classic one STOMP subscription with a prefetch size of Prefetch
// messages does the same.
type subscription struct {
	p    *Provider
	dst  queue.Destination
	name string
	opts queue.SubscribeOptions
	h    queue.Handler

	work chan delivery

	stopIntake context.CancelFunc // stops the supervisor and intake
	intakeCtx  context.Context
	cancelRun  context.CancelFunc // cancels the handlers' contexts
	runCtx     context.Context

	supervisor sync.WaitGroup
	workers    sync.WaitGroup
	closeOnce  sync.Once
	closed     chan struct{}
	// finalConn is the connection the workers settle on after intake
	// stopped; Close disconnects it once they are done.
	finalConn *stomp.Conn
}

type delivery struct {
	conn *stomp.Conn
	msg  *stomp.Message
}

// Subscribe starts consuming dst. Its handlers and prefetch are spread
// over up to Config.SubscribeConnections connections, each a subscription
// of its own: a broker handles the frames of one connection one after
// another, so one connection settles one durable message at a time.
func (p *Provider) Subscribe(ctx context.Context, dst queue.Destination, opts queue.SubscribeOptions, h queue.Handler) (queue.Subscription, error) {
	name, err := queueName(dst)
	if err != nil {
		return nil, err
	}
	parts := spread(opts.Normalized(), p.cfg.SubscribeConnections)
	subs := make(spreadSubscription, 0, len(parts))
	for _, o := range parts {
		s, err := p.subscribeOne(ctx, dst, name, o, h)
		if err != nil {
			hard, cancel := context.WithCancel(context.Background())
			cancel()
			_ = subs.Close(hard)
			return nil, err
		}
		subs = append(subs, s)
	}
	return subs, nil
}

// spread splits o's handlers and prefetch over at most conns parts, each
// with at least one handler and no less prefetch than handlers; the parts
// add up to o. One handler stays one part, which keeps publish order.
func spread(o queue.SubscribeOptions, conns int) []queue.SubscribeOptions {
	k := max(1, min(o.Concurrency, conns))
	parts := make([]queue.SubscribeOptions, k)
	for i := range parts {
		c, pf := o.Concurrency/k, o.Prefetch/k
		if i < o.Concurrency%k {
			c++
		}
		if i < o.Prefetch%k {
			pf++
		}
		parts[i] = queue.SubscribeOptions{Concurrency: c, Prefetch: pf, Group: o.Group}
	}
	return parts
}

// spreadSubscription is a subscription spread over several connections.
type spreadSubscription []*subscription

// Close closes every part at once (see subscription.Close).
func (ss spreadSubscription) Close(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Go(func() { _ = s.Close(ctx) })
	}
	wg.Wait()
	return nil
}

// subscribeOne starts one part of a subscription on a connection of its
// own.
func (p *Provider) subscribeOne(ctx context.Context, dst queue.Destination, name string, opts queue.SubscribeOptions, h queue.Handler) (*subscription, error) {
	s := &subscription{p: p, dst: dst, name: name, opts: opts, h: h, work: make(chan delivery), closed: make(chan struct{})}
	s.intakeCtx, s.stopIntake = context.WithCancel(context.Background())
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())

	conn, subs, err := s.connect(ctx)
	if err != nil {
		s.stopIntake()
		s.cancelRun()
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = conn.MustDisconnect()
		s.stopIntake()
		s.cancelRun()
		return nil, ErrClosed
	}
	p.subs[s] = struct{}{}
	p.mu.Unlock()

	for range opts.Concurrency {
		s.workers.Add(1)
		go s.worker()
	}
	s.supervisor.Add(1)
	go s.supervise(conn, subs)
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				hard, cancel := context.WithCancel(context.Background())
				cancel()
				_ = s.Close(hard)
			case <-s.closed:
			}
		}()
	}
	return s, nil
}

// connect dials and opens the STOMP subscriptions that hold up to Prefetch
// messages.
func (s *subscription) connect(ctx context.Context) (*stomp.Conn, []*stomp.Subscription, error) {
	conn, err := s.p.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	n, window := s.p.prefetchSubscriptions(s.opts.Prefetch)
	subs := make([]*stomp.Subscription, 0, n)
	for range n {
		sub, err := conn.Subscribe(anycastPrefix+s.name, stomp.AckClientIndividual, window)
		if err != nil {
			_ = conn.MustDisconnect()
			return nil, nil, codedError(codeBroker, "", fmt.Errorf("subscribing to %s: %w", s.name, err))
		}
		subs = append(subs, sub)
	}
	if err := receiptRoundTrip(ctx, conn); err != nil {
		_ = conn.MustDisconnect()
		return nil, nil, codedError(codeBroker, "", fmt.Errorf("subscribing to %s: %w", s.name, err))
	}
	return conn, subs, nil
}

// receiptRoundTrip makes a receipt round trip (an empty transaction
// aborted with a receipt): proof that the broker answers on conn, for
// Health, and after the SUBSCRIBE frames of a subscription. go-stomp queues a
// SUBSCRIBE and returns at once; when the broker drops the connection
// before the library took the frame from its queue (a broker going down
// right after accepting the connection) the subscription is never told
// and would wait forever on a dead connection. The library handles its
// queue in order, so a receipt proves every SUBSCRIBE before it was taken
// up, and a later loss reaches all of them.
func receiptRoundTrip(ctx context.Context, conn *stomp.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, defaultConnectTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		tx, err := conn.BeginWithError()
		if err == nil {
			err = tx.AbortWithReceipt()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// supervise forwards messages to the workers and reconnects when the
// connection is lost. Unsettled messages of a lost connection go back to
// the queue on the broker and are delivered again (at least once).
func (s *subscription) supervise(conn *stomp.Conn, subs []*stomp.Subscription) {
	defer s.supervisor.Done()
	for {
		lost := s.forward(conn, subs)
		if !lost {
			// Intake stopped: the workers settle on conn, so it is
			// closed by Close after they are done.
			s.finalConn = conn
			return
		}
		_ = conn.MustDisconnect()
		s.p.reconnecting.Add(1)
		var err error
		for n := 0; ; n++ {
			select {
			case <-s.intakeCtx.Done():
				s.p.reconnecting.Add(-1)
				return
			case <-time.After(s.p.backoff(n)):
			}
			s.p.attempts.Add(1)
			conn, subs, err = s.connect(s.intakeCtx)
			if err == nil {
				break
			}
		}
		s.p.reconnecting.Add(-1)
	}
}

// forward fans the STOMP subscriptions into the work channel until intake
// stops (false) or the connection is lost (true).
func (s *subscription) forward(conn *stomp.Conn, subs []*stomp.Subscription) bool {
	lost := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for _, sub := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case m, ok := <-sub.C:
					if !ok || m.Err != nil {
						once.Do(func() { close(lost) })
						return
					}
					select {
					case s.work <- delivery{conn: conn, msg: m}:
					case <-s.intakeCtx.Done():
						return
					case <-lost:
						return
					}
				case <-s.intakeCtx.Done():
					return
				case <-lost:
					return
				}
			}
		}()
	}
	select {
	case <-lost:
		wg.Wait()
		return true
	case <-s.intakeCtx.Done():
		wg.Wait()
		return false
	}
}

func (s *subscription) worker() {
	defer s.workers.Done()
	for {
		select {
		case d := <-s.work:
			s.handle(d)
		case <-s.intakeCtx.Done():
			return
		}
	}
}

func (s *subscription) handle(d delivery) {
	s.p.lastMessage.Store(time.Now().UnixNano())
	qd := s.toDelivery(d.msg)
	out := s.h(s.runCtx, qd)
	// A failed settlement leaves the message unsettled: it comes back
	// when the connection goes, so nothing is lost.
	_ = s.settle(d, qd, out)
}

func (s *subscription) toDelivery(m *stomp.Message) queue.Delivery {
	h := map[string]string{}
	redelivered := false
	for i := range m.Header.Len() {
		k, v := m.Header.GetAt(i)
		switch {
		case strings.HasPrefix(k, userHeaderPrefix):
			k = strings.TrimPrefix(k, userHeaderPrefix)
			if _, seen := h[k]; !seen { // STOMP: the first repeated header wins
				h[k] = v
			}
		case k == headerRedelivered && v == "true":
			redelivered = true
		case k == "redelivered" && v == "true":
			redelivered = true
		}
	}
	msg := queue.Message{ID: h[queue.HeaderMessageID], Headers: h, Body: m.Body}
	return queue.Delivery{Message: msg, Destination: s.dst, Attempt: msg.Attempt(), Redelivered: redelivered}
}

func (s *subscription) settle(d delivery, qd queue.Delivery, out queue.Outcome) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch out.Action {
	case queue.ActionRetry:
		c := qd.Message.RetryCopy(out, time.Now())
		if err := s.p.send(ctx, s.name, c, false, time.Time{}); err != nil {
			return err
		}
	case queue.ActionDefer:
		c := qd.Message.Clone()
		var at time.Time
		if out.Delay > 0 {
			at = time.Now().Add(out.Delay)
		}
		if err := s.p.send(ctx, s.name, c, true, at); err != nil {
			return err
		}
	}
	// Ack, DeadLetter (the engine has recorded the message in its
	// dead-letter store) and the copies sent above all settle the original.
	return ackCtx(ctx, d)
}

func ackCtx(ctx context.Context, d delivery) error {
	done := make(chan error, 1)
	go func() { done <- d.conn.Ack(d.msg) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops intake, waits for the handlers until ctx is done, cancels
// them, then disconnects; unsettled messages return to the queue.
func (s *subscription) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.stopIntake()
		workersDone := make(chan struct{})
		go func() { s.workers.Wait(); close(workersDone) }()
		select {
		case <-workersDone:
		case <-ctx.Done():
			s.cancelRun()
			<-workersDone
		}
		s.cancelRun()
		s.supervisor.Wait()
		if s.finalConn != nil {
			_ = s.finalConn.Disconnect()
		}
		s.p.mu.Lock()
		delete(s.p.subs, s)
		s.p.mu.Unlock()
		close(s.closed)
	})
	return nil
}
