-- Storage events: one row per object written, kept for a while so that a
-- client of GET /storage/events can resume with Last-Event-ID. Ids are
-- UUIDv7 drawn and inserted in one order per process, so "id > last" is
-- the resume query.
CREATE TABLE storage_events (
    id           uuid PRIMARY KEY,
    execution_id uuid,
    route        text,
    stage        text,
    key          text        NOT NULL,
    size         bigint      NOT NULL DEFAULT 0,
    content_type text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX storage_events_execution_idx ON storage_events (execution_id, id) WHERE execution_id IS NOT NULL;
CREATE INDEX storage_events_created_idx ON storage_events USING brin (created_at);
