-- What the metrics (GET /api/v1/metrics) aggregate. response_time_ms: on the first assistant
-- message of a turn, its commit time minus the oldest customer message it answered (when confab
-- received it). llm_latency_ms: how long the model call that produced the message took (copied
-- from the payload's `llm_latency_ms`). Both NULL where they do not apply.

ALTER TABLE messages ADD COLUMN response_time_ms INTEGER;
ALTER TABLE messages ADD COLUMN llm_latency_ms INTEGER;
CREATE INDEX messages_workspace_created_idx ON messages (workspace_id, created_at);
CREATE INDEX messages_workspace_role_created_idx ON messages (workspace_id, role, created_at);
