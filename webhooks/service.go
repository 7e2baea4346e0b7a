package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/factflow/factflow/netguard"
	"github.com/factflow/factflow/store"
)

// Defaults of Options.
const (
	DefaultPollInterval = time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultWorkers      = 8
	DefaultUserAgent    = "Factflow-Webhooks/1"
)

// DefaultSchedule is the wait before each retry; after the last one the
// delivery is dead (1 attempt + 5 retries).
var DefaultSchedule = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour}

// Options configure a Service.
type Options struct {
	// Key encrypts the subscription secrets (KeySize bytes; see
	// LoadOrCreateKey). Required.
	Key []byte
	// AllowPrivate and AllowedHosts relax the SSRF guard, as in
	// netguard.Guard (security.allow_private_targets and its allow-list).
	AllowPrivate bool
	AllowedHosts []string
	// PollInterval between looks for due deliveries when nothing wakes the
	// dispatcher. Default DefaultPollInterval.
	PollInterval time.Duration
	// Timeout bounds one request, response body included. Default
	// DefaultTimeout.
	Timeout time.Duration
	// Schedule is the wait before each retry. Nil takes DefaultSchedule;
	// an empty non-nil slice means no retries.
	Schedule []time.Duration
	// Workers bounds concurrent requests. Default DefaultWorkers.
	Workers int
	// UserAgent of the requests. Default DefaultUserAgent.
	UserAgent string
	// Logger; nil is slog.Default().
	Logger *slog.Logger
}

// Service manages subscriptions, publishes events into the outbox and (Run)
// dispatches deliveries. Safe for concurrent use; Run once per Service.
type Service struct {
	repo   *store.Webhooks
	sealer *sealer
	guard  netguard.Guard
	client *http.Client
	opts   Options
	log    *slog.Logger
	wake   chan struct{}
	wanted wantedTypes
}

// New returns a Service on db (migrated).
func New(db *store.DB, opts Options) (*Service, error) {
	sl, err := newSealer(opts.Key)
	if err != nil {
		return nil, err
	}
	guard := netguard.Guard{AllowPrivate: opts.AllowPrivate, AllowedHosts: opts.AllowedHosts}
	if err := guard.Validate(); err != nil {
		return nil, invalid(netguard.Code, fmt.Sprintf("webhook allowed hosts: %v", err),
			"list host names, host:port pairs, IP addresses or CIDR ranges")
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Schedule == nil {
		opts.Schedule = DefaultSchedule
	}
	opts.Schedule = append([]time.Duration(nil), opts.Schedule...)
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	opts.Key = nil // held by the sealer only
	client := netguard.NewHTTPClient(guard, netguard.ClientOptions{
		Timeout:               opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		// A receiver answers; it does not send us elsewhere. A 3xx is
		// a final answer like any other non-2xx.
		MaxRedirects: -1,
	})
	return &Service{repo: store.NewWebhooks(db), sealer: sl, guard: guard, client: client, opts: opts,
		log: log.With("component", "webhooks"), wake: make(chan struct{}, 1)}, nil
}

// Close releases idle connections. Stop Run first.
func (s *Service) Close() { s.client.CloseIdleConnections() }

// Subscription is a subscription as shown to users: never with its secret.
type Subscription struct {
	ID          string               `json:"id"`
	URL         string               `json:"url"`
	Description string               `json:"description"`
	EventTypes  []string             `json:"event_types"`
	Filters     store.WebhookFilters `json:"filters"`
	Active      bool                 `json:"active"`
	CreatedAt   time.Time            `json:"created_at"`
	UpdatedAt   time.Time            `json:"updated_at"`
}

func view(s *store.WebhookSubscription) Subscription {
	return Subscription{ID: s.ID, URL: s.URL, Description: s.Description, EventTypes: s.EventTypes, Filters: s.Filters,
		Active: s.Active, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// CreateRequest describes a new subscription. Secret empty generates one;
// Active nil is true.
type CreateRequest struct {
	URL         string               `json:"url"`
	Description string               `json:"description,omitempty"`
	EventTypes  []string             `json:"event_types"`
	Filters     store.WebhookFilters `json:"filters"`
	Secret      string               `json:"secret,omitempty"`
	Active      *bool                `json:"active,omitempty"`
}

// Created is the answer to Create and RotateSecret: the only time the
// secret is shown.
type Created struct {
	Subscription
	Secret string `json:"secret"`
}

// Create validates and stores a subscription and returns it with its
// secret, which is not retrievable afterwards.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	u, err := s.checkURL(ctx, req.URL)
	if err != nil {
		return nil, err
	}
	types, err := checkEventTypes(req.EventTypes)
	if err != nil {
		return nil, err
	}
	secret := req.Secret
	if secret == "" {
		if secret, err = GenerateSecret(); err != nil {
			return nil, err
		}
	}
	id, err := store.NewID()
	if err != nil {
		return nil, err
	}
	ct, err := s.sealer.seal(id, secret)
	if err != nil {
		return nil, err
	}
	active := true
	if req.Active != nil {
		active = *req.Active
	}
	sub := &store.WebhookSubscription{ID: id, URL: u, Description: req.Description, EventTypes: types,
		Filters: req.Filters, SecretCiphertext: ct, Active: active}
	defer s.wanted.invalidate()
	if err := s.repo.Create(ctx, sub); err != nil {
		return nil, err
	}
	s.log.Info("webhook created", "webhook_id", id, "url", redactURL(u), "event_types", types)
	return &Created{Subscription: view(sub), Secret: secret}, nil
}

// Get returns one subscription (without its secret).
func (s *Service) Get(ctx context.Context, id string) (*Subscription, error) {
	sub, err := s.repo.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	v := view(sub)
	return &v, nil
}

// List returns subscriptions (without secrets), a page at a time.
func (s *Service) List(ctx context.Context, limit, offset int) (store.Page[Subscription], error) {
	p, err := s.repo.List(ctx, limit, offset)
	out := store.Page[Subscription]{Total: p.Total, Limit: p.Limit, Offset: p.Offset, Items: make([]Subscription, 0, len(p.Items))}
	if err != nil {
		return out, err
	}
	for i := range p.Items {
		out.Items = append(out.Items, view(&p.Items[i]))
	}
	return out, nil
}

// UpdateRequest changes the fields that are set.
type UpdateRequest struct {
	URL         *string               `json:"url,omitempty"`
	Description *string               `json:"description,omitempty"`
	EventTypes  []string              `json:"event_types,omitempty"`
	Filters     *store.WebhookFilters `json:"filters,omitempty"`
	Active      *bool                 `json:"active,omitempty"`
}

// Update changes a subscription.
func (s *Service) Update(ctx context.Context, id string, req UpdateRequest) (*Subscription, error) {
	sub, err := s.repo.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if req.URL != nil {
		if sub.URL, err = s.checkURL(ctx, *req.URL); err != nil {
			return nil, err
		}
	}
	if req.EventTypes != nil {
		if sub.EventTypes, err = checkEventTypes(req.EventTypes); err != nil {
			return nil, err
		}
	}
	if req.Description != nil {
		sub.Description = *req.Description
	}
	if req.Filters != nil {
		sub.Filters = *req.Filters
	}
	if req.Active != nil {
		sub.Active = *req.Active
	}
	defer s.wanted.invalidate()
	if err := s.repo.Update(ctx, sub); err != nil {
		return nil, err
	}
	s.wakeUp() // reactivated subscriptions may have deliveries due
	v := view(sub)
	return &v, nil
}

// Delete removes a subscription and its deliveries.
func (s *Service) Delete(ctx context.Context, id string) error {
	defer s.wanted.invalidate()
	return s.repo.Delete(ctx, id)
}

// wantedTTL bounds how long a subscription changed by another process
// sharing the database goes unnoticed by this one's Publish.
const wantedTTL = 2 * time.Second

// wantedTypes caches the event types any active subscription listens to.
// Changes made through this Service invalidate it at once.
type wantedTypes struct {
	mu    sync.Mutex
	types map[string]bool
	at    time.Time
}

func (w *wantedTypes) get(ctx context.Context, repo *store.Webhooks) (map[string]bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.types != nil && time.Since(w.at) < wantedTTL {
		return w.types, nil
	}
	types, err := repo.ActiveEventTypes(ctx)
	if err != nil {
		return nil, err
	}
	w.types, w.at = types, time.Now()
	return types, nil
}

func (w *wantedTypes) invalidate() {
	w.mu.Lock()
	w.types = nil
	w.mu.Unlock()
}

// RotateSecret replaces a subscription's secret (generated when secret is
// empty) and returns the subscription with the new secret, shown this once.
// Deliveries sent from now on are signed with it.
func (s *Service) RotateSecret(ctx context.Context, id, secret string) (*Created, error) {
	sub, err := s.repo.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if secret == "" {
		if secret, err = GenerateSecret(); err != nil {
			return nil, err
		}
	}
	ct, err := s.sealer.seal(sub.ID, secret)
	if err != nil {
		return nil, err
	}
	if err := s.repo.SetSecret(ctx, sub.ID, ct); err != nil {
		return nil, err
	}
	sub, err = s.repo.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s.log.Info("webhook secret rotated", "webhook_id", sub.ID)
	return &Created{Subscription: view(sub), Secret: secret}, nil
}

// Publish records a delivery of e for every active subscription it
// matches (event type listed, every set filter equal) and wakes the
// dispatcher. It never contacts a receiver. ID (a UUIDv7) and Time (now)
// are filled when empty.
func (s *Service) Publish(ctx context.Context, e Event) error {
	if e.Type == EventTest || !KnownEventType(e.Type) {
		return invalid(CodeEventTypeInvalid, fmt.Sprintf("cannot publish event type %q", e.Type),
			"publish one of "+strings.Join(EventTypes()[:len(EventTypes())-1], ", "))
	}
	// Most events (every stored artefact, say) interest no subscription:
	// they cost no query then.
	if wanted, err := s.wanted.get(ctx, s.repo); err == nil && !wanted[e.Type] {
		return nil
	}
	subs, err := s.repo.Matching(ctx, e.Type, store.WebhookFilters{ConfigID: e.ConfigID, ExecutionID: e.ExecutionID,
		RouteID: e.RouteID, AdapterName: e.AdapterName})
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		return nil
	}
	ids := make([]string, len(subs))
	for i := range subs {
		ids[i] = subs[i].ID
	}
	_, err = s.enqueue(ctx, e, ids)
	return err
}

func (s *Service) enqueue(ctx context.Context, e Event, subs []string) ([]store.WebhookDelivery, error) {
	if e.ID == "" {
		id, err := store.NewID()
		if err != nil {
			return nil, err
		}
		e.ID = id
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	body, err := e.body()
	if err != nil {
		return nil, fmt.Errorf("encoding %s event %s: %w", e.Type, e.ID, err)
	}
	ds, err := s.repo.Enqueue(ctx, e.Type, e.ID, body, subs)
	if err != nil {
		return nil, err
	}
	s.wakeUp()
	return ds, nil
}

// Test enqueues a webhook.test event for this subscription only and
// returns its delivery.
func (s *Service) Test(ctx context.Context, subscriptionID string) (*store.WebhookDelivery, error) {
	sub, err := s.repo.Get(ctx, subscriptionID)
	if err != nil {
		return nil, err
	}
	ds, err := s.enqueue(ctx, Event{Type: EventTest, Data: map[string]any{"message": "test delivery from Factflow",
		"webhook_id": sub.ID}}, []string{sub.ID})
	if err != nil {
		return nil, err
	}
	if len(ds) != 1 {
		return nil, fmt.Errorf("enqueueing the test delivery of webhook %s: got %d deliveries", sub.ID, len(ds))
	}
	return &ds[0], nil
}

// Redeliver sends a delivery again (whatever its state), same delivery id.
func (s *Service) Redeliver(ctx context.Context, deliveryID string) (*store.WebhookDelivery, error) {
	d, err := s.repo.Redeliver(ctx, deliveryID)
	if err != nil {
		return nil, err
	}
	s.wakeUp()
	return d, nil
}

// Delivery returns one delivery.
func (s *Service) Delivery(ctx context.Context, deliveryID string) (*store.WebhookDelivery, error) {
	return s.repo.GetDelivery(ctx, deliveryID)
}

// Deliveries lists a subscription's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, subscriptionID string, limit, offset int) (store.Page[store.WebhookDelivery], error) {
	return s.repo.Deliveries(ctx, subscriptionID, limit, offset)
}

func (s *Service) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func checkEventTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, invalid(CodeEventTypeInvalid, "a webhook needs at least one event type",
			"set event_types to some of "+strings.Join(EventTypes(), ", "))
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(types))
	for _, t := range types {
		t = strings.TrimSpace(t)
		if !KnownEventType(t) {
			return nil, invalid(CodeEventTypeInvalid, fmt.Sprintf("unknown event type %q", t),
				"use some of "+strings.Join(EventTypes(), ", "))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// checkURL refuses what is not an absolute http(s) URL with a host, and
// targets the SSRF guard refuses: literal addresses, and names that
// resolve to a refused address now. Names are checked again at every
// delivery (they may resolve differently later).
func (s *Service) checkURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", invalid(CodeURLInvalid, fmt.Sprintf("webhook url %q is not an absolute http(s) URL", redactURL(raw)),
			"use http://host[:port]/path or https://host[:port]/path")
	}
	if u.User != nil {
		return "", invalid(CodeURLInvalid, "webhook url must not carry credentials",
			"authenticate the sender with the signature instead")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", invalid(CodeURLInvalid, fmt.Sprintf("webhook url port %q is invalid", p), "use a port from 1 to 65535")
		}
	}
	if err := s.guard.CheckURL(u); err != nil {
		return "", forbidden(u, err)
	}
	if _, isIP := netguard.ParseHostIP(u.Hostname()); !isIP {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupNetIP(lctx, "ip", u.Hostname())
		// A name that does not resolve now may later; the dial-time
		// check still stands guard then.
		if err == nil {
			port := uint16(80)
			if u.Scheme == "https" {
				port = 443
			}
			if p := u.Port(); p != "" {
				n, _ := strconv.Atoi(p)
				port = uint16(n)
			}
			for _, a := range addrs {
				if err := s.guard.Check(u.Hostname(), netip.AddrPortFrom(a, port)); err != nil {
					return "", forbidden(u, err)
				}
			}
		}
	}
	return u.String(), nil
}

func forbidden(u *url.URL, cause error) error {
	hint := "use a public address, or allow the target (security.allow_private_targets or its allow-list)"
	var be *netguard.BlockedError
	if errors.As(cause, &be) {
		hint = be.Hint()
	}
	return &store.Error{Code: CodeTargetForbidden, Kind: store.ErrInvalidArgument,
		Msg: fmt.Sprintf("webhook target %s is not allowed", u.Host), Hint: hint, Cause: cause}
}

// redactURL drops credentials and the query (which may hold tokens) from
// a URL for logs and messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
