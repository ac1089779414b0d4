-- Delivery statuses (each recorded once) and webhook payloads kept for inspection.

CREATE TABLE message_status_events (
    id                   UUID PRIMARY KEY NOT NULL,
    workspace_id         UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    provider_message_id  TEXT NOT NULL,
    status               TEXT NOT NULL,
    occurred_at          TIMESTAMPTZ NOT NULL,
    error_code           BIGINT,
    error_title          TEXT,
    error_details        TEXT,
    pricing              JSONB NOT NULL DEFAULT 'null',
    received_at          TIMESTAMPTZ NOT NULL,
    CONSTRAINT message_status_events_key UNIQUE (workspace_id, provider_message_id, status)
);

CREATE TABLE webhook_events (
    id               UUID PRIMARY KEY NOT NULL,
    workspace_id     UUID REFERENCES workspaces(id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('event', 'unrouted', 'dead_letter')),
    field            TEXT,
    phone_number_id  TEXT,
    reason           TEXT,
    body             BYTEA NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_events_kind_idx ON webhook_events (kind, received_at);
CREATE INDEX webhook_events_workspace_idx ON webhook_events (workspace_id, received_at);
