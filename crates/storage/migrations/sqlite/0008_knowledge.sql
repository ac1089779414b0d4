-- Knowledge bases, first cut: documents keep their text, are split into chunks, and the chunks
-- are searched with FTS5. Assistants choose how they use their knowledge bases.

ALTER TABLE documents ADD COLUMN content TEXT NOT NULL DEFAULT '';
ALTER TABLE assistants ADD COLUMN knowledge_mode TEXT NOT NULL DEFAULT 'tool';

CREATE INDEX knowledge_bases_workspace_idx ON knowledge_bases (workspace_id, created_at);

-- The passages search returns. `id` is the rowid the FTS index points at; workspace and
-- knowledge base are copied here so a search filters without joins. `title` is the document's
-- (documents are never retitled), `heading` the Markdown headings the passage sits under.
CREATE TABLE document_chunks (
    id                 INTEGER PRIMARY KEY,
    document_id        BLOB NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    knowledge_base_id  BLOB NOT NULL,
    workspace_id       BLOB NOT NULL,
    ordinal            INTEGER NOT NULL,
    title              TEXT NOT NULL,
    heading            TEXT NOT NULL,
    text               TEXT NOT NULL,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX document_chunks_knowledge_base_idx ON document_chunks (knowledge_base_id);

-- External-content FTS5 index over the chunks, kept in sync by triggers, so it changes in the
-- same transaction as the rows. No stemming (unicode61, accents folded): knowledge bases come
-- in every language, and PostgreSQL uses the language-neutral 'simple' configuration too.
CREATE VIRTUAL TABLE document_chunks_fts USING fts5(
    title, heading, text,
    content = 'document_chunks', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER document_chunks_fts_insert AFTER INSERT ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (rowid, title, heading, text) VALUES (new.id, new.title, new.heading, new.text);
END;

CREATE TRIGGER document_chunks_fts_delete AFTER DELETE ON document_chunks BEGIN
    INSERT INTO document_chunks_fts (document_chunks_fts, rowid, title, heading, text)
    VALUES ('delete', old.id, old.title, old.heading, old.text);
END;
