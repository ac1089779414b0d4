-- HTTP tools: a workspace's own functions for its assistants (one HTTP request each).
-- Header values are secrets: write-only through the API, never logged.
CREATE TABLE http_tools (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
    url           TEXT NOT NULL,
    headers       TEXT NOT NULL DEFAULT '{}',
    parameters    TEXT NOT NULL,
    timeout_secs  INTEGER NOT NULL CHECK (timeout_secs BETWEEN 1 AND 30),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT http_tools_workspace_name_key UNIQUE (workspace_id, name)
);
