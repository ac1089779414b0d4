-- confab schema, SQLite flavour. The PostgreSQL file of the same name must stay equivalent.
-- Ids are UUID v7 (16-byte BLOBs), times are INTEGER unix microseconds (UTC), money is integer micro-USD.

CREATE TABLE workspaces (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             BLOB PRIMARY KEY NOT NULL,
    workspace_id   BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent', 'viewer')),
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE api_keys (
    id              BLOB PRIMARY KEY NOT NULL,
    workspace_id    BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    display_prefix  TEXT NOT NULL,
    key_hash        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    revoked_at      INTEGER,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_workspace_idx ON api_keys (workspace_id, created_at);

CREATE TABLE assistants (
    id                          BLOB PRIMARY KEY NOT NULL,
    workspace_id                BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name                        TEXT NOT NULL,
    system_prompt               TEXT NOT NULL,
    first_message               TEXT,
    fallback_message            TEXT,
    response_delay_ms           INTEGER NOT NULL DEFAULT 0,
    inactivity_timeout_minutes  INTEGER NOT NULL DEFAULT 30,
    timezone                    TEXT NOT NULL DEFAULT 'UTC',
    provider                    TEXT,
    model                       TEXT,
    temperature                 REAL,
    tools                       TEXT NOT NULL DEFAULT '[]',
    knowledge_base_ids          TEXT NOT NULL DEFAULT '[]',
    extraction_schema           TEXT NOT NULL DEFAULT '{}',
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX assistants_workspace_idx ON assistants (workspace_id, name);

CREATE TABLE senders (
    id                  BLOB PRIMARY KEY NOT NULL,
    workspace_id        BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    provider            TEXT NOT NULL CHECK (provider IN ('meta', 'twilio')),
    provider_sender_id  TEXT NOT NULL,
    display_phone       TEXT NOT NULL,
    access_token        TEXT NOT NULL,
    assistant_id        BLOB NOT NULL REFERENCES assistants(id),
    ai_enabled          INTEGER NOT NULL DEFAULT 1,
    status              TEXT NOT NULL DEFAULT 'online',
    quality_rating      TEXT,
    messaging_limit     TEXT,
    created_at          INTEGER NOT NULL,
    CONSTRAINT senders_provider_sender_key UNIQUE (provider, provider_sender_id)
);
CREATE INDEX senders_workspace_idx ON senders (workspace_id, display_phone);

CREATE TABLE customers (
    id                       BLOB PRIMARY KEY NOT NULL,
    workspace_id             BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    phone                    TEXT,
    business_scoped_user_id  TEXT,
    external_identifier      TEXT,
    name                     TEXT,
    created_at               INTEGER NOT NULL
);
CREATE UNIQUE INDEX customers_workspace_phone_key ON customers (workspace_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX customers_workspace_bsuid_key ON customers (workspace_id, business_scoped_user_id) WHERE business_scoped_user_id IS NOT NULL;
CREATE UNIQUE INDEX customers_workspace_external_key ON customers (workspace_id, external_identifier) WHERE external_identifier IS NOT NULL;

CREATE TABLE conversations (
    id                        BLOB PRIMARY KEY NOT NULL,
    workspace_id              BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    type                      TEXT NOT NULL CHECK (type IN ('whatsapp', 'widget', 'test', 'api')),
    status                    TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    assistant_id              BLOB NOT NULL REFERENCES assistants(id),
    sender_id                 BLOB REFERENCES senders(id),
    customer_id               BLOB NOT NULL REFERENCES customers(id),
    ai_enabled                INTEGER NOT NULL DEFAULT 1,
    variables                 TEXT NOT NULL DEFAULT '{}',
    last_customer_message_at  INTEGER,
    message_count             INTEGER NOT NULL DEFAULT 0,
    customer_message_count    INTEGER NOT NULL DEFAULT 0,
    total_tokens              INTEGER NOT NULL DEFAULT 0,
    total_cost_micros         INTEGER NOT NULL DEFAULT 0,
    created_at                INTEGER NOT NULL,
    last_message_at           INTEGER NOT NULL,
    ended_at                  INTEGER,
    -- the work queue (DESIGN §4): pending customer messages make a conversation due; a worker
    -- claims it with a lease whose token fences late commits.
    inbound_seq               INTEGER NOT NULL DEFAULT 0,
    answered_seq              INTEGER NOT NULL DEFAULT 0,
    due_at                    INTEGER,
    lease_owner               TEXT,
    lease_token               INTEGER NOT NULL DEFAULT 0,
    lease_until               INTEGER
);
-- one active WhatsApp conversation per (sender, customer): concurrent ingests converge on it
CREATE UNIQUE INDEX conversations_active_sender_customer_key ON conversations (sender_id, customer_id) WHERE status = 'active' AND sender_id IS NOT NULL;
CREATE INDEX conversations_workspace_created_idx ON conversations (workspace_id, created_at, id);
CREATE INDEX conversations_workspace_type_created_idx ON conversations (workspace_id, type, created_at, id);
CREATE INDEX conversations_workspace_assistant_created_idx ON conversations (workspace_id, assistant_id, created_at, id);
CREATE INDEX conversations_workspace_status_created_idx ON conversations (workspace_id, status, created_at, id);
CREATE INDEX conversations_customer_idx ON conversations (customer_id, created_at, id);
CREATE INDEX conversations_sender_created_idx ON conversations (sender_id, created_at, id);
CREATE INDEX conversations_due_idx ON conversations (due_at) WHERE due_at IS NOT NULL;

CREATE TABLE messages (
    id                   BLOB PRIMARY KEY NOT NULL,
    workspace_id         BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    conversation_id      BLOB NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role                 TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'agent', 'system', 'tool')),
    kind                 TEXT NOT NULL,
    content              TEXT NOT NULL,
    payload              TEXT NOT NULL DEFAULT 'null',
    provider_message_id  TEXT,
    status               TEXT NOT NULL,
    error_code           INTEGER,
    error_title          TEXT,
    error_details        TEXT,
    reply_to             TEXT,
    forwarded            INTEGER NOT NULL DEFAULT 0,
    -- the conversation's inbound_seq this customer message took (NULL for other roles)
    inbound_seq          INTEGER,
    sent_at              INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    cost_micros          INTEGER NOT NULL DEFAULT 0,
    input_tokens         INTEGER,
    output_tokens        INTEGER,
    cached_input_tokens  INTEGER,
    tool_call            TEXT,
    CONSTRAINT messages_provider_message_id_key UNIQUE (workspace_id, provider_message_id)
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);

CREATE TABLE templates (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    sender_id     BLOB REFERENCES senders(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    language      TEXT NOT NULL,
    category      TEXT NOT NULL,
    status        TEXT NOT NULL,
    components    TEXT NOT NULL DEFAULT '[]',
    updated_at    INTEGER NOT NULL,
    CONSTRAINT templates_workspace_name_language_key UNIQUE (workspace_id, name, language)
);

CREATE TABLE knowledge_bases (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE documents (
    id                 BLOB PRIMARY KEY NOT NULL,
    knowledge_base_id  BLOB NOT NULL REFERENCES knowledge_bases(id) ON DELETE CASCADE,
    title              TEXT NOT NULL,
    format             TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX documents_knowledge_base_idx ON documents (knowledge_base_id, created_at);
