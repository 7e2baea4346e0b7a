package amqp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rmq "github.com/rabbitmq/amqp091-go"

	"github.com/factflow/factflow/queue"
)

// Defaults of Config.
const (
	DefaultMaxMessageSize   = 128 << 20 // RabbitMQ's default max_message_size
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultMaxReconnectWait = 5 * time.Second
	DefaultHeartbeat        = 10 * time.Second
	defaultConnectTimeout   = 5 * time.Second
	// publishWindow bounds the messages of one Publish call awaiting their
	// confirms at once.
	publishWindow = 256
	// poolSize bounds the idle publishing channels kept open. It covers
	// the concurrent publishers of a busy pipeline (every route's
	// handlers publish at once): a smaller pool makes them open and close
	// channels all the time, which costs the broker more than the
	// publishes. RabbitMQ allows 2047 channels per connection.
	poolSize = 128
	// settleTimeout bounds the bookkeeping after a handler returned (the
	// retry copy's publish), which must not inherit a cancelled context.
	settleTimeout = 30 * time.Second
)

// Capabilities is what RabbitMQ offers the contract suite. Delays are
// emulated with TTL queues (no plugin), so NativeDelay is false.
var Capabilities = queue.Capabilities{NativeDelay: false, Persistent: true, Ordered: true}

// Config configures a Provider.
type Config struct {
	// URL of the broker, amqp://user:password@host:port/vhost (amqps:// for
	// TLS).
	URL string
	// Name identifies the connection in the broker's management tools.
	// Default "factflow".
	Name string
	// MaxMessageSize is the largest body plus headers Publish accepts; set
	// it to the broker's max_message_size. Default 128 MiB.
	MaxMessageSize int
	// Heartbeat is how often the client and the broker prove they are
	// alive; a dead connection is noticed after about twice this. Default 10s.
	Heartbeat time.Duration
	// ReconnectWait is the first pause between reconnect attempts; it
	// doubles up to MaxReconnectWait (defaults 100ms and 5s, with jitter).
	// The provider reconnects forever.
	ReconnectWait, MaxReconnectWait time.Duration
	// Logger receives what an operator must act on. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "factflow"
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.ReconnectWait <= 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.MaxReconnectWait < c.ReconnectWait {
		c.MaxReconnectWait = max(DefaultMaxReconnectWait, c.ReconnectWait)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// session is one AMQP connection with what was declared on it. A new
// connection starts with an empty cache, so everything is declared again
// after a reconnect.
type session struct {
	conn     *rmq.Connection
	lost     chan struct{} // closed when the connection is gone
	pool     chan *rmq.Channel
	declared sync.Map // queue or bucket name → struct{}
}

// Provider is the RabbitMQ queue provider. See the package documentation
// for the naming and the delivery rules.
type Provider struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex // guards cur, connected, subs and the transition to closed
	cur       *session   // nil while reconnecting
	connected chan struct{}
	subs      map[*subscription]struct{}
	topics    queue.Feeds[*topicSub]
	closed    atomic.Bool
	closing   chan struct{}
	superDone chan struct{}

	reconnectAttempts atomic.Int64
	lastMessage       atomic.Int64 // unix nanoseconds of the last delivery
	lastError         atomic.Value // string: why the connection was lost
}

var _ queue.Provider = (*Provider)(nil)

// New connects to the broker. The first connection must succeed; after
// that the provider reconnects by itself.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	cfg = cfg.withDefaults()
	if cfg.URL == "" {
		return nil, codedError(codeConnect, "set the queue URL, e.g. amqp://user:password@127.0.0.1:5672/", errors.New("no AMQP URL configured"))
	}
	p := &Provider{
		cfg: cfg, log: cfg.Logger,
		subs:      map[*subscription]struct{}{},
		closing:   make(chan struct{}),
		superDone: make(chan struct{}),
		connected: make(chan struct{}),
	}
	s, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	p.cur = s
	close(p.connected)
	go p.supervise(s)
	return p, nil
}

func (p *Provider) dial(ctx context.Context) (*session, error) {
	timeout := defaultConnectTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("connecting to AMQP: %w", context.DeadlineExceeded)
	}
	props := rmq.NewConnectionProperties()
	props.SetClientConnectionName(p.cfg.Name)
	conn, err := rmq.DialConfig(p.cfg.URL, rmq.Config{
		Heartbeat:  p.cfg.Heartbeat,
		Properties: props,
		Dial:       rmq.DefaultDial(timeout),
	})
	if err != nil {
		return nil, codedError(codeConnect, "check that the broker runs, the URL's host, port and vhost, and its credentials",
			fmt.Errorf("connecting to AMQP at %s: %w", redact(p.cfg.URL), err))
	}
	s := &session{conn: conn, lost: make(chan struct{}), pool: make(chan *rmq.Channel, poolSize)}
	notify := conn.NotifyClose(make(chan *rmq.Error, 1))
	go func() {
		if e, ok := <-notify; ok && e != nil {
			p.lastError.Store(e.Error())
		}
		close(s.lost)
	}()
	return s, nil
}

// supervise replaces a lost connection, forever, until the provider is
// closed. Subscriptions notice the loss on their own channels and wait for
// the next session.
func (p *Provider) supervise(s *session) {
	defer close(p.superDone)
	for {
		select {
		case <-s.lost:
		case <-p.closing:
			return
		}
		p.mu.Lock()
		p.cur = nil
		p.connected = make(chan struct{})
		p.mu.Unlock()
		reason, _ := p.lastError.Load().(string)
		p.log.Warn("lost the AMQP connection; reconnecting", "url", redact(p.cfg.URL), "reason", reason)
		for attempt := 0; ; attempt++ {
			if !sleepUntil(p.closing, p.reconnectDelay(attempt)) {
				return
			}
			// Every attempt counts, the one that succeeds too, so health
			// shows that the connection was re-established.
			p.reconnectAttempts.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), defaultConnectTimeout)
			next, err := p.dial(ctx)
			cancel()
			if err != nil {
				if attempt == 0 || attempt%20 == 19 {
					p.log.Warn("reconnecting to AMQP failed; retrying", "attempts", attempt+1, "error", err)
				}
				continue
			}
			p.mu.Lock()
			if p.closed.Load() {
				p.mu.Unlock()
				_ = next.conn.Close()
				return
			}
			p.cur = next
			close(p.connected)
			p.mu.Unlock()
			p.log.Info("reconnected to AMQP", "url", redact(p.cfg.URL))
			s = next
			break
		}
	}
}

func (p *Provider) reconnectDelay(attempt int) time.Duration {
	return queue.Jitter(queue.ExpBackoff(attempt, p.cfg.ReconnectWait, p.cfg.MaxReconnectWait))
}

// session returns the live connection, waiting while reconnecting.
func (p *Provider) session(ctx context.Context) (*session, error) {
	for {
		if p.closed.Load() {
			return nil, ErrClosed
		}
		p.mu.Lock()
		s, wait := p.cur, p.connected
		p.mu.Unlock()
		if s != nil {
			select {
			case <-s.lost:
				// Lost, and the supervisor has not swapped it yet.
				if !queue.Sleep(ctx, 10*time.Millisecond) {
					return nil, ctx.Err()
				}
				continue
			default:
				return s, nil
			}
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.closing:
			return nil, ErrClosed
		}
	}
}

// channel takes a confirm-mode publishing channel from the pool or opens one.
func (s *session) channel() (*rmq.Channel, error) {
	for {
		select {
		case ch := <-s.pool:
			if !ch.IsClosed() {
				return ch, nil
			}
			continue
		default:
		}
		ch, err := s.conn.Channel()
		if err != nil {
			return nil, err
		}
		if err := ch.Confirm(false); err != nil {
			_ = ch.Close()
			return nil, err
		}
		return ch, nil
	}
}

func (s *session) release(ch *rmq.Channel) {
	if ch.IsClosed() {
		return
	}
	select {
	case s.pool <- ch:
	default:
		_ = ch.Close()
	}
}

// admin runs fn on a fresh plain channel: a failed declaration closes its
// channel, which must not be a pooled one. fn runs apart from the caller so
// that ctx bounds the wait even when the broker does not answer (the
// heartbeat eventually ends the call).
func (p *Provider) admin(ctx context.Context, s *session, fn func(ch *rmq.Channel) error) error {
	done := make(chan error, 1)
	go func() {
		ch, err := s.conn.Channel()
		if err != nil {
			done <- err
			return
		}
		err = fn(ch)
		if !ch.IsClosed() {
			_ = ch.Close()
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

// ensureQueue declares the durable work queue and, the first time in a
// session, records it in its execution's manifest.
func (p *Provider) ensureQueue(ctx context.Context, s *session, n names) error {
	if _, ok := s.declared.Load(n.queue); ok {
		return nil
	}
	err := p.admin(ctx, s, func(ch *rmq.Channel) error {
		if _, err := ch.QueueDeclare(n.manifest, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declaring manifest %s: %w", n.manifest, err)
		}
		if _, err := ch.QueueDeclare(n.queue, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declaring queue %s: %w", n.queue, err)
		}
		if err := ch.Confirm(false); err != nil {
			return err
		}
		c, err := ch.PublishWithDeferredConfirm("", n.manifest, false, false, rmq.Publishing{
			DeliveryMode: rmq.Persistent, ContentType: "text/plain", Body: []byte(n.queue),
		})
		if err != nil {
			return fmt.Errorf("recording %s in %s: %w", n.queue, n.manifest, err)
		}
		if !c.Wait() {
			return fmt.Errorf("recording %s in %s: the broker refused it", n.queue, n.manifest)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.declared.Store(n.queue, struct{}{})
	return nil
}

// ensureBucket declares a delay bucket: a fanout exchange and its queue.
func (p *Provider) ensureBucket(ctx context.Context, s *session, bucket time.Duration) error {
	name := delayName(bucket)
	if _, ok := s.declared.Load(name); ok {
		return nil
	}
	err := p.admin(ctx, s, func(ch *rmq.Channel) error {
		if err := ch.ExchangeDeclare(name, rmq.ExchangeFanout, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declaring delay exchange %s: %w", name, err)
		}
		args := rmq.Table{"x-message-ttl": bucket.Milliseconds(), "x-dead-letter-exchange": ""}
		if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
			return fmt.Errorf("declaring delay queue %s: %w", name, err)
		}
		return ch.QueueBind(name, "", name, false, nil)
	})
	if err != nil {
		return err
	}
	s.declared.Store(name, struct{}{})
	return nil
}

// outgoing is one message ready to go out: to the work queue directly or
// through a delay bucket.
type outgoing struct {
	exchange string
	pub      rmq.Publishing
}

// Publish sends msgs to dst and returns once the broker confirmed all of
// them (persistent messages on durable queues: written to disk). Messages
// whose confirms do not arrive (a lost connection) are sent again, so a
// message may be stored twice but never lost.
func (p *Provider) Publish(ctx context.Context, dst queue.Destination, msgs ...queue.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	n, err := namesFor(dst)
	if err != nil {
		return fmt.Errorf("publishing to %s: %w", dst, err)
	}
	if p.closed.Load() {
		return ErrClosed
	}
	out := make([]outgoing, len(msgs))
	now := time.Now()
	for i := range msgs {
		pub, err := p.encode(&msgs[i], false, time.Time{})
		if err != nil {
			return fmt.Errorf("publishing to %s: %w", dst, err)
		}
		out[i] = outgoing{pub: pub}
		if nb := msgs[i].NotBefore(); nb.After(now) {
			out[i].exchange = delayName(bucketFor(nb.Sub(now)))
		}
	}
	if err := p.send(ctx, n, out); err != nil {
		return fmt.Errorf("publishing %d message(s) to %s: %w", len(msgs), dst, err)
	}
	return nil
}

// encode turns a message into an AMQP publishing. Factflow's headers
// travel in one nested table, so no header of theirs can collide with the
// broker's own (CC, BCC, x-death, …); redelivered marks a deferred copy
// and holdUntil its earliest delivery.
func (p *Provider) encode(m *queue.Message, redelivered bool, holdUntil time.Time) (rmq.Publishing, error) {
	id := m.ID
	if id == "" {
		id = m.Headers[queue.HeaderMessageID]
	}
	if id == "" {
		id = queue.NewMessageID()
	}
	t := make(rmq.Table, len(m.Headers)+1)
	size := len(m.Body)
	for k, v := range m.Headers {
		if len(k) > 255 {
			return rmq.Publishing{}, codedError(codeInvalidName, "header names are at most 255 bytes in AMQP",
				fmt.Errorf("header %.40q… is %d bytes long", k, len(k)))
		}
		t[k] = v
		size += len(k) + len(v)
	}
	t[queue.HeaderMessageID] = id
	if size > p.cfg.MaxMessageSize {
		return rmq.Publishing{}, codedError(codeTooLarge, "keep messages small: store large content and pass its storage key, or raise the broker's max_message_size and Config.MaxMessageSize",
			fmt.Errorf("%w: %d bytes, the limit is %d", queue.ErrMessageTooLarge, size, p.cfg.MaxMessageSize))
	}
	h := rmq.Table{headersKey: t}
	if redelivered {
		h[redeliveredKey] = true
	}
	if !holdUntil.IsZero() {
		h[holdUntilKey] = holdUntil.UnixNano()
	}
	return rmq.Publishing{
		Headers:      h,
		DeliveryMode: rmq.Persistent,
		MessageId:    id,
		Timestamp:    time.Now(),
		Body:         m.Body,
	}, nil
}

// Headers the provider itself sets on the AMQP message.
const (
	headersKey     = "factflow-headers"
	redeliveredKey = "factflow-redelivered"
	holdUntilKey   = "factflow-hold-until"
)

// send publishes out (all to n.queue, directly or through a bucket) and
// waits for the confirms, resending what the broker did not confirm.
func (p *Provider) send(ctx context.Context, n names, out []outgoing) error {
	for attempt := 0; len(out) > 0; attempt++ {
		if attempt > 0 && !queue.Sleep(ctx, retryPause(attempt-1)) {
			return ctx.Err()
		}
		s, err := p.session(ctx)
		if err != nil {
			return err
		}
		if err := p.ensureQueue(ctx, s, n); err != nil {
			if permanent(err) || ctx.Err() != nil {
				return err
			}
			p.log.Debug("declaring before a publish failed; retrying", "queue", n.queue, "error", err)
			continue
		}
		for _, o := range out {
			if o.exchange != "" {
				if err = p.ensureBucket(ctx, s, durationOf(o.exchange)); err != nil {
					break
				}
			}
		}
		if err != nil {
			if permanent(err) || ctx.Err() != nil {
				return err
			}
			p.log.Debug("declaring a delay bucket failed; retrying", "error", err)
			continue
		}
		rest, err := p.sendWindowed(ctx, s, n, out)
		if err != nil {
			return err
		}
		out = rest
	}
	return nil
}

// sendWindowed publishes on one pooled channel and returns what must be
// sent again.
func (p *Provider) sendWindowed(ctx context.Context, s *session, n names, out []outgoing) ([]outgoing, error) {
	ch, err := s.channel()
	if err != nil {
		return out, nil // the connection is going; the session wait handles it
	}
	var retry []outgoing
	for len(out) > 0 {
		w := min(len(out), publishWindow)
		window := out[:w]
		out = out[w:]
		confirms := make([]*rmq.DeferredConfirmation, len(window))
		var pubErr error
		for i, o := range window {
			confirms[i], pubErr = ch.PublishWithDeferredConfirmWithContext(ctx, o.exchange, n.queue, false, false, o.pub)
			if pubErr != nil {
				retry = append(retry, window[i:]...)
				break
			}
		}
		for i, c := range confirms {
			if c == nil {
				continue
			}
			ok, err := c.WaitContext(ctx)
			if err != nil {
				// Unconfirmed messages on a channel we give up on: the
				// channel goes, the broker keeps whatever it got.
				_ = ch.Close()
				return nil, err
			}
			if !ok {
				retry = append(retry, window[i])
			}
		}
		if pubErr != nil || ch.IsClosed() {
			retry = append(retry, out...)
			if e := closeReason(pubErr); e != nil && e.Code == rmq.PreconditionFailed && strings.Contains(e.Reason, "size") {
				return nil, codedError(codeTooLarge, "keep messages small, or raise the broker's max_message_size",
					fmt.Errorf("%w: %w", queue.ErrMessageTooLarge, e))
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return retry, nil
		}
	}
	s.release(ch)
	return retry, nil
}

func closeReason(err error) *rmq.Error {
	var e *rmq.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// permanent tells errors a retry cannot fix.
func permanent(err error) bool {
	if errors.Is(err, ErrClosed) {
		return true
	}
	if e := closeReason(err); e != nil {
		switch e.Code {
		case rmq.AccessRefused, rmq.PreconditionFailed, rmq.NotAllowed:
			return true
		}
	}
	return false
}

func durationOf(bucketName string) time.Duration {
	for _, b := range delayBuckets {
		if delayName(b) == bucketName {
			return b
		}
	}
	return delayBuckets[0]
}

// Subscribe starts a consumer on dst's work queue with opts.Concurrency
// handlers; the broker pushes at most opts.Prefetch unsettled messages
// (basic.qos). Every group shares the one work queue, so all subscribers
// of a destination compete for its messages.
func (p *Provider) Subscribe(ctx context.Context, dst queue.Destination, opts queue.SubscribeOptions, h queue.Handler) (queue.Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("subscribing to %s: no handler", dst)
	}
	n, err := namesFor(dst)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", dst, err)
	}
	if p.closed.Load() {
		return nil, ErrClosed
	}
	opts = opts.Normalized()
	s := newSubscription(ctx, p, dst, n, opts, h)
	if err := s.start(ctx); err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", dst, err)
	}
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		stopped, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Close(stopped)
		return nil, ErrClosed
	}
	p.subs[s] = struct{}{}
	p.mu.Unlock()
	return s, nil
}

// Depth reports dst's backlog. AMQP tells only how many messages are ready
// in a queue; the unsettled ones are counted by this provider's own
// subscriptions (after a crash, a broker returns the unsettled messages of
// the dead connection to the ready ones). Messages waiting in a delay
// bucket are not counted.
func (p *Provider) Depth(ctx context.Context, dst queue.Destination) (queue.Depth, error) {
	n, err := namesFor(dst)
	if err != nil {
		return queue.Depth{}, fmt.Errorf("reading depth of %s: %w", dst, err)
	}
	s, err := p.session(ctx)
	if err != nil {
		return queue.Depth{}, fmt.Errorf("reading depth of %s: %w", dst, err)
	}
	var ready int
	err = p.admin(ctx, s, func(ch *rmq.Channel) error {
		q, err := ch.QueueDeclarePassive(n.queue, true, false, false, false, nil)
		if e := closeReason(err); e != nil && e.Code == rmq.NotFound {
			return nil
		}
		ready = q.Messages
		return err
	})
	if err != nil {
		return queue.Depth{}, fmt.Errorf("reading depth of %s: %w", dst, err)
	}
	d := queue.Depth{Pending: int64(ready)}
	p.mu.Lock()
	for sub := range p.subs {
		if sub.n.queue == n.queue {
			d.InFlight += sub.held.Load()
		}
	}
	p.mu.Unlock()
	return d, nil
}

// DeleteScope deletes every work queue the execution's manifest lists, then
// the manifest. Messages of the execution still waiting in a delay bucket
// expire into nothing.
func (p *Provider) DeleteScope(ctx context.Context, execution string) error {
	scope, err := scopeOf(execution)
	if err != nil {
		return fmt.Errorf("deleting queues of execution %s: %w", execution, err)
	}
	s, err := p.session(ctx)
	if err != nil {
		return fmt.Errorf("deleting queues of execution %s: %w", execution, err)
	}
	manifest := manifestPrefix + scope
	var queues []string
	err = p.admin(ctx, s, func(ch *rmq.Channel) error {
		if _, err := ch.QueueDeclarePassive(manifest, true, false, false, false, nil); err != nil {
			if e := closeReason(err); e != nil && e.Code == rmq.NotFound {
				return nil
			}
			return err
		}
		seen := map[string]bool{}
		for {
			m, ok, err := ch.Get(manifest, false)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if q := string(m.Body); !seen[q] && strings.HasPrefix(q, queuePrefix+scope+".") {
				seen[q] = true
				queues = append(queues, q)
			}
		}
		for _, q := range queues {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				return fmt.Errorf("deleting queue %s: %w", q, err)
			}
			s.declared.Delete(q)
		}
		_, err := ch.QueueDelete(manifest, false, false, false)
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting queues of execution %s: %w", execution, err)
	}
	// A publish racing with the delete may have cached a queue again.
	for _, q := range queues {
		s.declared.Delete(q)
	}
	return nil
}

// Health reports the connection state; when connected it opens a channel,
// a round trip that shows a broker that stopped answering.
func (p *Provider) Health(ctx context.Context) queue.Health {
	h := queue.Health{Provider: "amqp", ReconnectAttempts: int(p.reconnectAttempts.Load())}
	if ns := p.lastMessage.Load(); ns > 0 {
		h.LastMessageAt = time.Unix(0, ns)
	}
	if p.closed.Load() {
		h.State, h.Detail = queue.Degraded, "closed"
		return h
	}
	p.mu.Lock()
	s := p.cur
	p.mu.Unlock()
	if s == nil || s.conn.IsClosed() {
		h.State, h.Detail = queue.Reconnecting, "reconnecting to the AMQP broker"
		if reason, _ := p.lastError.Load().(string); reason != "" {
			h.Detail += ": " + reason
		}
		return h
	}
	if err := p.admin(ctx, s, func(*rmq.Channel) error { return nil }); err != nil {
		h.State, h.Detail = queue.Degraded, err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			h.State = queue.Stalled
		}
		return h
	}
	h.State = queue.Healthy
	return h
}

// Close closes every subscription (see Subscription.Close) and topic
// subscription, then the connection. It returns when ctx is done even if
// handlers still run; their messages go back to the queue when the
// connection closes.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return nil
	}
	p.closed.Store(true)
	close(p.closing)
	subs := make([]*subscription, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()

	var err error
	if cerr := queue.CloseAll(ctx, subs); cerr != nil {
		err = fmt.Errorf("closing AMQP provider: %w", cerr)
	}
	if terr := p.topics.Close(ctx); terr != nil && err == nil {
		err = fmt.Errorf("closing AMQP provider: %w", terr)
	}
	// A reconnect in progress gives up by itself once it sees closing.
	select {
	case <-p.superDone:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("closing AMQP provider: %w", ctx.Err())
		}
	}
	p.mu.Lock()
	s := p.cur
	p.cur = nil
	p.mu.Unlock()
	if s != nil {
		_ = s.conn.Close()
	}
	return err
}

func (p *Provider) forget(s *subscription) {
	p.mu.Lock()
	delete(p.subs, s)
	p.mu.Unlock()
}

func sleepUntil(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// redact hides the password in an AMQP URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// retryPause paces retries of a failed broker call: 50 ms doubling to 5 s.
func retryPause(attempt int) time.Duration {
	return queue.ExpBackoff(attempt, 50*time.Millisecond, 5*time.Second)
}

// DepthCountsDelayed is false: messages waiting in a delay bucket belong to
// a queue shared by every execution.
func (p *Provider) DepthCountsDelayed() bool { return false }
