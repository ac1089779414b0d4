-- Active conversations by last activity, for the inactivity sweep that ends them.
CREATE INDEX conversations_active_last_message_idx ON conversations (last_message_at) WHERE status = 'active';
