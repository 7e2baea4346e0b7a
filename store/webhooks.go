package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Webhook error codes.
const (
	CodeWebhookNotFound         = "WEBHOOK_NOT_FOUND"
	CodeWebhookDeliveryNotFound = "WEBHOOK_DELIVERY_NOT_FOUND"
	// CodeWebhookDeliveryInFlight: a redelivery was asked for while the
	// delivery is being sent.
	CodeWebhookDeliveryInFlight = "WEBHOOK_DELIVERY_IN_FLIGHT"
)

// Webhook delivery states.
const (
	WebhookDeliveryPending   = "pending"
	WebhookDeliverySucceeded = "succeeded"
	WebhookDeliveryDead      = "dead"
)

// WebhookFilters restrict a subscription to events with these attributes.
// Empty fields match every event; set ones must all be equal (AND).
type WebhookFilters struct {
	ConfigID    string `json:"config_id,omitempty"`
	ExecutionID string `json:"execution_id,omitempty"`
	RouteID     string `json:"route_id,omitempty"`
	AdapterName string `json:"adapter_name,omitempty"`
}

// WebhookSubscription is one stored subscription. The secret is only ever
// held encrypted here; the webhooks package owns the key.
type WebhookSubscription struct {
	ID               string         `json:"id"`
	URL              string         `json:"url"`
	Description      string         `json:"description"`
	EventTypes       []string       `json:"event_types"`
	Filters          WebhookFilters `json:"filters"`
	SecretCiphertext []byte         `json:"-"`
	Active           bool           `json:"active"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
}

// WebhookDelivery is one event to send to one subscription.
type WebhookDelivery struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	Seq            int64           `json:"seq"`
	EventType      string          `json:"event_type"`
	EventID        string          `json:"event_id"`
	Payload        json.RawMessage `json:"payload"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  time.Time       `json:"next_attempt_at"`
	LastStatus     int             `json:"last_status,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
}

// ClaimedDelivery is a delivery a dispatcher holds the lease of, with what
// it needs to send it.
type ClaimedDelivery struct {
	WebhookDelivery
	URL              string
	SecretCiphertext []byte
}

// Webhooks stores webhook subscriptions and their delivery outbox.
type Webhooks struct{ pool *pgxpool.Pool }

// NewWebhooks returns the webhook repository of db.
func NewWebhooks(db *DB) *Webhooks { return &Webhooks{pool: db.pool} }

const webhookSubColumns = `id, url, description, event_types, filters, secret_ciphertext, active, created_at, updated_at`

const webhookDeliveryColumns = `id, subscription_id, seq, event_type, event_id, payload, status, attempts,
next_attempt_at, last_status, last_error, created_at, delivered_at`

const (
	sqlWebhookInsert = `INSERT INTO webhook_subscriptions (id, url, description, event_types, filters, secret_ciphertext, active)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at, updated_at`

	sqlWebhookUpdate = `UPDATE webhook_subscriptions SET url = $2, description = $3, event_types = $4, filters = $5,
    active = $6, updated_at = now() WHERE id = $1 RETURNING created_at, updated_at`

	sqlWebhookSetSecret = `UPDATE webhook_subscriptions SET secret_ciphertext = $2, updated_at = now() WHERE id = $1`

	sqlWebhookMatching = `SELECT ` + webhookSubColumns + ` FROM webhook_subscriptions
WHERE active AND $1 = ANY(event_types)
  AND (filters->>'config_id' IS NULL OR filters->>'config_id' = $2)
  AND (filters->>'execution_id' IS NULL OR filters->>'execution_id' = $3)
  AND (filters->>'route_id' IS NULL OR filters->>'route_id' = $4)
  AND (filters->>'adapter_name' IS NULL OR filters->>'adapter_name' = $5)
ORDER BY id`

	sqlWebhookEnqueue = `INSERT INTO webhook_deliveries (id, subscription_id, event_type, event_id, payload, next_attempt_at)
SELECT d.id, d.sub, $3, $4, $5, now()
FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS d(id, sub, n)
ORDER BY d.n
RETURNING ` + webhookDeliveryColumns

	// The head of every active subscription's pending queue, if it is due
	// and not leased, is leased until $3. SKIP LOCKED keeps two claimers
	// off the same row; the UPDATE re-checks lease_until on the newest row
	// version, so a row another claimer has just leased is skipped even
	// when this statement's snapshot saw it free.
	sqlWebhookClaim = `WITH heads AS (
    SELECT DISTINCT ON (d.subscription_id) d.id, d.next_attempt_at, d.lease_until
    FROM webhook_deliveries d
    JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.active
    WHERE d.status = 'pending'
    ORDER BY d.subscription_id, d.seq
), due AS (
    SELECT d.id FROM webhook_deliveries d JOIN heads h ON h.id = d.id
    WHERE h.next_attempt_at <= $1 AND (h.lease_until IS NULL OR h.lease_until <= $1)
    ORDER BY h.next_attempt_at
    LIMIT $2
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries w SET lease_until = $3
FROM due, webhook_subscriptions s
WHERE w.id = due.id AND s.id = w.subscription_id AND w.status = 'pending' AND w.next_attempt_at <= $1
  AND (w.lease_until IS NULL OR w.lease_until <= $1)
RETURNING w.id, w.subscription_id, w.seq, w.event_type, w.event_id, w.payload, w.status, w.attempts,
    w.next_attempt_at, w.last_status, w.last_error, w.created_at, w.delivered_at, s.url, s.secret_ciphertext`

	sqlWebhookMarkSucceeded = `UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1,
    last_status = $2, last_error = '', delivered_at = $3, lease_until = NULL WHERE id = $1 AND status = 'pending'`

	sqlWebhookMarkRetry = `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2,
    last_status = $3, last_error = $4, lease_until = NULL WHERE id = $1 AND status = 'pending'`

	sqlWebhookMarkDead = `UPDATE webhook_deliveries SET status = 'dead', attempts = attempts + 1,
    last_status = $2, last_error = $3, lease_until = NULL WHERE id = $1 AND status = 'pending'`

	sqlWebhookRelease = `UPDATE webhook_deliveries SET lease_until = NULL WHERE id = $1 AND status = 'pending'`

	// A delivery being sent right now is left alone: resetting it would
	// let a second dispatcher send it concurrently.
	sqlWebhookRedeliver = `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),
    delivered_at = NULL WHERE id = $1 AND NOT (status = 'pending' AND lease_until > now())
RETURNING ` + webhookDeliveryColumns

	sqlWebhookLeased = `SELECT lease_until > now() FROM webhook_deliveries WHERE id = $1 AND status = 'pending'`
)

func scanWebhookSub(row pgx.Row) (*WebhookSubscription, error) {
	var (
		s       WebhookSubscription
		filters []byte
	)
	if err := row.Scan(&s.ID, &s.URL, &s.Description, &s.EventTypes, &filters, &s.SecretCiphertext, &s.Active,
		&s.CreatedAt, &s.UpdatedAt); err != nil {
		return nil, err
	}
	if len(filters) > 0 {
		if err := json.Unmarshal(filters, &s.Filters); err != nil {
			return nil, fmt.Errorf("decoding webhook filters: %w", err)
		}
	}
	return &s, nil
}

func webhookDeliveryDest(d *WebhookDelivery, lastStatus **int32, payload *[]byte) []any {
	return []any{&d.ID, &d.SubscriptionID, &d.Seq, &d.EventType, &d.EventID, payload, &d.Status, &d.Attempts,
		&d.NextAttemptAt, lastStatus, &d.LastError, &d.CreatedAt, &d.DeliveredAt}
}

func scanWebhookDelivery(row pgx.Row, extra ...any) (*WebhookDelivery, error) {
	var (
		d          WebhookDelivery
		lastStatus *int32
		payload    []byte
	)
	if err := row.Scan(append(webhookDeliveryDest(&d, &lastStatus, &payload), extra...)...); err != nil {
		return nil, err
	}
	if lastStatus != nil {
		d.LastStatus = int(*lastStatus)
	}
	d.Payload = json.RawMessage(payload)
	return &d, nil
}

func (s *WebhookSubscription) validate() error {
	if s.URL == "" {
		return invalidArg("webhook subscription needs a url", "set url to the receiver's http(s) address")
	}
	if len(s.EventTypes) == 0 {
		return invalidArg("webhook subscription needs at least one event type", "set event_types")
	}
	if len(s.SecretCiphertext) == 0 {
		return invalidArg("webhook subscription needs a secret", "create subscriptions through the webhook service")
	}
	return nil
}

// Create stores a subscription, filling ID (a UUIDv7 unless set),
// CreatedAt and UpdatedAt.
func (r *Webhooks) Create(ctx context.Context, s *WebhookSubscription) error {
	if err := s.validate(); err != nil {
		return err
	}
	if s.ID == "" {
		var err error
		if s.ID, err = NewID(); err != nil {
			return err
		}
	} else if _, ok := validID(s.ID); !ok {
		return invalidArg(fmt.Sprintf("webhook id %q is not a UUID", s.ID), "leave the id empty to have one generated")
	}
	filters, err := json.Marshal(s.Filters)
	if err != nil {
		return fmt.Errorf("encoding webhook filters: %w", err)
	}
	err = r.pool.QueryRow(ctx, sqlWebhookInsert, s.ID, s.URL, s.Description, s.EventTypes, filters,
		s.SecretCiphertext, s.Active).Scan(&s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		if code, _ := pgCode(err); code == sqlstateUniqueViolation {
			return &Error{Code: CodeConflict, Kind: ErrConflict, Msg: fmt.Sprintf("webhook %s already exists", s.ID), Cause: err}
		}
		return fmt.Errorf("creating webhook subscription: %w", err)
	}
	return nil
}

// Get returns one subscription.
func (r *Webhooks) Get(ctx context.Context, id string) (*WebhookSubscription, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeWebhookNotFound, "webhook", id)
	}
	s, err := scanWebhookSub(r.pool.QueryRow(ctx, `SELECT `+webhookSubColumns+` FROM webhook_subscriptions WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, notFound(CodeWebhookNotFound, "webhook", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading webhook %s: %w", id, err)
	}
	return s, nil
}

// List returns subscriptions oldest first, a page at a time.
func (r *Webhooks) List(ctx context.Context, limit, offset int) (Page[WebhookSubscription], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[WebhookSubscription]{Limit: limit, Offset: offset, Items: []WebhookSubscription{}}
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_subscriptions`).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting webhooks: %w", err)
	}
	rows, err := r.pool.Query(ctx, `SELECT `+webhookSubColumns+` FROM webhook_subscriptions ORDER BY id LIMIT $1 OFFSET $2`,
		limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing webhooks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanWebhookSub(rows)
		if err != nil {
			return page, fmt.Errorf("listing webhooks: %w", err)
		}
		page.Items = append(page.Items, *s)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing webhooks: %w", err)
	}
	return page, nil
}

// Update writes URL, Description, EventTypes, Filters and Active of s (not
// the secret: see SetSecret) and refreshes its timestamps.
func (r *Webhooks) Update(ctx context.Context, s *WebhookSubscription) error {
	if _, ok := validID(s.ID); !ok {
		return notFound(CodeWebhookNotFound, "webhook", s.ID)
	}
	if s.URL == "" || len(s.EventTypes) == 0 {
		return invalidArg("webhook subscription needs a url and at least one event type", "set url and event_types")
	}
	filters, err := json.Marshal(s.Filters)
	if err != nil {
		return fmt.Errorf("encoding webhook filters: %w", err)
	}
	err = r.pool.QueryRow(ctx, sqlWebhookUpdate, s.ID, s.URL, s.Description, s.EventTypes, filters, s.Active).
		Scan(&s.CreatedAt, &s.UpdatedAt)
	if isNoRows(err) {
		return notFound(CodeWebhookNotFound, "webhook", s.ID)
	}
	if err != nil {
		return fmt.Errorf("updating webhook %s: %w", s.ID, err)
	}
	return nil
}

// SetSecret replaces the encrypted secret of a subscription.
func (r *Webhooks) SetSecret(ctx context.Context, id string, ciphertext []byte) error {
	if _, ok := validID(id); !ok {
		return notFound(CodeWebhookNotFound, "webhook", id)
	}
	if len(ciphertext) == 0 {
		return invalidArg("webhook secret is empty", "pass the encrypted secret")
	}
	tag, err := r.pool.Exec(ctx, sqlWebhookSetSecret, id, ciphertext)
	if err != nil {
		return fmt.Errorf("setting the secret of webhook %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(CodeWebhookNotFound, "webhook", id)
	}
	return nil
}

// Delete removes a subscription and its deliveries.
func (r *Webhooks) Delete(ctx context.Context, id string) error {
	if _, ok := validID(id); !ok {
		return notFound(CodeWebhookNotFound, "webhook", id)
	}
	tag, err := r.pool.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("deleting webhook %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(CodeWebhookNotFound, "webhook", id)
	}
	return nil
}

// Matching returns the active subscriptions to eventType whose filters all
// equal the event's attributes in attrs.
func (r *Webhooks) Matching(ctx context.Context, eventType string, attrs WebhookFilters) ([]WebhookSubscription, error) {
	rows, err := r.pool.Query(ctx, sqlWebhookMatching, eventType, attrs.ConfigID, attrs.ExecutionID, attrs.RouteID,
		attrs.AdapterName)
	if err != nil {
		return nil, fmt.Errorf("matching webhooks for %s: %w", eventType, err)
	}
	defer rows.Close()
	var out []WebhookSubscription
	for rows.Next() {
		s, err := scanWebhookSub(rows)
		if err != nil {
			return nil, fmt.Errorf("matching webhooks for %s: %w", eventType, err)
		}
		out = append(out, *s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("matching webhooks for %s: %w", eventType, err)
	}
	return out, nil
}

// ActiveEventTypes lists the event types at least one active subscription
// listens to.
func (r *Webhooks) ActiveEventTypes(ctx context.Context) (map[string]bool, error) {
	rows, err := r.pool.Query(ctx, `SELECT DISTINCT unnest(event_types) FROM webhook_subscriptions WHERE active`)
	if err != nil {
		return nil, fmt.Errorf("listing the event types of active webhooks: %w", err)
	}
	types, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing the event types of active webhooks: %w", err)
	}
	out := make(map[string]bool, len(types))
	for _, t := range types {
		out[t] = true
	}
	return out, nil
}

// Enqueue records one pending delivery of the event to each subscription,
// in one statement, due now. payload is the JSON body to send. Deliveries
// are ordered per subscription by this insert; two Enqueue calls running
// at the same time have no order between them.
func (r *Webhooks) Enqueue(ctx context.Context, eventType, eventID string, payload []byte, subscriptionIDs []string) ([]WebhookDelivery, error) {
	if len(subscriptionIDs) == 0 {
		return nil, nil
	}
	if !json.Valid(payload) {
		return nil, invalidArg("webhook payload is not valid JSON", "pass a JSON document")
	}
	ids := make([]string, len(subscriptionIDs))
	for i, sub := range subscriptionIDs {
		if _, ok := validID(sub); !ok {
			return nil, notFound(CodeWebhookNotFound, "webhook", sub)
		}
		var err error
		if ids[i], err = NewID(); err != nil {
			return nil, err
		}
	}
	rows, err := r.pool.Query(ctx, sqlWebhookEnqueue, ids, subscriptionIDs, eventType, eventID, payload)
	if err != nil {
		return nil, fmt.Errorf("enqueueing %s deliveries: %w", eventType, err)
	}
	out, err := collectDeliveries(rows)
	if err != nil {
		if code, _ := pgCode(err); code == sqlstateForeignKeyViolation {
			return nil, &Error{Code: CodeWebhookNotFound, Kind: ErrNotFound, Msg: "a webhook to deliver to no longer exists",
				Hint: "list the webhooks to find the current ones", Cause: err}
		}
		return nil, fmt.Errorf("enqueueing %s deliveries: %w", eventType, err)
	}
	return out, nil
}

func collectDeliveries(rows pgx.Rows) ([]WebhookDelivery, error) {
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		d, err := scanWebhookDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// ClaimDue leases up to limit due deliveries until leaseUntil: for each
// active subscription at most its oldest pending delivery, and only when
// that one is due at now and not leased. A later delivery of a subscription is therefore
// never claimed before the earlier ones are succeeded or dead, and a leased
// delivery is claimed by no one else until the lease passes (the holder
// marks it before then; if it dies, the delivery comes back on its own).
func (r *Webhooks) ClaimDue(ctx context.Context, now time.Time, limit int, leaseUntil time.Time) ([]ClaimedDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	if !leaseUntil.After(now) {
		return nil, invalidArg("the lease must end after now", "pass now plus the longest a send may take")
	}
	rows, err := r.pool.Query(ctx, sqlWebhookClaim, now, limit, leaseUntil)
	if err != nil {
		return nil, fmt.Errorf("claiming due webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []ClaimedDelivery
	for rows.Next() {
		var c ClaimedDelivery
		d, err := scanWebhookDelivery(rows, &c.URL, &c.SecretCiphertext)
		if err != nil {
			return nil, fmt.Errorf("claiming due webhook deliveries: %w", err)
		}
		c.WebhookDelivery = *d
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claiming due webhook deliveries: %w", err)
	}
	return out, nil
}

func (r *Webhooks) mark(ctx context.Context, what, id, sql string, args ...any) error {
	if _, ok := validID(id); !ok {
		return notFound(CodeWebhookDeliveryNotFound, "webhook delivery", id)
	}
	tag, err := r.pool.Exec(ctx, sql, append([]any{id}, args...)...)
	if err != nil {
		return fmt.Errorf("marking webhook delivery %s %s: %w", id, what, err)
	}
	if tag.RowsAffected() == 0 {
		return &Error{Code: CodeWebhookDeliveryNotFound, Kind: ErrNotFound,
			Msg:  fmt.Sprintf("pending webhook delivery %q not found", id),
			Hint: "the delivery was deleted or is no longer pending"}
	}
	return nil
}

func nullStatus(status int) *int32 {
	if status == 0 {
		return nil
	}
	s := int32(status)
	return &s
}

// MarkSucceeded records a successful attempt (HTTP status) at time at.
func (r *Webhooks) MarkSucceeded(ctx context.Context, id string, status int, at time.Time) error {
	return r.mark(ctx, "succeeded", id, sqlWebhookMarkSucceeded, nullStatus(status), at)
}

// MarkRetry records a failed attempt (status 0 when no response came) and
// makes the delivery due again at next.
func (r *Webhooks) MarkRetry(ctx context.Context, id string, next time.Time, status int, errMsg string) error {
	return r.mark(ctx, "for retry", id, sqlWebhookMarkRetry, next, nullStatus(status), errMsg)
}

// MarkDead records a final failed attempt: the delivery is given up on.
func (r *Webhooks) MarkDead(ctx context.Context, id string, status int, errMsg string) error {
	return r.mark(ctx, "dead", id, sqlWebhookMarkDead, nullStatus(status), errMsg)
}

// Release gives a leased delivery back without counting an attempt (a
// dispatcher shutting down mid-send): it is due again at once.
func (r *Webhooks) Release(ctx context.Context, id string) error {
	return r.mark(ctx, "released", id, sqlWebhookRelease)
}

// GetDelivery returns one delivery.
func (r *Webhooks) GetDelivery(ctx context.Context, id string) (*WebhookDelivery, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeWebhookDeliveryNotFound, "webhook delivery", id)
	}
	d, err := scanWebhookDelivery(r.pool.QueryRow(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, notFound(CodeWebhookDeliveryNotFound, "webhook delivery", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading webhook delivery %s: %w", id, err)
	}
	return d, nil
}

// Deliveries lists a subscription's deliveries, newest first.
func (r *Webhooks) Deliveries(ctx context.Context, subscriptionID string, limit, offset int) (Page[WebhookDelivery], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[WebhookDelivery]{Limit: limit, Offset: offset, Items: []WebhookDelivery{}}
	if _, err := r.Get(ctx, subscriptionID); err != nil {
		return page, err
	}
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1`, subscriptionID).
		Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting deliveries of webhook %s: %w", subscriptionID, err)
	}
	rows, err := r.pool.Query(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries WHERE subscription_id = $1
ORDER BY seq DESC LIMIT $2 OFFSET $3`, subscriptionID, limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing deliveries of webhook %s: %w", subscriptionID, err)
	}
	items, err := collectDeliveries(rows)
	if err != nil {
		return page, fmt.Errorf("listing deliveries of webhook %s: %w", subscriptionID, err)
	}
	page.Items = append(page.Items, items...)
	return page, nil
}

// Redeliver makes a delivery pending and due now again, whatever its state,
// with a fresh attempt count. It keeps its id (receivers de-duplicate on it)
// and its place in the subscription's order. A delivery being sent at this
// moment is a CodeWebhookDeliveryInFlight conflict.
func (r *Webhooks) Redeliver(ctx context.Context, id string) (*WebhookDelivery, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeWebhookDeliveryNotFound, "webhook delivery", id)
	}
	d, err := scanWebhookDelivery(r.pool.QueryRow(ctx, sqlWebhookRedeliver, id))
	if isNoRows(err) {
		var leased *bool
		lerr := r.pool.QueryRow(ctx, sqlWebhookLeased, id).Scan(&leased)
		if lerr == nil && leased != nil && *leased {
			return nil, &Error{Code: CodeWebhookDeliveryInFlight, Kind: ErrConflict,
				Msg:  fmt.Sprintf("webhook delivery %q is being sent right now", id),
				Hint: "wait for the attempt to finish, then redeliver if it failed"}
		}
		return nil, notFound(CodeWebhookDeliveryNotFound, "webhook delivery", id)
	}
	if err != nil {
		return nil, fmt.Errorf("redelivering webhook delivery %s: %w", id, err)
	}
	return d, nil
}
