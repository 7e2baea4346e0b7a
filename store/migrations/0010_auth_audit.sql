-- API tokens and the audit log. A token is kept only as the SHA-256 of its
-- text: tokens are 256-bit random strings, so a plain hash cannot be
-- reversed, and lookups by hash need no per-row salt. The prefix is the
-- first characters of the token, shown in listings so an operator can tell
-- tokens apart without the secret.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    hash         bytea       NOT NULL UNIQUE,
    scopes       text[]      NOT NULL CHECK (cardinality(scopes) > 0),
    created_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Every mutating API call, allowed or refused. Rows are only ever
-- inserted; the id orders them (UUIDv7).
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    actor_kind  text        NOT NULL,
    action      text        NOT NULL,
    method      text        NOT NULL,
    target      text        NOT NULL,
    status      integer     NOT NULL,
    result      text        NOT NULL CHECK (result IN ('ok', 'error', 'denied')),
    error_code  text        NOT NULL DEFAULT '',
    request_id  text        NOT NULL DEFAULT '',
    remote_addr text        NOT NULL DEFAULT '',
    duration_ms integer     NOT NULL DEFAULT 0
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_target ON audit_log (target text_pattern_ops);
