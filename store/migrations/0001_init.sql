-- Core tables: pipeline configs, executions and their timeline, lineage,
-- dead letters and persisted route pause states.

CREATE TABLE pipeline_configs (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL CHECK (name <> ''),
    description text        NOT NULL DEFAULT '',
    yaml        text        NOT NULL,
    source_type text        NOT NULL DEFAULT 'api'
                CHECK (source_type IN ('api', 'file', 'shipped', 'imported', 'cli', 'replay')),
    source_path text,
    hash        text        NOT NULL,
    version     integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Shipped pipelines are upserted by the file they come from.
CREATE UNIQUE INDEX pipeline_configs_source_path_key
    ON pipeline_configs (source_path) WHERE source_path IS NOT NULL;
CREATE INDEX pipeline_configs_name_idx ON pipeline_configs (name);
CREATE INDEX pipeline_configs_active_created_idx ON pipeline_configs (created_at DESC, id DESC) WHERE is_active;

-- Every YAML a config ever had; version 1 is the YAML it was created with.
CREATE TABLE pipeline_config_versions (
    config_id   uuid        NOT NULL REFERENCES pipeline_configs (id) ON DELETE CASCADE,
    version     integer     NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    yaml        text        NOT NULL,
    hash        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (config_id, version)
);

CREATE TABLE executions (
    id                  uuid PRIMARY KEY,
    config_id           uuid REFERENCES pipeline_configs (id) ON DELETE SET NULL,
    config_name         text        NOT NULL DEFAULT '',
    status              text        NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'running', 'completed', 'failed',
                                          'cancelling', 'cancelled', 'interrupted')),
    tag                 text UNIQUE CHECK (tag <> ''),
    config_snapshot     jsonb,
    root_correlation_id text,
    parent_execution_id uuid REFERENCES executions (id) ON DELETE SET NULL,
    replay_source       jsonb,
    metadata            jsonb,
    error_info          jsonb,
    idempotency_key     text CHECK (idempotency_key <> ''),
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX executions_created_idx ON executions (created_at DESC, id DESC);
CREATE INDEX executions_status_idx ON executions (status, created_at DESC);
CREATE INDEX executions_config_idx ON executions (config_id, created_at DESC);
CREATE INDEX executions_parent_idx ON executions (parent_execution_id) WHERE parent_execution_id IS NOT NULL;
CREATE INDEX executions_idempotency_idx ON executions (idempotency_key, created_at DESC)
    WHERE idempotency_key IS NOT NULL;

-- The status timeline. Ids are UUIDv7, so ordering by id is ordering by time
-- and an id doubles as an SSE event id.
CREATE TABLE execution_events (
    id           uuid PRIMARY KEY,
    execution_id uuid        NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    type         text        NOT NULL CHECK (type <> ''),
    status       text,
    route        text,
    reason       text,
    data         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX execution_events_execution_idx ON execution_events (execution_id, id);

-- One row per message per adapter invocation. Rows are only ever inserted
-- (by the batched COPY writer), never updated, so pages are filled completely
-- and vacuum has only to mark them all-visible, which keeps index-only scans
-- cheap. There is deliberately no foreign key to executions: it would cost a
-- lookup per copied row on the hottest write path.
CREATE TABLE lineage (
    id                    uuid PRIMARY KEY,
    correlation_id        text             NOT NULL,
    parent_correlation_id text,
    replay_batch_id       text,
    execution_id          uuid             NOT NULL,
    route_id              text             NOT NULL,
    adapter_name          text             NOT NULL,
    adapter_index         integer          NOT NULL,
    stage_name            text             NOT NULL,
    stage_status          text             NOT NULL,
    input_hash            text,
    started_at            timestamptz      NOT NULL,
    completed_at          timestamptz,
    duration_ms           double precision NOT NULL DEFAULT 0,
    metadata              jsonb,
    error_info            jsonb
) WITH (
    fillfactor = 100,
    -- Insert-only tables are vacuumed on inserted-row thresholds (PostgreSQL
    -- 13+); a lower scale factor keeps the visibility map current on big tables.
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.05
);
CREATE INDEX lineage_execution_started_idx ON lineage (execution_id, started_at, id) WITH (fillfactor = 100);
CREATE INDEX lineage_execution_route_idx ON lineage (execution_id, route_id, stage_status);
CREATE INDEX lineage_correlation_idx ON lineage (correlation_id);
CREATE INDEX lineage_parent_correlation_idx ON lineage (parent_correlation_id)
    WHERE parent_correlation_id IS NOT NULL;
-- Rows arrive in time order, so a BRIN index serves time-range scans over
-- the whole table at a fraction of a B-tree's insert cost.
CREATE INDEX lineage_started_idx ON lineage USING brin (started_at);

-- The dead-letter queue of record. The payload is kept byte for byte, so a
-- requeue republishes exactly what failed, even if it is not valid JSON.
CREATE TABLE dead_letters (
    id              uuid PRIMARY KEY,
    execution_id    uuid        NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    route           text        NOT NULL,
    adapter         text        NOT NULL DEFAULT '',
    queue           text        NOT NULL,
    correlation_id  text        NOT NULL DEFAULT '',
    payload         bytea       NOT NULL,
    headers         jsonb,
    reason          text        NOT NULL DEFAULT '',
    error_class     text        NOT NULL DEFAULT '',
    attempt         integer     NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_execution_idx ON dead_letters (execution_id, created_at, id);
CREATE INDEX dead_letters_created_idx ON dead_letters (created_at, id);

-- Pause/resume is per route key (the YAML map key) and outlives executions.
CREATE TABLE route_states (
    route_key  text PRIMARY KEY CHECK (route_key <> ''),
    state      text        NOT NULL CHECK (state IN ('paused', 'running')),
    updated_at timestamptz NOT NULL DEFAULT now()
);
