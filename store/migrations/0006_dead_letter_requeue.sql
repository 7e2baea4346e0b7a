-- Requeue of dead letters: a requeued row stays as the record of what
-- failed and points at the message that replaced it. requeued_at IS NULL
-- is a pending dead letter, the ones the DLQ depth counts and the list
-- shows by default.
ALTER TABLE dead_letters
    ADD COLUMN requeued_at timestamptz,
    ADD COLUMN requeued_as text;
CREATE INDEX dead_letters_pending_idx ON dead_letters (created_at, id) WHERE requeued_at IS NULL;
