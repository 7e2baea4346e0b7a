-- Indexes of the lineage explorer (GET /lineage and its sub-resources).
-- 0001 already indexes correlation_id, parent_correlation_id (partial),
-- (execution_id, started_at, id), (execution_id, route_id, stage_status)
-- and started_at (BRIN); these add what the explorer's filters and sorts
-- need to stay fast on millions of rows.

-- Newest-first pages over the whole table: BRIN cannot return rows in
-- order, so without a B-tree every unfiltered page is a full sort.
CREATE INDEX lineage_started_id_idx ON lineage (started_at, id);

-- completed_at follows started_at closely, so a BRIN index serves
-- completion-time ranges as cheaply as lineage_started_idx serves start
-- ranges.
CREATE INDEX lineage_completed_idx ON lineage USING brin (completed_at);

-- Replay batches are a small part of the table; index only their rows.
CREATE INDEX lineage_replay_batch_idx ON lineage (replay_batch_id, started_at, id)
    WHERE replay_batch_id IS NOT NULL;

-- Failures are a few percent of the rows and are read newest first, across
-- executions or within one.
CREATE INDEX lineage_failed_started_idx ON lineage (started_at, id)
    WHERE stage_status = 'failed';
CREATE INDEX lineage_failed_execution_idx ON lineage (execution_id, started_at, id)
    WHERE stage_status = 'failed';

-- Exact metadata matches (metadata @> '{"key": "value"}').
CREATE INDEX lineage_metadata_path_idx ON lineage USING gin (metadata jsonb_path_ops);

-- Partial, case-insensitive matches inside metadata are not indexed: a
-- trigram index over the metadata text doubled what the lineage writer
-- pays per row (bench/lineage), and lineage is written for every message
-- while partial searches are rare and usually narrowed by an execution.
