package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/factflow/factflow/queue"
)

const (
	// pullExpires is how long the server keeps one pull request waiting
	// for messages; pullHeartbeat how often it says it still does.
	pullExpires   = 30 * time.Second
	pullHeartbeat = 5 * time.Second
)

// Settlement bodies of the JetStream acknowledgement protocol.
var (
	ackAck        = []byte("+ACK")
	ackNak        = []byte("-NAK")
	ackTerm       = []byte("+TERM")
	ackInProgress = []byte("+WPI")
)

var errMissedHeartbeats = errors.New("the server stopped answering pull requests")

// subscription feeds a fixed pool of handler goroutines from pull requests
// it sends to the consumer itself, answered on one inbox subscription.
// (nats.go's Fetch and Messages cannot bound what they hold exactly, and
// drop buffered messages when stopped, leaving them to AckWait.)
//
// Flow control is by credits: the subscription starts with opts.Prefetch
// of them; a pull request for k messages takes k, every settled message
// gives one back, and a request that ends short (expired, refused,
// dropped) returns the rest. So the messages requested, buffered and being
// handled never exceed the prefetch, and the work channel (capacity =
// prefetch) never blocks. One request is open at a time, because
// delivered messages do not say which request brought them; a message
// that finds no request open (a straggler of one given up on) goes back
// to the queue. The next request goes out once half the prefetch is free
// (amortising the round trip), or sooner when nothing is buffered, so idle
// handlers never wait for a batch to fill.
type subscription struct {
	p        *Provider
	dst      queue.Destination
	n        names
	opts     queue.SubscribeOptions
	handler  queue.Handler
	nextSubj string // the consumer's pull request subject
	inbox    string // prefix of the reply subjects, one per request
	sub      *nats.Subscription
	drained  chan struct{} // closed when the inbox subscription is gone

	free      atomic.Int64
	threshold int64
	maxBatch  int64
	wake      chan struct{}
	reqMu     sync.Mutex
	reqToken  string       // reply token of the open request, "" when none
	reqDue    int64        // messages the open request may still bring
	reqSeq    uint64       // pull loop only
	lastSeen  atomic.Int64 // unix ns of the last message or heartbeat

	workMu     sync.RWMutex // guards sending on work against its close
	workClosed bool
	work       chan *nats.Msg
	held       heldSet

	handlerCtx     context.Context // cancelled on a hard stop
	cancelHandlers context.CancelFunc
	intakeCtx      context.Context // cancelled when intake stops
	stopIntake     context.CancelFunc

	failures     atomic.Int32 // consecutive failed pull requests
	needConsumer atomic.Bool  // a failure suggested the consumer is gone

	closing   atomic.Bool
	closeOnce sync.Once
	stopWatch func() bool   // unhooks the subscribe context
	loopDone  chan struct{} // closed when the pull loop returned
	running   atomic.Int32  // handler goroutines still running
	finished  chan struct{} // closed when the last one returned
}

func newSubscription(ctx context.Context, p *Provider, dst queue.Destination, n names, opts queue.SubscribeOptions, h queue.Handler, consumer string) *subscription {
	s := &subscription{
		p: p, dst: dst, n: n, opts: opts, handler: h,
		nextSubj: "$JS.API.CONSUMER.MSG.NEXT." + n.stream + "." + consumer,
		inbox:    p.nc.NewInbox() + ".",
		drained:  make(chan struct{}),
		maxBatch: int64(p.cfg.MaxBatch),
		wake:     make(chan struct{}, 1),
		work:     make(chan *nats.Msg, opts.Prefetch),
		held:     heldSet{m: make(map[*nats.Msg]int64, opts.Prefetch)},
		loopDone: make(chan struct{}),
		finished: make(chan struct{}),
	}
	s.threshold = max(1, min(int64(opts.Prefetch)/2, s.maxBatch))
	s.free.Store(int64(opts.Prefetch))
	s.handlerCtx, s.cancelHandlers = context.WithCancel(ctx)
	s.intakeCtx, s.stopIntake = context.WithCancel(s.handlerCtx)
	return s
}

// start subscribes the inbox and launches the goroutines. Cancelling ctx
// is a hard stop.
func (s *subscription) start(ctx context.Context) error {
	sub, err := s.p.nc.Subscribe(s.inbox+"*", s.onMsg)
	if err != nil {
		s.cancelHandlers()
		return fmt.Errorf("subscribing to the pull inbox: %w", err)
	}
	// Credits bound what arrives; nats.go's own limits would only drop.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		_ = sub.Unsubscribe()
		s.cancelHandlers()
		return fmt.Errorf("configuring the pull inbox: %w", err)
	}
	sub.SetClosedHandler(func(string) { close(s.drained) })
	s.sub = sub
	s.running.Store(int32(s.opts.Concurrency))
	for range s.opts.Concurrency {
		go s.worker()
	}
	go s.pullLoop()
	go s.maintain()
	s.stopWatch = context.AfterFunc(ctx, s.beginClose)
	return nil
}

// Close stops intake at once (buffered messages go back to the queue),
// waits for running handlers until ctx is done, then cancels their
// context and waits for them to return. Messages are settled as their
// handlers decide; an interrupted handler should return Defer(0).
func (s *subscription) Close(ctx context.Context) error {
	s.stopWatch()
	s.beginClose()
	select {
	case <-s.finished:
	case <-ctx.Done():
		s.cancelHandlers()
		<-s.finished
	}
	return nil
}

// beginClose stops intake and returns every message not yet handed to a
// handler. Draining the inbox subscription (unsubscribe, then a round trip
// to the server) brings in whatever the server sent before it noticed, so
// nothing is left for AckWait. It does not wait for running handlers.
func (s *subscription) beginClose() {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.stopIntake()
		<-s.loopDone
		// Draining needs the server; while reconnecting, the server has
		// dropped the pull requests anyway.
		if !s.p.nc.IsConnected() || s.sub.Drain() != nil {
			_ = s.sub.Unsubscribe()
		}
		<-s.drained
		s.workMu.Lock()
		s.workClosed = true
		close(s.work)
		s.workMu.Unlock()
	})
}

// onMsg receives everything on the inbox: messages and the server's status
// notes about pull requests. It runs on the subscription's one goroutine.
func (s *subscription) onMsg(m *nats.Msg) {
	now := time.Now().UnixNano()
	s.lastSeen.Store(now)
	token := strings.TrimPrefix(m.Subject, s.inbox)
	if len(m.Data) == 0 && m.Reply == "" {
		if status := m.Header.Get("Status"); status != "" {
			s.onStatus(token, status, m.Header.Get("Description"))
			return
		}
	}
	if !s.take() {
		// From a request given up on (after a reconnect): no credit
		// covers it, so back to the queue.
		s.respond(m, ackNak)
		return
	}
	s.workMu.RLock()
	if s.workClosed || s.closing.Load() {
		s.workMu.RUnlock()
		s.respond(m, ackNak)
		s.free.Add(1)
		return
	}
	s.held.add(m, now)
	s.p.lastMessage.Store(now)
	s.work <- m
	s.workMu.RUnlock()
}

func (s *subscription) onStatus(token, status, description string) {
	switch status {
	case "100": // idle heartbeat: the request is still waiting
		return
	case "404", "408": // no messages / request expired
		s.endRequest(token)
	case "503": // no responders: the consumer does not exist
		s.endRequest(token)
		s.fail(nats.ErrNoResponders)
	default: // 409 and others: the request was refused or cut short
		s.endRequest(token)
		// After a leader change the next request simply goes to the new
		// leader; anything else backs off (e.g. "Exceeded MaxWaiting").
		if !strings.Contains(description, "Leadership Change") {
			s.fail(fmt.Errorf("pull request ended with %s %s", status, description))
		}
	}
}

// take counts one message against the open request; false when none is.
func (s *subscription) take() bool {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	if s.reqDue == 0 {
		return false
	}
	s.reqDue--
	if s.reqDue == 0 {
		s.reqToken = ""
		s.signal()
	}
	if s.failures.Load() > 0 {
		s.failures.Store(0)
	}
	return true
}

// endRequest closes the request with this token, returning its unused
// credits; a stale token (a request given up on) changes nothing.
func (s *subscription) endRequest(token string) {
	s.reqMu.Lock()
	if token != s.reqToken || token == "" {
		s.reqMu.Unlock()
		return
	}
	due := s.reqDue
	s.reqToken, s.reqDue = "", 0
	s.reqMu.Unlock()
	s.free.Add(due)
	s.signal()
}

// dropRequest gives up on the open request.
func (s *subscription) dropRequest() {
	s.reqMu.Lock()
	token := s.reqToken
	s.reqMu.Unlock()
	s.endRequest(token)
}

func (s *subscription) requestOpen() bool {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return s.reqToken != ""
}

func (s *subscription) worker() {
	defer func() {
		if s.running.Add(-1) == 0 {
			s.cancelHandlers()
			s.p.forget(s)
			close(s.finished)
		}
	}()
	for m := range s.work {
		s.process(m)
	}
}

func (s *subscription) process(m *nats.Msg) {
	defer s.release(m)
	if len(s.work) == 0 {
		// This handler goroutine may be the last busy one: let the pull
		// loop ask for more without waiting for half the prefetch.
		s.signal()
	}
	if s.closing.Load() {
		// Intake stopped: back to the queue at once, for the next subscriber.
		s.respond(m, ackNak)
		return
	}
	d, hold := s.delivery(m)
	if hold > 0 {
		s.respond(m, nakBody(hold))
		return
	}
	s.settle(m, d, s.handler(s.handlerCtx, d))
}

// delivery decodes m. A positive hold means the message carries a
// not-before time in the future: the server keeps it for that long.
func (s *subscription) delivery(m *nats.Msg) (queue.Delivery, time.Duration) {
	hdr := decodeHeaders(m.Header)
	msg := queue.Message{ID: hdr[queue.HeaderMessageID], Headers: hdr, Body: m.Data}
	notBefore := msg.NotBefore()
	if !notBefore.IsZero() {
		if hold := time.Until(notBefore); hold > 0 {
			return queue.Delivery{}, hold
		}
	}
	deliveries, stored := uint64(1), time.Time{}
	if meta, err := m.Metadata(); err == nil {
		deliveries, stored = meta.NumDelivered, meta.Timestamp
		if msg.ID == "" {
			// Published by something other than Factflow.
			msg.ID = fmt.Sprintf("%s:%d", meta.Stream, meta.Sequence.Stream)
		}
	}
	// A message stored before its not-before time was most likely held
	// back once already; that delivery is not a redelivery.
	held := uint64(0)
	if !notBefore.IsZero() && stored.Before(notBefore) {
		held = 1
	}
	return queue.Delivery{
		Message:     msg,
		Destination: s.dst,
		Attempt:     msg.Attempt(),
		Redelivered: deliveries > 1+held,
	}, 0
}

// settle applies the handler's outcome. Settlements are fire-and-forget
// (no round trip per message); if one is lost, the server redelivers after
// AckWait, which at-least-once allows.
func (s *subscription) settle(m *nats.Msg, d queue.Delivery, o queue.Outcome) {
	switch o.Action {
	case queue.ActionAck:
		s.respond(m, ackAck)
	case queue.ActionRetry:
		s.retry(m, d, o)
	case queue.ActionDefer:
		s.respond(m, nakBody(o.Delay))
	case queue.ActionDeadLetter:
		// The engine recorded the dead letter; Term settles the message
		// and shows in the server's advisories.
		s.respond(m, ackTerm)
	default:
		s.p.log.Error("handler returned an unknown outcome; redelivering the message in a second",
			"destination", s.dst.String(), "message_id", d.ID, "action", o.Action.String())
		s.respond(m, nakBody(time.Second))
	}
}

// retry publishes a copy with one more attempt that is not delivered
// before the delay, then acks the original. Publishing first means a crash
// in between duplicates the message instead of losing it.
func (s *subscription) retry(m *nats.Msg, d queue.Delivery, o queue.Outcome) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.handlerCtx), settleTimeout)
	defer cancel()
	if err := s.p.publish(ctx, s.n, []queue.Message{d.Message.RetryCopy(o, time.Now())}); err != nil {
		s.p.log.Warn("publishing a retry failed; the message comes back after the delay without counting the attempt",
			"destination", s.dst.String(), "message_id", d.ID, "error", err)
		s.respond(m, nakBody(o.Delay))
		return
	}
	s.respond(m, ackAck)
}

func nakBody(delay time.Duration) []byte {
	if delay <= 0 {
		return ackNak
	}
	return fmt.Appendf(nil, `-NAK {"delay":%d}`, delay.Nanoseconds())
}

func (s *subscription) respond(m *nats.Msg, body []byte) {
	err := s.p.nc.Publish(m.Reply, body)
	if err == nil || errors.Is(err, nats.ErrConnectionClosed) {
		// A closed connection: the provider is shutting down and the
		// server redelivers whatever was not settled.
		return
	}
	s.p.log.Warn("settling a message failed; the server redelivers it after the ack wait",
		"destination", s.dst.String(), "error", err)
}

// release returns a settled message's credit.
func (s *subscription) release(m *nats.Msg) {
	s.held.remove(m)
	s.free.Add(1)
	s.signal()
}

func (s *subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pullLoop sends pull requests while credits allow.
func (s *subscription) pullLoop() {
	defer close(s.loopDone)
	for s.intakeCtx.Err() == nil {
		if n := s.failures.Load(); n > 0 {
			if !queue.Sleep(s.intakeCtx, retryPause(int(n)-1)) {
				return
			}
			if s.needConsumer.Swap(false) {
				if err := s.recreateConsumer(); err != nil {
					s.fail(err)
					continue
				}
			}
		}
		if !s.requestOpen() {
			if free := s.free.Load(); free >= s.threshold || free > 0 && len(s.work) == 0 {
				s.pull(min(free, s.maxBatch))
				continue
			}
		}
		select {
		case <-s.wake:
		case <-s.intakeCtx.Done():
			return
		}
	}
}

func (s *subscription) pull(k int64) {
	s.reqSeq++
	token := strconv.FormatUint(s.reqSeq, 36)
	s.free.Add(-k)
	s.reqMu.Lock()
	s.reqToken, s.reqDue = token, k
	s.reqMu.Unlock()
	s.lastSeen.Store(time.Now().UnixNano())
	body := fmt.Appendf(nil, `{"batch":%d,"expires":%d,"idle_heartbeat":%d}`, k, pullExpires.Nanoseconds(), pullHeartbeat.Nanoseconds())
	if err := s.p.nc.PublishRequest(s.nextSubj, s.inbox+token, body); err != nil {
		s.endRequest(token)
		s.fail(err)
	}
}

func (s *subscription) fail(err error) {
	n := s.failures.Add(1)
	if errors.Is(err, nats.ErrNoResponders) || strings.Contains(err.Error(), "Consumer Deleted") {
		s.needConsumer.Store(true)
	}
	if n == 1 || n%20 == 0 {
		s.p.log.Warn("pulling messages failed; retrying with backoff",
			"destination", s.dst.String(), "failures", n, "error", err)
	}
}

// recreateConsumer brings back a consumer deleted behind our back (or lost
// with a broker's state), but never the stream: a deleted scope stays
// deleted until someone publishes to it again.
func (s *subscription) recreateConsumer() error {
	ctx, cancel := context.WithTimeout(s.intakeCtx, 10*time.Second)
	defer cancel()
	if _, err := s.p.js.Stream(ctx, s.n.stream); err != nil {
		return fmt.Errorf("looking up stream %s: %w", s.n.stream, err)
	}
	_, err := s.p.ensureConsumer(ctx, s.n, s.dst, s.opts.Group)
	return err
}

// repull replaces the pull requests after a reconnect: a restarted server
// has forgotten them, and waiting for their heartbeats to go missing would
// stall the subscription for seconds.
func (s *subscription) repull() {
	s.failures.Store(0)
	s.dropRequest()
}

// maintain tells the server that buffered messages and long-running
// handlers are still in progress, so it does not redelivers them, and
// gives up on pull requests the server no longer answers.
func (s *subscription) maintain() {
	progressAfter := s.p.cfg.AckWait / 3
	t := time.NewTicker(min(progressAfter, pullHeartbeat))
	defer t.Stop()
	for {
		select {
		case <-s.finished:
			return
		case now := <-t.C:
			for _, m := range s.held.olderThan(now.Add(-progressAfter).UnixNano()) {
				s.respond(m, ackInProgress)
			}
			silent := now.UnixNano() - s.lastSeen.Load()
			if silent > int64(2*pullHeartbeat+time.Second) && !s.closing.Load() && s.requestOpen() {
				s.dropRequest()
				s.fail(errMissedHeartbeats)
			}
		}
	}
}

// heldSet tracks the messages a subscription holds, with when they came.
type heldSet struct {
	mu sync.Mutex
	m  map[*nats.Msg]int64
}

func (h *heldSet) add(m *nats.Msg, at int64) {
	h.mu.Lock()
	h.m[m] = at
	h.mu.Unlock()
}

func (h *heldSet) remove(m *nats.Msg) {
	h.mu.Lock()
	delete(h.m, m)
	h.mu.Unlock()
}

func (h *heldSet) olderThan(cutoff int64) []*nats.Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*nats.Msg
	for m, at := range h.m {
		if at <= cutoff {
			out = append(out, m)
		}
	}
	return out
}
