-- Webhooks: subscriptions and their delivery outbox. A delivery row is
-- written when the event is published and is the only record the
-- dispatcher works from, so no delivery is lost across a restart. The
-- secret is kept encrypted (AES-GCM under a key outside the database),
-- never in plain text.
CREATE TABLE webhook_subscriptions (
    id                uuid PRIMARY KEY,
    url               text        NOT NULL,
    description       text        NOT NULL DEFAULT '',
    event_types       text[]      NOT NULL CHECK (cardinality(event_types) > 0),
    -- {config_id, execution_id, route_id, adapter_name}; absent keys match
    -- everything, present ones must all be equal (AND).
    filters           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    secret_ciphertext bytea       NOT NULL,
    active            boolean     NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    -- The id receivers de-duplicate on (X-Factflow-Delivery); a redelivery
    -- keeps it.
    id              uuid PRIMARY KEY,
    subscription_id uuid        NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    -- Per-subscription order: a delivery is only sent once every delivery
    -- of the same subscription with a lower seq is succeeded or dead.
    seq             bigserial   NOT NULL,
    event_type      text        NOT NULL,
    event_id        text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set while a dispatcher sends: no other dispatcher claims the row
    -- before it passes (a dispatcher that died gives it up this way).
    lease_until     timestamptz,
    last_status     integer,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);

-- The head of each subscription's pending queue, and the due ones.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (subscription_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Per-subscription listing, newest first.
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, seq DESC);
