-- Content archive jobs: a zip of selected artefacts, built in the
-- background into archives/<job>.zip. owner_id is the instance building
-- it, so that a restart can tell an orphaned job from a live one.
CREATE TABLE archive_jobs (
    id            uuid PRIMARY KEY,
    status        text        NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    selection     jsonb       NOT NULL,
    objects_total integer     NOT NULL DEFAULT 0,
    objects_done  integer     NOT NULL DEFAULT 0,
    bytes_done    bigint      NOT NULL DEFAULT 0,
    archive_key   text        NOT NULL,
    archive_size  bigint      NOT NULL DEFAULT 0,
    error         text,
    owner_id      text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX archive_jobs_active_idx ON archive_jobs (owner_id) WHERE status IN ('pending', 'running');
