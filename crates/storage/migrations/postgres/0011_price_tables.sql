-- A workspace's own price table (token prices per model, channel fees), as JSON; without a
-- row the workspace uses the built-in defaults.
CREATE TABLE price_tables (
    workspace_id  UUID PRIMARY KEY NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    prices        JSONB NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
