package nats

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

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/factflow/factflow/queue"
)

// Defaults of Config.
const (
	DefaultAckWait          = 30 * time.Second
	DefaultPublishTimeout   = 10 * time.Second
	DefaultMaxBatch         = 256
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultMaxReconnectWait = 5 * time.Second
	defaultConnectTimeout   = 5 * time.Second
	// publishWindow bounds the messages of one Publish call awaiting their
	// acknowledgements at once, well below nats.go's async publish limit.
	publishWindow = 512
	// settleTimeout bounds the bookkeeping after a handler returned (the
	// retry copy's publish), which must not inherit a cancelled context.
	settleTimeout = 30 * time.Second
)

// Capabilities is what JetStream offers the contract suite.
var Capabilities = queue.Capabilities{NativeDelay: true, Persistent: true, Ordered: true}

// Config configures a Provider.
type Config struct {
	// URL of the NATS server, nats://[user:password@]host:port or
	// nats://token@host:port; several servers of a cluster separated by
	// commas. Ignored when Server is set.
	URL string
	// Server, when set, is an embedded server to connect to in-process.
	Server *Server
	// Name identifies the connection in the server's monitoring. Default
	// "factflow".
	Name string
	// Replicas of each execution's stream in a JetStream cluster. Default 1.
	Replicas int
	// AckWait is how long the server waits for a delivered message to be
	// settled before it redelivers it. While a message waits in the
	// prefetch buffer or its handler runs, the provider extends it every
	// AckWait/3, so long handlers are fine; AckWait only bounds how soon a
	// message held by a crashed process comes back. Default 30s.
	AckWait time.Duration
	// PublishTimeout is how long a publish waits for the server's
	// acknowledgement before sending the message again. Default 10s.
	PublishTimeout time.Duration
	// MaxBatch caps the messages one pull request asks for. Default 256.
	MaxBatch int
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
	if c.Replicas < 1 {
		c.Replicas = 1
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.MaxBatch < 1 {
		c.MaxBatch = DefaultMaxBatch
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

// Provider is the NATS JetStream queue provider.
//
// Each execution gets one work-queue stream, FACTFLOW_<execution>, holding
// the subjects factflow.<execution>.<queue>; it is created on first use.
// Each (queue, group) gets one durable pull consumer shared by every
// subscriber of that group, so subscribers compete for messages. A
// work-queue stream allows one consumer per subject: a second group on the
// same queue is refused.
type Provider struct {
	cfg Config
	log *slog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream

	streams sync.Map // stream name → struct{}: known to exist

	mu     sync.Mutex // guards subs and the transition to closed
	subs   map[*subscription]struct{}
	closed atomic.Bool

	reconnectAttempts atomic.Int64 // failed reconnect attempts
	lastMessage       atomic.Int64 // unix nanoseconds of the last delivery
}

var _ queue.Provider = (*Provider)(nil)

// New connects to NATS and checks that JetStream is available.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	cfg = cfg.withDefaults()
	p := &Provider{cfg: cfg, log: cfg.Logger, subs: map[*subscription]struct{}{}}

	timeout := defaultConnectTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("connecting to NATS: %w", context.DeadlineExceeded)
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(p.reconnectDelay),
		nats.ReconnectHandler(p.onReconnect),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { p.reconnectAttempts.Add(1) }),
		nats.DisconnectErrHandler(p.onDisconnect),
		nats.ErrorHandler(p.onAsyncError),
		// Detect a silently dead connection in ~30s instead of minutes.
		nats.PingInterval(10 * time.Second),
		nats.MaxPingsOutstanding(3),
	}
	serverURL := cfg.URL
	if cfg.Server != nil {
		serverURL = nats.DefaultURL // never dialled: the connection is in-process
		opts = append(opts, nats.InProcessServer(cfg.Server.ns))
	}
	if serverURL == "" {
		return nil, codedError(codeConnect, "set the queue URL, e.g. nats://127.0.0.1:4222", errors.New("no NATS URL configured"))
	}
	nc, err := nats.Connect(serverURL, opts...)
	if err != nil {
		return nil, codedError(codeConnect, "check that the NATS server runs, the URL's host and port, and its credentials",
			fmt.Errorf("connecting to NATS at %s: %w", redact(serverURL), err))
	}
	p.nc = nc
	p.js, err = jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	if _, err := p.js.AccountInfo(ctx); err != nil {
		nc.Close()
		return nil, codedError(codeJetStream, "start nats-server with JetStream enabled (-js) and give the account JetStream access",
			fmt.Errorf("checking JetStream at %s: %w", redact(serverURL), err))
	}
	return p, nil
}

// reconnectDelay backs off exponentially with jitter.
func (p *Provider) reconnectDelay(attempts int) time.Duration {
	return queue.Jitter(queue.ExpBackoff(attempts-1, p.cfg.ReconnectWait, p.cfg.MaxReconnectWait))
}

func (p *Provider) onReconnect(*nats.Conn) {
	p.log.Info("reconnected to NATS", "url", redact(p.nc.ConnectedUrl()))
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()
	for _, s := range subs {
		s.repull()
	}
}

func (p *Provider) onDisconnect(_ *nats.Conn, err error) {
	if err != nil {
		p.log.Warn("disconnected from NATS; reconnecting", "error", err)
	}
}

func (p *Provider) onAsyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	subject := ""
	if sub != nil {
		subject = sub.Subject
	}
	p.log.Warn("NATS reported an asynchronous error", "subject", subject, "error", err)
}

// Publish sends msgs to dst and returns once JetStream has stored all of
// them. Messages go out asynchronously and their acknowledgements are
// awaited together; messages the server did not acknowledge (a reconnect,
// a timeout) are sent again, so a message may be stored twice but never
// lost.
func (p *Provider) Publish(ctx context.Context, dst queue.Destination, msgs ...queue.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	n, err := namesFor(dst)
	if err != nil {
		return fmt.Errorf("publishing to %s: %w", dst, err)
	}
	if err := p.publish(ctx, n, msgs); err != nil {
		return fmt.Errorf("publishing %d message(s) to %s: %w", len(msgs), dst, err)
	}
	return nil
}

func (p *Provider) publish(ctx context.Context, n names, msgs []queue.Message) error {
	if p.isClosed() {
		return ErrClosed
	}
	if err := p.ensureStream(ctx, n); err != nil {
		return err
	}
	out := make([]*nats.Msg, len(msgs))
	for i := range msgs {
		out[i] = p.encode(n.subject, &msgs[i])
	}
	for len(out) > 0 {
		w := min(len(out), publishWindow)
		if err := p.publishWindow(ctx, n, out[:w]); err != nil {
			return err
		}
		out = out[w:]
	}
	return nil
}

func (p *Provider) encode(subject string, m *queue.Message) *nats.Msg {
	id := m.ID
	if id == "" {
		id = m.Headers[queue.HeaderMessageID]
	}
	if id == "" {
		id = queue.NewMessageID()
	}
	return &nats.Msg{Subject: subject, Header: encodeHeaders(m.Headers, queue.HeaderMessageID, id), Data: m.Body}
}

// publishWindow publishes msgs and waits for every acknowledgement,
// resending what failed for a reason that a retry can fix.
func (p *Provider) publishWindow(ctx context.Context, n names, msgs []*nats.Msg) error {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for attempt := 0; ; attempt++ {
		var retry []*nats.Msg
		var lastErr error
		for i, m := range msgs {
			f, err := p.js.PublishMsgAsync(m)
			if err != nil {
				if !retryablePublish(err) {
					return publishError(err)
				}
				futures[i] = nil
				retry, lastErr = append(retry, m), err
				continue
			}
			futures[i] = f
		}
		timer := time.NewTimer(p.cfg.PublishTimeout)
	wait:
		for i, f := range futures[:len(msgs)] {
			if f == nil {
				continue
			}
			select {
			case <-f.Ok():
			case err := <-f.Err():
				if !retryablePublish(err) {
					timer.Stop()
					return publishError(err)
				}
				retry, lastErr = append(retry, msgs[i]), err
			case <-timer.C:
				// The rest of this window is resent; their late
				// acknowledgements, if any, are ignored.
				retry = append(retry, msgs[i:]...)
				lastErr = jetstream.ErrAsyncPublishTimeout
				break wait
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			}
		}
		timer.Stop()
		if len(retry) == 0 {
			return nil
		}
		if p.isClosed() || errors.Is(lastErr, nats.ErrConnectionClosed) {
			return ErrClosed
		}
		if errors.Is(lastErr, jetstream.ErrNoStreamResponse) || errors.Is(lastErr, nats.ErrNoResponders) {
			// The stream may have been deleted behind our back.
			p.streams.Delete(n.stream)
		}
		if !queue.Sleep(ctx, retryPause(attempt)) {
			return fmt.Errorf("%w (last publish error: %v)", ctx.Err(), lastErr)
		}
		if err := p.ensureStream(ctx, n); err != nil {
			return err
		}
		msgs = retry
	}
}

// retryablePublish tells errors a resend can fix (connection trouble,
// back-pressure, a missing stream) from permanent ones (too large, denied).
func retryablePublish(err error) bool {
	switch {
	case errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503: JetStream temporarily unavailable (leader election, restart).
		return apiErr.Code == 503
	}
	return false
}

func publishError(err error) error {
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		return codedError(codeTooLarge, "keep messages small: store large content and pass its storage key, or raise the server's max_payload",
			fmt.Errorf("%w: %w", queue.ErrMessageTooLarge, err))
	}
	if errors.Is(err, nats.ErrConnectionClosed) {
		return ErrClosed
	}
	return err
}

// ensureStream creates the execution's stream unless it is known to exist.
// Creating an existing stream with the same configuration succeeds, so
// concurrent first publishes (here or in other processes) are harmless.
func (p *Provider) ensureStream(ctx context.Context, n names) error {
	if _, ok := p.streams.Load(n.stream); ok {
		return nil
	}
	_, err := p.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        n.stream,
		Description: "Factflow queues of execution " + n.scope,
		Subjects:    []string{subjectPrefix + n.scope + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    p.cfg.Replicas,
	})
	// "Already in use" means it exists with another configuration (e.g.
	// made by another Factflow version): use it as it is.
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return ErrClosed
		}
		return fmt.Errorf("creating stream %s: %w", n.stream, err)
	}
	p.streams.Store(n.stream, struct{}{})
	return nil
}

// Subscribe starts a subscription with opts.Concurrency handlers fed by
// pull requests that never hold more than opts.Prefetch unsettled messages.
func (p *Provider) Subscribe(ctx context.Context, dst queue.Destination, opts queue.SubscribeOptions, h queue.Handler) (queue.Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("subscribing to %s: no handler", dst)
	}
	n, err := namesFor(dst)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", dst, err)
	}
	if p.isClosed() {
		return nil, ErrClosed
	}
	opts = opts.Normalized()
	if err := p.ensureStream(ctx, n); err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", dst, err)
	}
	cons, err := p.ensureConsumer(ctx, n, dst, opts.Group)
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", dst, err)
	}
	s := newSubscription(ctx, p, dst, n, opts, h, cons.CachedInfo().Name)
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

func (p *Provider) ensureConsumer(ctx context.Context, n names, dst queue.Destination, group string) (jetstream.Consumer, error) {
	name := consumerName(dst.Queue, group)
	cons, err := p.js.CreateOrUpdateConsumer(ctx, n.stream, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("Factflow group %s on %s", group, dst),
		FilterSubject: n.subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       p.cfg.AckWait,
		// The engine counts attempts and dead-letters; the broker never
		// gives up on a message by itself.
		MaxDeliver: -1,
		// Subscribers bound what they hold by their prefetch; delayed
		// redeliveries also count as pending here and must not block the
		// consumer.
		MaxAckPending: -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeWorkQueueConsumerNotUnique {
			return nil, codedError(codeGroupConflict,
				"a NATS work queue allows one subscription group per queue; use the same group for every subscriber of "+dst.Queue,
				fmt.Errorf("queue %s already has a consumer group other than %q: %w", dst, group, err))
		}
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("creating consumer %s on stream %s: %w", name, n.stream, err)
	}
	return cons, nil
}

// jsErrCodeWorkQueueConsumerNotUnique is the server's "filtered consumer not
// unique on workqueue stream".
const jsErrCodeWorkQueueConsumerNotUnique jetstream.ErrorCode = 10100

// Depth reports dst's backlog from its consumer (messages not yet
// delivered, and delivered but unsettled) or, before anyone subscribed,
// from the stream. JetStream keeps a message whose redelivery is delayed
// (Defer, a future not-before time) among the consumer's unsettled ones, so
// such messages count as InFlight here.
func (p *Provider) Depth(ctx context.Context, dst queue.Destination) (queue.Depth, error) {
	n, err := namesFor(dst)
	if err != nil {
		return queue.Depth{}, fmt.Errorf("reading depth of %s: %w", dst, err)
	}
	if p.isClosed() {
		return queue.Depth{}, ErrClosed
	}
	st, err := p.js.Stream(ctx, n.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return queue.Depth{}, nil
	}
	if err != nil {
		return queue.Depth{}, fmt.Errorf("reading depth of %s: %w", dst, err)
	}
	consumers := st.ListConsumers(ctx)
	var d queue.Depth
	found := false
	for info := range consumers.Info() {
		if info.Config.FilterSubject == n.subject {
			d.Pending += int64(info.NumPending)
			d.InFlight += int64(info.NumAckPending)
			found = true
		}
	}
	if err := consumers.Err(); err != nil {
		return queue.Depth{}, fmt.Errorf("reading depth of %s: listing consumers: %w", dst, err)
	}
	if found {
		return d, nil
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(n.subject))
	if err != nil {
		return queue.Depth{}, fmt.Errorf("reading depth of %s: %w", dst, err)
	}
	return queue.Depth{Pending: int64(info.State.Subjects[n.subject])}, nil
}

// DeleteScope deletes the execution's stream with all its queues and
// consumers. Subscriptions still open on it wait (retrying with backoff)
// until the scope is used again.
func (p *Provider) DeleteScope(ctx context.Context, execution string) error {
	scope, err := scopeOf(execution)
	if err != nil {
		return fmt.Errorf("deleting queues of execution %s: %w", execution, err)
	}
	if p.isClosed() {
		return ErrClosed
	}
	stream := streamPrefix + scope
	p.streams.Delete(stream)
	if err := p.js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("deleting queues of execution %s: %w", execution, err)
	}
	// A publish racing with the delete may have cached the stream again.
	p.streams.Delete(stream)
	return nil
}

// Health reports the connection state; when connected it asks JetStream
// for the account's limits, so a server whose JetStream is down or stuck
// shows up as degraded or stalled.
func (p *Provider) Health(ctx context.Context) queue.Health {
	// Failed attempts are counted by our handler; successful ones by the
	// connection itself, before it reports CONNECTED (our reconnect
	// callback runs later, on another goroutine).
	h := queue.Health{Provider: "nats", ReconnectAttempts: int(p.reconnectAttempts.Load() + int64(p.nc.Stats().Reconnects))}
	if ns := p.lastMessage.Load(); ns > 0 {
		h.LastMessageAt = time.Unix(0, ns)
	}
	if p.isClosed() {
		h.State, h.Detail = queue.Degraded, "closed"
		return h
	}
	switch st := p.nc.Status(); st {
	case nats.CONNECTED:
	case nats.RECONNECTING, nats.CONNECTING:
		h.State, h.Detail = queue.Reconnecting, "reconnecting to NATS"
		return h
	default:
		h.State, h.Detail = queue.Degraded, "connection "+st.String()
		return h
	}
	if _, err := p.js.AccountInfo(ctx); err != nil {
		h.State, h.Detail = queue.Degraded, err.Error()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
			h.State = queue.Stalled
		}
		return h
	}
	h.State = queue.Healthy
	return h
}

// Close closes every subscription (see Subscription.Close), then the
// connection. It returns when ctx is done even if handlers still run;
// those finish in the background and their settlements are lost, so the
// server redelivers their messages after AckWait.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		return nil
	}
	p.closed.Store(true)
	subs := make([]*subscription, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()

	var err error
	if cerr := queue.CloseAll(ctx, subs); cerr != nil {
		err = fmt.Errorf("closing NATS provider: %w", cerr)
	}
	// Settlements sent by the handlers go out before the connection closes.
	flush := time.Second
	if dl, ok := ctx.Deadline(); ok {
		flush = min(flush, time.Until(dl))
	}
	if flush > 0 {
		_ = p.nc.FlushTimeout(flush)
	}
	p.nc.Close()
	return err
}

func (p *Provider) isClosed() bool { return p.closed.Load() }

func (p *Provider) forget(s *subscription) {
	p.mu.Lock()
	delete(p.subs, s)
	p.mu.Unlock()
}

// redact hides credentials in a (comma-separated) NATS URL for messages.
func redact(raw string) string {
	parts := strings.Split(raw, ",")
	for i, part := range parts {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			parts[i] = "(unparsable URL)"
			continue
		}
		if u.User != nil {
			u.User = url.User("REDACTED")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// retryPause paces retries of a failed broker call: 50 ms doubling to 5 s.
func retryPause(attempt int) time.Duration {
	return queue.ExpBackoff(attempt, 50*time.Millisecond, 5*time.Second)
}

// DepthCountsDelayed is true: a retry copy waits in the stream and a
// deferred message stays pending on its consumer.
func (p *Provider) DepthCountsDelayed() bool { return true }
