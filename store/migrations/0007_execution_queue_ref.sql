-- Where an execution's messages live (queue provider and address, never
-- credentials), so that a restarted server resumes only the executions
-- whose messages it can reach.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS queue_ref text;
CREATE INDEX IF NOT EXISTS executions_interrupted_idx ON executions (created_at) WHERE status = 'interrupted';
