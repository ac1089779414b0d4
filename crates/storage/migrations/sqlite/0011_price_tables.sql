-- A workspace's own price table (token prices per model, channel fees), as JSON; without a
-- row the workspace uses the built-in defaults.
CREATE TABLE price_tables (
    workspace_id  BLOB PRIMARY KEY NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    prices        TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Channel fees a provider reports with a delivery status (Meta's `pricing`), charged once per
-- message: the fee each status reported, and the fee the message was charged (NULL: none yet).
ALTER TABLE message_status_events ADD COLUMN fee_micros INTEGER;
ALTER TABLE messages ADD COLUMN channel_fee_micros INTEGER;
