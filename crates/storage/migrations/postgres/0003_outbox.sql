-- The outbox: messages to the customer waiting to be handed to their channel. A message is in
-- the outbox while next_attempt_at is set; a sender leases it until outbox_lease_until.

ALTER TABLE messages ADD COLUMN send_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN outbox_lease_until TIMESTAMPTZ;
CREATE INDEX messages_outbox_idx ON messages (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
