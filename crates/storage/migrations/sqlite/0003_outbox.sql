-- The outbox: messages to the customer waiting to be handed to their channel. A message is in
-- the outbox while next_attempt_at is set; a sender leases it until outbox_lease_until.

ALTER TABLE messages ADD COLUMN send_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE messages ADD COLUMN outbox_lease_until INTEGER;
CREATE INDEX messages_outbox_idx ON messages (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
