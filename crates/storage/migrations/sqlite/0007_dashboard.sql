-- The dashboard: login sessions (only the SHA-256 of each session token is kept), the one-time
-- setup tokens that let the first owner sign up, and an index that finds conversations with a
-- failed delivery without scanning their messages.

CREATE TABLE dashboard_sessions (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX dashboard_sessions_user_idx ON dashboard_sessions (user_id);
CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);

CREATE TABLE setup_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE INDEX messages_failed_conversation_idx ON messages (conversation_id) WHERE status = 'failed';
