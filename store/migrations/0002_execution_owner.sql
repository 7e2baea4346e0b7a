-- Execution ownership: the process (instance) running an execution holds a
-- session advisory lock named after its instance id for as long as it
-- lives. Start-up recovery takes over only executions whose owner's lock is
-- free, so processes sharing one database never interrupt each other.
ALTER TABLE executions ADD COLUMN owner_id text;

CREATE INDEX executions_active_owner_idx ON executions (owner_id)
    WHERE status IN ('pending', 'running', 'cancelling');
