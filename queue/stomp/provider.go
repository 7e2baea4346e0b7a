package stomp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	stomp "github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"

	"github.com/factflow/factflow/queue"
)

// Defaults of Config.
const (
	DefaultMaxMessageSize   = 64 << 20
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultMaxReconnectWait = 5 * time.Second
	DefaultHeartbeat        = 10 * time.Second
	// DefaultPublishConnections lets that many durable sends be written
	// at once (see Config.PublishConnections).
	DefaultPublishConnections = 8
	// DefaultSubscribeConnections: see Config.SubscribeConnections.
	DefaultSubscribeConnections = 8
	defaultConnectTimeout       = 5 * time.Second
)

// Capabilities of the STOMP provider on Artemis and on ActiveMQ Classic:
// scheduled delivery is native (Artemis' AMQ_SCHEDULED_TIME, Classic's
// AMQ_SCHEDULED_DELAY with its scheduler enabled), messages are
// persistent, and one subscriber with Prefetch 1 sees publish order.
var Capabilities = queue.Capabilities{NativeDelay: true, Persistent: true, Ordered: true}

// Header names on the wire. User headers travel prefixed, so that they
// never collide with STOMP's own headers or the broker's properties.
const (
	userHeaderPrefix   = "ff-"
	headerRedelivered  = "factflow-stomp-redelivered"
	headerScheduleTime = "AMQ_SCHEDULED_TIME"
	headerWindow       = "consumer-window-size"
)

// Config configures a Provider.
type Config struct {
	// URL of the broker: stomp://user:password@host:port.
	URL string
	// ManagementURL is the broker's Jolokia endpoint,
	// http://user:password@host:8161/console/jolokia on Artemis,
	// http://user:password@host:8161/api/jolokia on ActiveMQ Classic; Depth
	// and DeleteScope need it (STOMP cannot count or delete queues).
	// Default: the URL's `management` query parameter, else the web
	// console's default port 8161 on the broker's host with the STOMP
	// credentials.
	ManagementURL string
	// Flavor is the broker: FlavorArtemis, FlavorClassic, or empty to take
	// the URL's `flavor` query parameter, else to detect it from the server
	// header of the broker's CONNECTED frame (a broker that sends none is
	// taken for Artemis).
	Flavor string
	// Logger receives go-stomp's own messages at debug level. Default
	// slog.Default().
	Logger *slog.Logger
	// MaxMessageSize is the largest body plus headers Publish accepts.
	MaxMessageSize int
	// PublishConnections is how many connections Publish spreads its
	// sends over (default DefaultPublishConnections). A broker handles the
	// frames of one connection one after another and answers a persistent
	// send's receipt only after its journal write, so one connection
	// carries one durable write at a time.
	PublishConnections int
	// SubscribeConnections is how many connections one subscription
	// spreads its handlers and prefetch over (default
	// DefaultSubscribeConnections, never more than its handlers), for the
	// same reason as PublishConnections: acknowledging a durable message
	// is a journal write too.
	SubscribeConnections int
	// Heartbeat is the STOMP heart-beat interval in both directions.
	Heartbeat        time.Duration
	ReconnectWait    time.Duration
	MaxReconnectWait time.Duration
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.PublishConnections <= 0 {
		c.PublishConnections = DefaultPublishConnections
	}
	if c.SubscribeConnections <= 0 {
		c.SubscribeConnections = DefaultSubscribeConnections
	}
	if c.ReconnectWait <= 0 {
		c.ReconnectWait = DefaultReconnectWait
	}
	if c.MaxReconnectWait < c.ReconnectWait {
		c.MaxReconnectWait = max(DefaultMaxReconnectWait, c.ReconnectWait)
	}
	return c
}

// Provider is the STOMP queue provider.
type Provider struct {
	cfg      Config
	addr     string
	login    string
	passcode string
	mgmt     *management
	flavor   string // FlavorArtemis or FlavorClassic, fixed by New

	mu      sync.Mutex
	pubs    []*stomp.Conn // publishing connections; an entry is nil until (re)dialled
	pubLost []bool        // the slot's connection failed: its next dial is a reconnect
	nextPub atomic.Uint32 // round robin over pubs
	closed  bool
	subs    map[*subscription]struct{}
	topics  queue.Feeds[*topicSub]

	reconnecting atomic.Int32 // subscriptions currently re-establishing their connection
	attempts     atomic.Int64
	lastMessage  atomic.Int64 // unix nanos
}

var _ queue.Provider = (*Provider)(nil)

// New connects to the broker and returns a provider.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	cfg = cfg.withDefaults()
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "stomp" && u.Scheme != "tcp") || u.Host == "" {
		return nil, codedError(codeConnect, "use stomp://user:password@host:61613", fmt.Errorf("invalid STOMP URL %q", redact(cfg.URL)))
	}
	if cfg.Flavor == "" {
		cfg.Flavor = u.Query().Get("flavor")
	}
	if !validFlavor(cfg.Flavor) {
		return nil, codedError(codeConnect, "set the STOMP flavor (Config.Flavor or ?flavor= on the URL) to artemis, classic, or leave it empty to detect the broker",
			fmt.Errorf("unknown STOMP broker flavor %q", cfg.Flavor))
	}
	p := &Provider{cfg: cfg, addr: u.Host, subs: map[*subscription]struct{}{}}
	if u.User != nil {
		p.login = u.User.Username()
		p.passcode, _ = u.User.Password()
	}
	conn, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	p.flavor = cfg.Flavor
	if p.flavor == "" {
		p.flavor = detectFlavor(conn.Server())
	}
	if p.mgmt, err = newManagement(managementURL(cfg.ManagementURL, u, p.flavor), p.flavor, &http.Client{Timeout: 30 * time.Second,
		// Its own transport, so Close can drop its keep-alive connections.
		Transport: http.DefaultTransport.(*http.Transport).Clone()}); err != nil {
		_ = conn.MustDisconnect()
		return nil, err
	}
	p.pubs = make([]*stomp.Conn, cfg.PublishConnections)
	p.pubLost = make([]bool, cfg.PublishConnections)
	p.pubs[0] = conn
	return p, nil
}

// Flavor is the broker the provider talks to: FlavorArtemis or
// FlavorClassic.
func (p *Provider) Flavor() string { return p.flavor }

// managementURL picks the Jolokia endpoint: explicit, from the STOMP URL's
// management parameter, or the web console's default on the broker's host.
func managementURL(explicit string, stompURL *url.URL, flavor string) string {
	if explicit != "" {
		return explicit
	}
	if m := stompURL.Query().Get("management"); m != "" {
		return m
	}
	m := url.URL{Scheme: "http", Host: net.JoinHostPort(hostOnly(stompURL.Host), "8161"), Path: defaultManagementPath(flavor), User: stompURL.User}
	return m.String()
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

func (p *Provider) dial(ctx context.Context) (*stomp.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, defaultConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", p.addr)
	if err != nil {
		return nil, codedError(codeConnect, "is the broker running and its STOMP acceptor reachable?", err)
	}
	// go-stomp's handshake takes no context; a deadline bounds it.
	if dl, ok := dctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	opts := []func(*stomp.Conn) error{
		stomp.ConnOpt.HeartBeat(p.cfg.Heartbeat, p.cfg.Heartbeat),
		stomp.ConnOpt.HeartBeatError(p.cfg.Heartbeat * 3),
		stomp.ConnOpt.Host(hostOnly(p.addr)),
		stomp.ConnOpt.AcceptVersion(stomp.V12),
		stomp.ConnOpt.Logger(slogLogger{p.cfg.Logger}),
	}
	if p.login != "" {
		opts = append(opts, stomp.ConnOpt.Login(p.login, p.passcode))
	}
	conn, err := stomp.Connect(nc, opts...)
	if err != nil {
		_ = nc.Close()
		return nil, codedError(codeConnect, "check the STOMP URL's user and password", err)
	}
	_ = nc.SetDeadline(time.Time{})
	return conn, nil
}

func hostOnly(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func (p *Provider) backoff(n int) time.Duration {
	d := p.cfg.ReconnectWait << min(n, 16)
	if d > p.cfg.MaxReconnectWait || d <= 0 {
		d = p.cfg.MaxReconnectWait
	}
	return d/2 + rand.N(d/2+1)
}

// publisher returns a publishing connection, the next one in turn,
// dialling it when it was lost (or not yet needed).
func (p *Provider) publisher(ctx context.Context) (*stomp.Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	i := int(p.nextPub.Add(1)) % len(p.pubs)
	if c := p.pubs[i]; c != nil {
		p.mu.Unlock()
		return c, nil
	}
	if p.pubLost[i] {
		p.attempts.Add(1)
	}
	p.mu.Unlock()
	// Dialled outside the lock: the other connections keep serving.
	c, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		_ = c.MustDisconnect()
		return nil, ErrClosed
	case p.pubs[i] != nil:
		// Another send dialled this slot meanwhile.
		go func() { _ = c.Disconnect() }()
		return p.pubs[i], nil
	}
	p.pubs[i], p.pubLost[i] = c, false
	return c, nil
}

// dropPublisher forgets a connection that failed, so the next send on its
// slot dials.
func (p *Provider) dropPublisher(c *stomp.Conn) {
	p.mu.Lock()
	for i, pc := range p.pubs {
		if pc == c {
			p.pubs[i], p.pubLost[i] = nil, true
			go func() { _ = c.MustDisconnect() }()
		}
	}
	p.mu.Unlock()
}

// Publish sends msgs in order on one connection and returns once the
// broker acknowledged them: only the last frame asks for a receipt, and
// the broker handles a connection's frames in order, so its receipt
// covers every frame before it. One receipt per batch instead of one per
// message spares a durable write per message on the broker.
func (p *Provider) Publish(ctx context.Context, dst queue.Destination, msgs ...queue.Message) error {
	name, err := queueName(dst)
	if err != nil {
		return err
	}
	out := make([]outgoing, len(msgs))
	for i, m := range msgs {
		if m.ID == "" {
			m = m.Clone()
			m.ID = queue.NewMessageID()
		}
		if out[i], err = p.frameOf(m, false, time.Time{}); err != nil {
			return fmt.Errorf("publishing to %s: %w", dst, err)
		}
	}
	if err := p.sendAll(ctx, name, out); err != nil {
		return fmt.Errorf("publishing to %s: %w", dst, err)
	}
	return nil
}

func messageSize(m queue.Message) int {
	n := len(m.Body)
	for k, v := range m.Headers {
		n += len(k) + len(v) + len(userHeaderPrefix) + 2
	}
	return n
}

// outgoing is a message ready to send: its body and SEND headers.
type outgoing struct {
	body []byte
	opts []func(*frame.Frame) error
}

// frameOf checks m's size and turns it into a SEND frame's body and
// headers; at (or m's not-before time) schedules it.
func (p *Provider) frameOf(m queue.Message, redelivered bool, at time.Time) (outgoing, error) {
	if size := messageSize(m); size > p.cfg.MaxMessageSize {
		return outgoing{}, codedError(codeTooLarge, "keep messages small; put large payloads into storage and send a reference",
			fmt.Errorf("%w: %d bytes, limit %d", queue.ErrMessageTooLarge, size, p.cfg.MaxMessageSize))
	}
	if at.IsZero() {
		at = m.NotBefore()
	}
	opts := make([]func(*frame.Frame) error, 0, len(m.Headers)+4)
	opts = append(opts,
		stomp.SendOpt.Header("persistent", "true"),
		stomp.SendOpt.Header(userHeaderPrefix+queue.HeaderMessageID, m.ID))
	for k, v := range m.Headers {
		if k == queue.HeaderMessageID {
			continue
		}
		opts = append(opts, stomp.SendOpt.Header(userHeaderPrefix+k, v))
	}
	if redelivered {
		opts = append(opts, stomp.SendOpt.Header(headerRedelivered, "true"))
	}
	if now := time.Now(); !at.IsZero() && at.After(now) {
		opts = append(opts, p.scheduleOpt(at, now))
	}
	return outgoing{body: m.Body, opts: opts}, nil
}

// send delivers one message with a receipt (see sendAll).
func (p *Provider) send(ctx context.Context, name string, m queue.Message, redelivered bool, at time.Time) error {
	o, err := p.frameOf(m, redelivered, at)
	if err != nil {
		return err
	}
	return p.sendAll(ctx, name, []outgoing{o})
}

// sendAll sends out in order on one publishing connection, the last
// frame with a receipt, redialling on a lost connection until ctx ends.
// When the connection is lost before the receipt, every message of the
// batch is sent again (at least once).
func (p *Provider) sendAll(ctx context.Context, name string, out []outgoing) error {
	if len(out) == 0 {
		return nil
	}
	for n := 0; ; n++ {
		c, err := p.publisher(ctx)
		if err == nil {
			err = sendBatch(ctx, c, anycastPrefix+name, out)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.dropPublisher(c)
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(p.backoff(n)):
		}
	}
}

// sendBatch writes out on c, the last frame with a receipt, and waits
// for that receipt within ctx (go-stomp's Send takes no context).
func sendBatch(ctx context.Context, c *stomp.Conn, dest string, out []outgoing) error {
	done := make(chan error, 1)
	go func() {
		last := len(out) - 1
		for _, o := range out[:last] {
			if err := c.Send(dest, "application/octet-stream", o.body, o.opts...); err != nil {
				done <- err
				return
			}
		}
		// A full slice expression: the receipt must not land in a
		// shared backing array of the caller's options.
		opts := out[last].opts
		done <- c.Send(dest, "application/octet-stream", out[last].body, append(opts[:len(opts):len(opts)], stomp.SendOpt.Receipt)...)
	}()
	select {
	case err := <-done:
		if err != nil {
			return codedError(codeBroker, "", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendCtx bounds go-stomp's Send, which takes no context, by ctx.
func sendCtx(ctx context.Context, c *stomp.Conn, dest string, body []byte, opts []func(*frame.Frame) error) error {
	done := make(chan error, 1)
	go func() { done <- c.Send(dest, "application/octet-stream", body, opts...) }()
	select {
	case err := <-done:
		if err != nil {
			return codedError(codeBroker, "", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Depth asks the broker (through management) for the queue's counts.
func (p *Provider) Depth(ctx context.Context, dst queue.Destination) (queue.Depth, error) {
	name, err := queueName(dst)
	if err != nil {
		return queue.Depth{}, err
	}
	if p.mgmt == nil {
		return queue.Depth{}, codedError(codeManagement, "set the provider's management URL (the broker's Jolokia endpoint)", errors.New("depth needs the broker's management endpoint"))
	}
	total, delivering, err := p.mgmt.counts(ctx, name)
	if err != nil {
		return queue.Depth{}, fmt.Errorf("depth of %s: %w", dst, err)
	}
	return queue.Depth{Pending: total - delivering, InFlight: delivering}, nil
}

// DeleteScope destroys every queue of the execution through management.
func (p *Provider) DeleteScope(ctx context.Context, execution string) error {
	scope, err := scopeOf(execution)
	if err != nil {
		return err
	}
	if p.mgmt == nil {
		return codedError(codeManagement, "set the provider's management URL (the broker's Jolokia endpoint)", errors.New("deleting queues needs the broker's management endpoint"))
	}
	names, err := p.mgmt.queuesWithPrefix(ctx, queuePrefix+scope+".")
	if err != nil {
		return fmt.Errorf("listing queues of execution %s: %w", execution, err)
	}
	for _, n := range names {
		if err := p.mgmt.destroy(ctx, n); err != nil {
			return fmt.Errorf("deleting queue %s: %w", n, err)
		}
	}
	return nil
}

// Health reports reconnecting while a subscription's connection is being
// re-established; otherwise it makes a receipt round trip on the
// publishing connection (dialling it if it was lost), so a broker that
// went away or stopped answering shows even when nothing is being sent.
func (p *Provider) Health(ctx context.Context) (h queue.Health) {
	h = queue.Health{Provider: "stomp", State: queue.Healthy}
	// Read last: the probe below may itself redial.
	defer func() { h.ReconnectAttempts = int(p.attempts.Load()) }()
	if ns := p.lastMessage.Load(); ns != 0 {
		h.LastMessageAt = time.Unix(0, ns).UTC()
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		h.State, h.Detail = queue.Stalled, "closed"
		return h
	}
	if p.reconnecting.Load() > 0 {
		h.State, h.Detail = queue.Reconnecting, "re-establishing a connection to "+p.addr
		return h
	}
	c, err := p.publisher(ctx)
	if err == nil {
		if err = receiptRoundTrip(ctx, c); err != nil {
			p.dropPublisher(c)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded):
		h.State, h.Detail = queue.Stalled, "no receipt from "+p.addr+": "+err.Error()
	default:
		h.State, h.Detail = queue.Reconnecting, "re-establishing a connection to "+p.addr+": "+err.Error()
	}
	return h
}

// Close closes the subscriptions (hard), the topic subscriptions and the
// publishing connection.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.mgmt != nil {
		defer p.mgmt.client.CloseIdleConnections()
	}
	subs := make([]*subscription, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	pubs := p.pubs
	p.pubs = make([]*stomp.Conn, len(pubs))
	p.mu.Unlock()
	// Subscriptions close hard; a handler that ignores its cancelled
	// context keeps its subscription's Close waiting, but not this one
	// past ctx.
	hard, cancel := context.WithCancel(context.Background())
	cancel()
	subsDone := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for _, s := range subs {
			wg.Go(func() { _ = s.Close(hard) })
		}
		wg.Wait()
		close(subsDone)
	}()
	select {
	case <-subsDone:
	case <-ctx.Done():
	}
	_ = p.topics.Close(ctx) // handlers still running after ctx finish on their own
	var wg sync.WaitGroup
	for _, pub := range pubs {
		if pub == nil {
			continue
		}
		wg.Go(func() {
			done := make(chan struct{})
			go func() { _ = pub.Disconnect(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				_ = pub.MustDisconnect()
			}
		})
	}
	wg.Wait()
	return nil
}

// DepthCountsDelayed is true on Artemis, whose message count includes
// scheduled messages, and false on ActiveMQ Classic, which keeps them in
// its job scheduler outside the queue.
func (p *Provider) DepthCountsDelayed() bool { return p.flavor != FlavorClassic }
