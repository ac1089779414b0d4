-- The metrics rollup (GET /api/v1/metrics; storage crate, module rollup): additive counters per
-- (workspace, UTC day as days since the Unix epoch, conversation type, assistant), and a
-- histogram of response times per the same key and bucket (the time rounded down to two
-- significant digits). Writers append to the *_deltas tables (no unique key: concurrent
-- writers never wait on one hot row); compaction folds them into the *_days tables; queries
-- read both.
CREATE TABLE metric_days (
    workspace_id               UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    day                        BIGINT NOT NULL,
    type                       TEXT NOT NULL,
    assistant_id               UUID NOT NULL,
    conversations_started      BIGINT NOT NULL DEFAULT 0,
    messages                   BIGINT NOT NULL DEFAULT 0,
    customer_messages          BIGINT NOT NULL DEFAULT 0,
    answered_customer_messages BIGINT NOT NULL DEFAULT 0,
    cost_micros                BIGINT NOT NULL DEFAULT 0,
    responses_timed            BIGINT NOT NULL DEFAULT 0,
    response_time_sum_ms       BIGINT NOT NULL DEFAULT 0,
    llm_latency_count          BIGINT NOT NULL DEFAULT 0,
    llm_latency_sum_ms         BIGINT NOT NULL DEFAULT 0,
    llm_failures               BIGINT NOT NULL DEFAULT 0,
    timeouts                   BIGINT NOT NULL DEFAULT 0,
    failed_deliveries          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, day, type, assistant_id)
);
CREATE TABLE metric_deltas (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id               UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    day                        BIGINT NOT NULL,
    type                       TEXT NOT NULL,
    assistant_id               UUID NOT NULL,
    conversations_started      BIGINT NOT NULL DEFAULT 0,
    messages                   BIGINT NOT NULL DEFAULT 0,
    customer_messages          BIGINT NOT NULL DEFAULT 0,
    answered_customer_messages BIGINT NOT NULL DEFAULT 0,
    cost_micros                BIGINT NOT NULL DEFAULT 0,
    responses_timed            BIGINT NOT NULL DEFAULT 0,
    response_time_sum_ms       BIGINT NOT NULL DEFAULT 0,
    llm_latency_count          BIGINT NOT NULL DEFAULT 0,
    llm_latency_sum_ms         BIGINT NOT NULL DEFAULT 0,
    llm_failures               BIGINT NOT NULL DEFAULT 0,
    timeouts                   BIGINT NOT NULL DEFAULT 0,
    failed_deliveries          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX metric_deltas_workspace_day_idx ON metric_deltas (workspace_id, day);
CREATE TABLE response_time_days (
    workspace_id               UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    day                        BIGINT NOT NULL,
    type                       TEXT NOT NULL,
    assistant_id               UUID NOT NULL,
    bucket                     BIGINT NOT NULL,
    responses                  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day, type, assistant_id, bucket)
);
CREATE TABLE response_time_deltas (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id               UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    day                        BIGINT NOT NULL,
    type                       TEXT NOT NULL,
    assistant_id               UUID NOT NULL,
    bucket                     BIGINT NOT NULL,
    responses                  BIGINT NOT NULL
);
CREATE INDEX response_time_deltas_workspace_day_idx ON response_time_deltas (workspace_id, day);

-- active conversations (open during a range): created before its end, last message at or after its start
CREATE INDEX conversations_workspace_last_message_idx ON conversations (workspace_id, last_message_at, created_at, type, assistant_id);

-- an existing database gets its rollup computed from its history by the store's migrate step
-- (the same SQL as MetricsStore::rebuild_metrics_rollup), which then empties this table
CREATE TABLE metrics_rollup_backfill (pending BIGINT NOT NULL);
INSERT INTO metrics_rollup_backfill (pending) VALUES (1);
