-- Each conversation's line in the outbox: its queued messages in order. A claim looks up the
-- first of a conversation's line (and whether an earlier one still waits) here, however long
-- the conversation is.
CREATE INDEX messages_outbox_line_idx ON messages (conversation_id, created_at, id) WHERE next_attempt_at IS NOT NULL;
