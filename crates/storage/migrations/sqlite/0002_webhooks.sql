-- Delivery statuses (each recorded once) and webhook payloads kept for inspection.

CREATE TABLE message_status_events (
    id                   BLOB PRIMARY KEY NOT NULL,
    workspace_id         BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    provider_message_id  TEXT NOT NULL,
    status               TEXT NOT NULL,
    occurred_at          INTEGER NOT NULL,
    error_code           INTEGER,
    error_title          TEXT,
    error_details        TEXT,
    pricing              TEXT NOT NULL DEFAULT 'null',
    received_at          INTEGER NOT NULL,
    CONSTRAINT message_status_events_key UNIQUE (workspace_id, provider_message_id, status)
);

CREATE TABLE webhook_events (
    id               BLOB PRIMARY KEY NOT NULL,
    workspace_id     BLOB REFERENCES workspaces(id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('event', 'unrouted', 'dead_letter')),
    field            TEXT,
    phone_number_id  TEXT,
    reason           TEXT,
    body             BLOB NOT NULL,
    received_at      INTEGER NOT NULL
);
CREATE INDEX webhook_events_kind_idx ON webhook_events (kind, received_at);
CREATE INDEX webhook_events_workspace_idx ON webhook_events (workspace_id, received_at);
