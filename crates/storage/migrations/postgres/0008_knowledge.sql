-- Knowledge bases, first cut: documents keep their text, are split into chunks, and the chunks
-- are searched with a generated tsvector. Assistants choose how they use their knowledge bases.

ALTER TABLE documents ADD COLUMN content TEXT NOT NULL DEFAULT '';
ALTER TABLE assistants ADD COLUMN knowledge_mode TEXT NOT NULL DEFAULT 'tool';

CREATE INDEX knowledge_bases_workspace_idx ON knowledge_bases (workspace_id, created_at);

-- The passages search returns. Workspace and knowledge base are copied here so a search
-- filters without joins. `title` is the document's (documents are never retitled), `heading`
-- the Markdown headings the passage sits under.
--
-- The text search configuration is 'simple' (lower-casing, no stemming, no stop words):
-- knowledge bases come in every language and 'english' would stem Spanish or German text
-- into nonsense; it also matches SQLite's FTS5 unicode61 tokenizer, so both backends find
-- the same passages. Query terms are matched as prefixes and common words are dropped from
-- queries in Rust, which recovers most of what stemming and stop words would give.
CREATE TABLE document_chunks (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id        UUID NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    knowledge_base_id  UUID NOT NULL,
    workspace_id       UUID NOT NULL,
    ordinal            INTEGER NOT NULL,
    title              TEXT NOT NULL,
    heading            TEXT NOT NULL,
    text               TEXT NOT NULL,
    search             TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', heading), 'B')
        || setweight(to_tsvector('simple', text), 'C')
    ) STORED,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX document_chunks_knowledge_base_idx ON document_chunks (knowledge_base_id);
CREATE INDEX document_chunks_search_idx ON document_chunks USING GIN (search);
