-- Documents and their segments, the text that search and chat retrieve.
-- Rows belong to the execution that produced them: running a pipeline
-- again indexes a new generation, and search filters by execution.
-- Vectors live in `embeddings`, created outside the numbered migrations
-- because it needs the pgvector extension, which may be missing
-- (store.Vectors reports PGVECTOR_UNAVAILABLE then; FTS keeps working).
CREATE TABLE documents (
    id            uuid PRIMARY KEY,
    execution_id  uuid        NOT NULL,
    source_key    text        NOT NULL CHECK (source_key <> ''),
    url           text        NOT NULL DEFAULT '',
    title         text        NOT NULL DEFAULT '',
    storage_key   text        NOT NULL DEFAULT '',
    markdown_key  text        NOT NULL DEFAULT '',
    metadata      jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (execution_id, source_key)
);
-- Search filters by document metadata (jsonb @>).
CREATE INDEX documents_metadata_idx ON documents USING gin (metadata jsonb_path_ops);

CREATE TABLE segments (
    id             uuid PRIMARY KEY,
    document_id    uuid        NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    execution_id   uuid        NOT NULL,
    segment_index  integer     NOT NULL CHECK (segment_index >= 0),
    text           text        NOT NULL,
    tokens         integer     NOT NULL DEFAULT 0,
    heading        text        NOT NULL DEFAULT '',
    heading_path   text[]      NOT NULL DEFAULT '{}',
    metadata       jsonb       NOT NULL DEFAULT '{}',
    language       regconfig   NOT NULL DEFAULT 'english',
    -- The two-argument to_tsvector is immutable, so the column can be
    -- generated; the language travels with the row.
    tsv            tsvector    GENERATED ALWAYS AS (to_tsvector(language, text)) STORED,
    content_hash   text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, segment_index)
);
CREATE INDEX segments_tsv_idx ON segments USING gin (tsv);
CREATE INDEX segments_execution_idx ON segments (execution_id);
CREATE INDEX segments_metadata_idx ON segments USING gin (metadata jsonb_path_ops);

-- Embedding slots: the model_name under which vectors are stored, the LLM
-- profile that produced them (and so embeds queries for them) and their
-- dimension. One slot has one dimension; slots of different dimensions
-- live side by side in `embeddings`.
CREATE TABLE embedding_models (
    model_name     text PRIMARY KEY CHECK (model_name <> ''),
    profile        text        NOT NULL DEFAULT '',
    provider_model text        NOT NULL DEFAULT '',
    dims           integer     NOT NULL CHECK (dims > 0 AND dims <= 16000),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_threads (
    id          uuid PRIMARY KEY,
    title       text        NOT NULL DEFAULT '',
    -- Retrieval settings every message of the thread uses unless it
    -- overrides them (sources, strategy, model, profiles).
    settings    jsonb       NOT NULL DEFAULT '{}',
    metadata    jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_messages (
    id          uuid PRIMARY KEY,
    thread_id   uuid        NOT NULL REFERENCES chat_threads (id) ON DELETE CASCADE,
    role        text        NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content     text        NOT NULL,
    -- The cited sources of an assistant answer, numbered as in the text.
    sources     jsonb       NOT NULL DEFAULT '[]',
    metadata    jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX chat_messages_thread_idx ON chat_messages (thread_id, created_at, id);
