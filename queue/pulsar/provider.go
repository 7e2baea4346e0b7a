package pulsar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsar/backoff"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/factflow/factflow/queue"
)

// Defaults of Config.
const (
	DefaultTenant               = "public"
	DefaultNamespace            = "default"
	DefaultConnectTimeout       = 5 * time.Second
	DefaultOperationTimeout     = 10 * time.Second
	DefaultSendTimeout          = 10 * time.Second
	DefaultKeepAlive            = 10 * time.Second
	DefaultReconnectWait        = 100 * time.Millisecond
	DefaultMaxReconnectWait     = 5 * time.Second
	DefaultMaxReconnectToBroker = 20
	DefaultProbeInterval        = 5 * time.Second
	defaultAdminPort            = "8080"
	// settleTimeout bounds the bookkeeping after a handler returned (the
	// retry copy's publish), which must not inherit a cancelled context.
	settleTimeout = 30 * time.Second
)

// Capabilities of the Pulsar provider: delivery at a time is native
// (DeliverAt on Shared subscriptions), topics are persistent, and one
// consumer with Prefetch 1 sees publish order.
var Capabilities = queue.Capabilities{NativeDelay: true, Persistent: true, Ordered: true}

// Message properties the provider itself sets.
const (
	// propRedelivered marks a deferred copy, which is a redelivery.
	propRedelivered = "factflow-pulsar-redelivered"
	// propDeliverAt is a scheduled message's delivery time in Unix
	// nanoseconds (DeliverAt itself has millisecond precision): the
	// broker may dispatch a scheduled message up to its tick time early,
	// and the provider holds such a message back until then.
	propDeliverAt = "factflow-pulsar-deliver-at"
)

// Config configures a Provider.
type Config struct {
	// URL of the broker's binary protocol: pulsar://host:6650 or
	// pulsar+ssl://host:6651. The query parameters admin, tenant and
	// namespace set AdminURL, Tenant and Namespace when those are empty.
	URL string
	// AdminURL is the broker's admin REST API, http://host:8080; Depth,
	// DeleteScope and the first publish to a topic need it. Default: port
	// 8080 on the broker's host.
	AdminURL string
	// Token authenticates at the broker and its admin API (JWT), if set.
	Token string
	// Tenant and Namespace hold every topic (default public/default). The
	// namespace must not expire or evict unacknowledged messages: no
	// message TTL, no backlog quota with consumer_backlog_eviction.
	Tenant, Namespace string
	// Logger receives what an operator must act on; pulsar-client-go's
	// own messages go to it at debug level. Default slog.Default().
	Logger *slog.Logger
	// ConnectTimeout bounds establishing one TCP connection (default 5s),
	// OperationTimeout one request such as creating a producer or a
	// consumer (default 10s), SendTimeout one message's publish (default
	// 10s): the client would otherwise wait forever while the broker is
	// down.
	ConnectTimeout, OperationTimeout, SendTimeout time.Duration
	// KeepAlive is the interval of the client's pings; a dead connection is
	// noticed after about twice this. Default 10s.
	KeepAlive time.Duration
	// MaxConnectionsPerBroker is the size of the client's connection pool
	// per broker (default 1).
	MaxConnectionsPerBroker int
	// MaxReconnectToBroker bounds the client's own reconnect attempts per
	// producer and consumer (default 20); past it the provider replaces
	// the producer or consumer itself.
	MaxReconnectToBroker uint
	// ReconnectWait is the first pause between reconnect attempts; it
	// doubles up to MaxReconnectWait (defaults 100ms and 5s).
	ReconnectWait, MaxReconnectWait time.Duration
	// ProbeInterval is how often the supervisor checks the broker and idle
	// consumers (default 5s).
	ProbeInterval time.Duration
}

func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "pulsar" && u.Scheme != "pulsar+ssl") || u.Host == "" {
		return c, codedError(codeConnect, "use pulsar://host:6650 (or pulsar+ssl://host:6651)", fmt.Errorf("invalid Pulsar URL %q", redact(c.URL)))
	}
	q := u.Query()
	if c.AdminURL == "" {
		c.AdminURL = q.Get("admin")
	}
	if c.AdminURL == "" {
		c.AdminURL = (&url.URL{Scheme: "http", Host: net.JoinHostPort(u.Hostname(), defaultAdminPort)}).String()
	}
	if c.Tenant == "" {
		c.Tenant = q.Get("tenant")
	}
	if c.Namespace == "" {
		c.Namespace = q.Get("namespace")
	}
	u.RawQuery = ""
	c.URL = u.String()
	if c.Tenant == "" {
		c.Tenant = DefaultTenant
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	for _, v := range []struct{ kind, s string }{{"tenant", c.Tenant}, {"namespace", c.Namespace}} {
		if err := validSegment(v.kind, v.s); err != nil {
			return c, codedError(codeConnect, "tenant and namespace use letters, digits and - _ = : .", err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.OperationTimeout <= 0 {
		c.OperationTimeout = DefaultOperationTimeout
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.MaxConnectionsPerBroker <= 0 {
		c.MaxConnectionsPerBroker = 1
	}
	if c.MaxReconnectToBroker == 0 {
		c.MaxReconnectToBroker = DefaultMaxReconnectToBroker
	}
	if c.ReconnectWait <= 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.MaxReconnectWait < c.ReconnectWait {
		c.MaxReconnectWait = max(DefaultMaxReconnectWait, c.ReconnectWait)
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	return c, nil
}

// redact hides the password of a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		// Query options may carry other URLs with their own passwords.
		u.RawQuery = "..."
	}
	return u.Redacted()
}

// producerSlot caches one topic's producer; sem serializes its creation
// without blocking past a caller's context.
type producerSlot struct {
	sem  chan struct{}
	prod pulsar.Producer // nil until created, or after it failed
}

// Provider is the Pulsar queue provider. See the package documentation
// for the naming and the delivery rules.
type Provider struct {
	cfg    Config
	log    *slog.Logger
	names  naming
	client pulsar.Client
	mgmt   *management
	broker string // host:port the supervisor probes

	mu        sync.Mutex
	closed    bool
	producers map[string]*producerSlot
	ensured   map[string]bool // topics known to have a subscription
	subs      map[*subscription]struct{}
	feeds     queue.Feeds[*feed]

	closing       chan struct{}
	closingCtx    context.Context // cancelled when closing closes
	cancelClosing context.CancelFunc
	superDone     chan struct{}
	bg            sync.WaitGroup // producer creations and closes running on their own

	down        atomic.Bool
	lastError   atomic.Value // string
	attempts    atomic.Int64
	replaced    atomic.Int64 // consumers the provider subscribed again
	lastMessage atomic.Int64 // unix nanoseconds of the last delivery
}

var _ queue.Provider = (*Provider)(nil)

// New connects to the broker; the broker must be reachable now, after that
// the provider reconnects by itself.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL)
	broker := u.Host
	if u.Port() == "" {
		port := "6650"
		if u.Scheme == "pulsar+ssl" {
			port = "6651"
		}
		broker = net.JoinHostPort(u.Hostname(), port)
	}
	p := &Provider{
		cfg: cfg, log: cfg.Logger, names: naming{tenant: cfg.Tenant, namespace: cfg.Namespace},
		broker:    broker,
		producers: map[string]*producerSlot{},
		ensured:   map[string]bool{},
		subs:      map[*subscription]struct{}{},
		closing:   make(chan struct{}),
		superDone: make(chan struct{}),
	}
	p.closingCtx, p.cancelClosing = context.WithCancel(context.Background())
	if err := p.probe(ctx); err != nil {
		p.cancelClosing()
		return nil, codedError(codeConnect, "check that the broker runs and the URL's host and port",
			fmt.Errorf("connecting to Pulsar at %s: %w", redact(cfg.URL), err))
	}
	opts := pulsar.ClientOptions{
		URL:                     cfg.URL,
		ConnectionTimeout:       cfg.ConnectTimeout,
		OperationTimeout:        cfg.OperationTimeout,
		KeepAliveInterval:       cfg.KeepAlive,
		MaxConnectionsPerBroker: cfg.MaxConnectionsPerBroker,
		Logger:                  plog.NewLoggerWithSlog(slog.New(debugHandler{cfg.Logger.Handler()}).With("component", "pulsar-client-go")),
	}
	if cfg.Token != "" {
		opts.Authentication = pulsar.NewAuthenticationToken(cfg.Token)
	}
	client, err := pulsar.NewClient(opts)
	if err != nil {
		p.cancelClosing()
		return nil, codedError(codeConnect, "check the Pulsar URL", fmt.Errorf("creating the Pulsar client: %w", err))
	}
	p.client = client
	if p.mgmt, err = newManagement(cfg.AdminURL, cfg.Token); err != nil {
		client.Close()
		p.cancelClosing()
		return nil, err
	}
	go p.supervise()
	return p, nil
}

// probe checks that the broker accepts connections.
func (p *Provider) probe(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(dctx, "tcp", p.broker)
	if err != nil {
		return err
	}
	return c.Close()
}

// supervise watches the broker: while it is unreachable Health reports
// reconnecting, and subscriptions check their consumers once it is back.
func (p *Provider) supervise() {
	defer close(p.superDone)
	failures := 0
	for {
		wait := p.cfg.ProbeInterval
		if failures > 0 {
			wait = min(wait, queue.Jitter(queue.ExpBackoff(failures-1, p.cfg.ReconnectWait, p.cfg.MaxReconnectWait)))
		}
		select {
		case <-p.closing:
			return
		case <-time.After(wait):
		}
		err := p.probe(p.closingCtx)
		if err != nil {
			if failures == 0 {
				p.log.Warn("the Pulsar broker is unreachable; reconnecting", "url", redact(p.cfg.URL), "error", err)
			}
			failures++
			p.attempts.Add(1)
			p.lastError.Store(err.Error())
			p.down.Store(true)
			continue
		}
		if failures > 0 {
			p.log.Info("the Pulsar broker is reachable again", "url", redact(p.cfg.URL), "attempts", failures)
			failures = 0
			// The client may have given up reconnecting a producer during
			// the outage; fresh ones are created on the next publish.
			p.resetProducers()
			p.down.Store(false)
		}
	}
}

func (p *Provider) reconnectDelay(attempt int) time.Duration {
	return queue.Jitter(queue.ExpBackoff(attempt, p.cfg.ReconnectWait, p.cfg.MaxReconnectWait))
}

// clientBackoff is the client's own reconnect pacing, capped like the
// provider's.
func (p *Provider) clientBackoff() backoff.Policy {
	return &cappedBackoff{base: p.cfg.ReconnectWait, max: p.cfg.MaxReconnectWait}
}

type cappedBackoff struct {
	base, max time.Duration
	n         int
}

func (b *cappedBackoff) Next() time.Duration {
	d := queue.Jitter(queue.ExpBackoff(b.n, b.base, b.max))
	b.n++
	return d
}

func (b *cappedBackoff) IsMaxBackoffReached() bool {
	return queue.ExpBackoff(b.n, b.base, b.max) >= b.max
}

func (b *cappedBackoff) Reset() { b.n = 0 }

func (p *Provider) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// producer returns the topic's cached producer, creating it (and, the
// first time, the topic's default subscription) when there is none. A
// creation that outlives ctx carries on and caches its producer.
func (p *Provider) producer(ctx context.Context, topic string) (pulsar.Producer, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	slot := p.producers[topic]
	if slot == nil {
		slot = &producerSlot{sem: make(chan struct{}, 1)}
		p.producers[topic] = slot
	}
	p.mu.Unlock()

	select {
	case slot.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	prod := slot.prod
	p.mu.Unlock()
	if prod != nil {
		<-slot.sem
		return prod, nil
	}
	type result struct {
		prod pulsar.Producer
		err  error
	}
	done := make(chan result, 1)
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		defer func() { <-slot.sem }()
		prod, err := p.client.CreateProducer(pulsar.ProducerOptions{
			Topic:                topic,
			SendTimeout:          p.cfg.SendTimeout,
			DisableBatching:      true, // individual acks settle single messages
			MaxReconnectToBroker: &p.cfg.MaxReconnectToBroker,
			BackOffPolicyFunc:    p.clientBackoff,
		})
		if err != nil {
			done <- result{err: codedError(codeBroker, "is the broker up and the namespace "+p.cfg.Tenant+"/"+p.cfg.Namespace+" there?",
				fmt.Errorf("creating a producer on %s: %w", topic, err))}
			return
		}
		if err := p.ensureSubscription(topic); err != nil {
			prod.Close()
			done <- result{err: err}
			return
		}
		p.mu.Lock()
		if p.closed || p.producers[topic] != slot {
			p.mu.Unlock()
			prod.Close()
			done <- result{err: ErrClosed}
			return
		}
		slot.prod = prod
		p.mu.Unlock()
		done <- result{prod: prod}
	}()
	select {
	case r := <-done:
		return r.prod, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ensureSubscription gives a topic without subscriptions the default
// group's: Pulsar keeps messages only for existing subscriptions, and a
// message published before anyone subscribed must not be lost.
func (p *Provider) ensureSubscription(topic string) error {
	if strings.HasPrefix(topic, "non-persistent://") {
		return nil // a topic feed keeps nothing for anyone
	}
	p.mu.Lock()
	done := p.ensured[topic]
	p.mu.Unlock()
	if done {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.OperationTimeout)
	defer cancel()
	subs, err := p.mgmt.subscriptions(ctx, topic)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		group := queue.SubscribeOptions{}.Normalized().Group
		if err := p.mgmt.createSubscription(ctx, topic, group); err != nil {
			return err
		}
	}
	p.markEnsured(topic)
	return nil
}

func (p *Provider) markEnsured(topic string) {
	p.mu.Lock()
	p.ensured[topic] = true
	p.mu.Unlock()
}

// dropProducer forgets a producer that failed, so that the next publish
// creates a fresh one; the client may have given up reconnecting it.
func (p *Provider) dropProducer(topic string, prod pulsar.Producer) {
	p.mu.Lock()
	slot := p.producers[topic]
	if p.closed || slot == nil || slot.prod != prod {
		// Close closes the producers it finds.
		p.mu.Unlock()
		return
	}
	slot.prod = nil
	p.mu.Unlock()
	p.bg.Go(prod.Close)
}

// resetProducers drops every cached producer.
func (p *Provider) resetProducers() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	var stale []pulsar.Producer
	for _, slot := range p.producers {
		select {
		case slot.sem <- struct{}{}:
			if slot.prod != nil {
				stale = append(stale, slot.prod)
				slot.prod = nil
			}
			<-slot.sem
		default: // being created right now: on the live broker
		}
	}
	p.mu.Unlock()
	for _, prod := range stale {
		p.bg.Go(prod.Close)
	}
}

// Publish sends msgs to dst and returns once the broker stored all of
// them. Messages whose send failed are sent again until ctx ends (at least
// once: a message whose receipt was lost may be stored twice).
func (p *Provider) Publish(ctx context.Context, dst queue.Destination, msgs ...queue.Message) error {
	topic, err := p.names.topic(dst)
	if err != nil {
		return fmt.Errorf("publishing to %s: %w", dst, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	out := make([]*pulsar.ProducerMessage, len(msgs))
	for i, m := range msgs {
		out[i] = encode(m, false, time.Time{})
	}
	if err := p.send(ctx, topic, out); err != nil {
		return fmt.Errorf("publishing %d message(s) to %s: %w", len(msgs), dst, err)
	}
	return nil
}

// encode turns a message into a Pulsar message: headers become
// properties, and a message not to be delivered before some time (its
// not-before header, or at for a deferred copy) is scheduled for then.
func encode(m queue.Message, redelivered bool, at time.Time) *pulsar.ProducerMessage {
	id := m.ID
	if id == "" {
		id = m.Headers[queue.HeaderMessageID]
	}
	if id == "" {
		id = queue.NewMessageID()
	}
	props := make(map[string]string, len(m.Headers)+2)
	for k, v := range m.Headers {
		props[k] = v
	}
	props[queue.HeaderMessageID] = id
	delete(props, propRedelivered)
	delete(props, propDeliverAt)
	if redelivered {
		props[propRedelivered] = "true"
	}
	if nb := m.NotBefore(); nb.After(at) {
		at = nb
	}
	pm := &pulsar.ProducerMessage{Payload: m.Body, Properties: props}
	if at.After(time.Now()) {
		pm.DeliverAt = at
		props[propDeliverAt] = strconv.FormatInt(at.UnixNano(), 10)
	}
	if pm.Payload == nil {
		pm.Payload = []byte{}
	}
	return pm
}

// send publishes out to topic and waits for the broker's receipts,
// sending again what failed until ctx ends.
func (p *Provider) send(ctx context.Context, topic string, out []*pulsar.ProducerMessage) error {
	var last error
	for attempt := 0; len(out) > 0; attempt++ {
		if attempt > 0 && !queue.Sleep(ctx, p.reconnectDelay(attempt-1)) {
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		}
		prod, err := p.producer(ctx, topic)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), errors.Join(last, err))
			}
			last = err
			continue
		}
		failed, err := sendAll(ctx, prod, out)
		if err != nil {
			return err
		}
		if len(failed) > 0 {
			last = failed[0].err
			p.lastError.Store(last.Error())
			p.dropProducer(topic, prod)
			out = out[:0]
			for _, f := range failed {
				out = append(out, f.msg)
			}
		} else {
			out = nil
		}
	}
	return nil
}

type failedSend struct {
	msg *pulsar.ProducerMessage
	err error
}

// sendAll sends out asynchronously (in order, one producer) and waits for
// every receipt. It returns the messages to send again, or an error no
// retry can fix.
func sendAll(ctx context.Context, prod pulsar.Producer, out []*pulsar.ProducerMessage) ([]failedSend, error) {
	results := make(chan failedSend, len(out))
	for _, m := range out {
		prod.SendAsync(ctx, m, func(_ pulsar.MessageID, m *pulsar.ProducerMessage, err error) {
			results <- failedSend{msg: m, err: err}
		})
	}
	var failed []failedSend
	for range out {
		select {
		case r := <-results:
			if r.err == nil {
				continue
			}
			if tooLarge(r.err) {
				return nil, codedError(codeTooLarge, "keep messages small: store large content and pass its storage key, or raise the broker's maxMessageSize",
					fmt.Errorf("%w: %w", queue.ErrMessageTooLarge, r.err))
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), r.err)
			}
			failed = append(failed, r)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return failed, nil
}

func tooLarge(err error) bool {
	if errors.Is(err, pulsar.ErrMessageTooLarge) || errors.Is(err, pulsar.ErrMetaTooLarge) {
		return true
	}
	var pe *pulsar.Error
	return errors.As(err, &pe) && pe.Result() == pulsar.MessageTooBig
}

// Depth reads the topic's stats through the admin API: Pending is the
// subscription's backlog without the messages delivered and not yet
// acknowledged, which are InFlight.
func (p *Provider) Depth(ctx context.Context, dst queue.Destination) (queue.Depth, error) {
	topic, err := p.names.topic(dst)
	if err != nil {
		return queue.Depth{}, err
	}
	if p.isClosed() {
		return queue.Depth{}, ErrClosed
	}
	d, err := p.mgmt.depth(ctx, topic)
	if err != nil {
		return queue.Depth{}, fmt.Errorf("depth of %s: %w", dst, err)
	}
	return d, nil
}

// DeleteScope deletes every topic of the execution (with its
// subscriptions and messages) through the admin API.
func (p *Provider) DeleteScope(ctx context.Context, execution string) error {
	prefix, err := p.names.scopePrefix(execution)
	if err != nil {
		return err
	}
	if p.isClosed() {
		return ErrClosed
	}
	topics, err := p.mgmt.topicsWithPrefix(ctx, p.cfg.Tenant, p.cfg.Namespace, prefix)
	if err != nil {
		return fmt.Errorf("listing the topics of execution %s: %w", execution, err)
	}
	for _, t := range topics {
		p.forgetTopic(t)
		if err := p.mgmt.deleteTopic(ctx, t); err != nil {
			return fmt.Errorf("deleting the topics of execution %s: %w", execution, err)
		}
	}
	return nil
}

// forgetTopic drops what the provider cached about a topic about to be
// deleted: a topic created again needs its default subscription again.
func (p *Provider) forgetTopic(topic string) {
	p.mu.Lock()
	slot := p.producers[topic]
	delete(p.producers, topic)
	delete(p.ensured, topic)
	p.mu.Unlock()
	if slot == nil {
		return
	}
	p.bg.Go(func() {
		// Wait for a creation in flight; it sees the slot gone and closes
		// its producer itself.
		slot.sem <- struct{}{}
		p.mu.Lock()
		prod := slot.prod
		p.mu.Unlock()
		if prod != nil {
			prod.Close()
		}
		<-slot.sem
	})
}

// Health reports reconnecting while the broker is unreachable or a
// subscription is replacing its consumer.
func (p *Provider) Health(context.Context) queue.Health {
	h := queue.Health{Provider: "pulsar", State: queue.Healthy, ReconnectAttempts: int(p.attempts.Load())}
	if ns := p.lastMessage.Load(); ns != 0 {
		h.LastMessageAt = time.Unix(0, ns).UTC()
	}
	p.mu.Lock()
	closed := p.closed
	reconnecting := 0
	for s := range p.subs {
		if s.reconnecting.Load() > 0 {
			reconnecting++
		}
	}
	p.mu.Unlock()
	last, _ := p.lastError.Load().(string)
	switch {
	case closed:
		h.State, h.Detail = queue.Stalled, "closed"
	case p.down.Load():
		h.State, h.Detail = queue.Reconnecting, "the broker at "+p.broker+" is unreachable: "+last
	case reconnecting > 0:
		h.State, h.Detail = queue.Reconnecting, fmt.Sprintf("%d subscription(s) re-creating a consumer", reconnecting)
	}
	return h
}

// Close closes the subscriptions (hard), the producers and the client. It
// returns when ctx is done even if a handler ignores its cancelled
// context; the rest of the shutdown then carries on in the background.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	p.cancelClosing()
	subs := make([]*subscription, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		hard, cancel := context.WithCancel(context.Background())
		cancel()
		var wg sync.WaitGroup
		for _, s := range subs {
			wg.Go(func() { _ = s.Close(hard) })
		}
		wg.Wait()
		_ = p.feeds.Close(ctx) // a handler still running past ctx finishes on its own
		<-p.superDone
		p.mu.Lock()
		slots := p.producers
		p.producers = map[string]*producerSlot{}
		p.mu.Unlock()
		for _, slot := range slots {
			slot.sem <- struct{}{}
			p.mu.Lock()
			prod := slot.prod
			p.mu.Unlock()
			if prod != nil {
				prod.Close()
			}
		}
		p.bg.Wait()
		p.client.Close()
		p.mgmt.close()
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// DepthCountsDelayed is true: a scheduled message is in the subscription's
// backlog until it is acknowledged.
func (p *Provider) DepthCountsDelayed() bool { return true }
