-- Post-conversation extraction: once a conversation has ended, a worker asks the assistant's
-- model for its extraction schema's fields (always `status` and `summary`) and keeps them.
-- extraction_status: NULL = not extracted yet (picked up once the conversation is ended),
-- 'running' (claimed until extraction_lease_until), 'done', 'failed', 'skipped'.
ALTER TABLE conversations ADD COLUMN extracted TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN extraction_status TEXT
    CHECK (extraction_status IN ('running', 'done', 'failed', 'skipped'));
ALTER TABLE conversations ADD COLUMN extraction_lease_until INTEGER;
-- conversations that ended before extraction existed are not extracted after the fact
UPDATE conversations SET extraction_status = 'skipped' WHERE status = 'ended';
CREATE INDEX conversations_extraction_due_idx ON conversations (ended_at)
    WHERE status = 'ended' AND (extraction_status IS NULL OR extraction_status = 'running');
