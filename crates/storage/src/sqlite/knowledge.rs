//! Knowledge bases, documents and passage search on SQLite. Passages are indexed by an
//! external-content FTS5 table that triggers keep in step with `document_chunks`, inside the
//! same transaction; ranking is FTS5's bm25 with the document title weighted above headings
//! and headings above the text.

use super::{micros, SqliteStore};
use crate::rows::{self, DOCUMENT_COLUMNS, KNOWLEDGE_BASE_COLUMNS};
use crate::{fts5_query, search_terms, DocumentWithContent, KnowledgeStore, NewDocument, Result, StoreError};
use async_trait::async_trait;
use confab_domain::{Document, DocumentId, DocumentStatus, KnowledgeBase, KnowledgeBaseId, Passage, WorkspaceId};
use sqlx::{Row, SqliteConnection};

#[async_trait]
impl KnowledgeStore for SqliteStore {
    async fn create_knowledge_base(&self, workspace_id: WorkspaceId, name: &str) -> Result<KnowledgeBase> {
        let id = KnowledgeBaseId::new();
        sqlx::query("INSERT INTO knowledge_bases (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(name)
            .bind(micros(crate::precision::now()))
            .execute(&self.writer)
            .await?;
        self.get_knowledge_base(workspace_id, id).await
    }

    async fn list_knowledge_bases(&self, workspace_id: WorkspaceId) -> Result<Vec<KnowledgeBase>> {
        let sql = format!(
            "SELECT {KNOWLEDGE_BASE_COLUMNS} FROM knowledge_bases WHERE workspace_id = $1 ORDER BY created_at, id"
        );
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).fetch_all(&self.reader).await?;
        found.iter().map(rows::knowledge_base).collect()
    }

    async fn get_knowledge_base(&self, workspace_id: WorkspaceId, id: KnowledgeBaseId) -> Result<KnowledgeBase> {
        let mut conn = self.reader.acquire().await?;
        knowledge_base_in(&mut conn, workspace_id, id).await
    }

    async fn rename_knowledge_base(
        &self,
        workspace_id: WorkspaceId,
        id: KnowledgeBaseId,
        name: &str,
    ) -> Result<KnowledgeBase> {
        let mut tx = self.writer.begin().await?;
        knowledge_base_in(&mut tx, workspace_id, id).await?;
        sqlx::query("UPDATE knowledge_bases SET name = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let renamed = knowledge_base_in(&mut tx, workspace_id, id).await?;
        tx.commit().await?;
        Ok(renamed)
    }

    async fn delete_knowledge_base(&self, workspace_id: WorkspaceId, id: KnowledgeBaseId) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        knowledge_base_in(&mut tx, workspace_id, id).await?;
        // the passages first, row by row, so the FTS trigger removes each from the index
        sqlx::query("DELETE FROM document_chunks WHERE knowledge_base_id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM knowledge_bases WHERE id = $1").bind(id.as_uuid()).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE assistants SET knowledge_base_ids = \
             (SELECT json_group_array(value) FROM json_each(assistants.knowledge_base_ids) WHERE value <> $2) \
             WHERE workspace_id = $1 AND EXISTS (SELECT 1 FROM json_each(assistants.knowledge_base_ids) WHERE value = $2)",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid().to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // the assistants' knowledge base lists changed
        self.settings.changed();
        Ok(())
    }

    async fn add_document(&self, workspace_id: WorkspaceId, d: NewDocument) -> Result<Document> {
        let mut tx = self.writer.begin().await?;
        let kb = knowledge_base_in(&mut tx, workspace_id, d.knowledge_base_id).await?;
        let id = DocumentId::new();
        sqlx::query(
            "INSERT INTO documents (id, knowledge_base_id, title, format, status, created_at, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.as_uuid())
        .bind(kb.id.as_uuid())
        .bind(&d.title)
        .bind(d.format.as_str())
        .bind(DocumentStatus::Ready.as_str())
        .bind(micros(crate::precision::now()))
        .bind(&d.content)
        .execute(&mut *tx)
        .await?;
        for (ordinal, chunk) in d.chunks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO document_chunks (document_id, knowledge_base_id, workspace_id, ordinal, title, heading, text) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.as_uuid())
            .bind(kb.id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(crate::values::count(ordinal))
            .bind(&d.title)
            .bind(&chunk.heading)
            .bind(&chunk.text)
            .execute(&mut *tx)
            .await?;
        }
        let created = document_in(&mut tx, workspace_id, kb.id, id).await?;
        tx.commit().await?;
        Ok(created.document)
    }

    async fn list_documents(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
    ) -> Result<Vec<Document>> {
        let mut conn = self.reader.acquire().await?;
        knowledge_base_in(&mut conn, workspace_id, knowledge_base_id).await?;
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.knowledge_base_id = $1 ORDER BY d.created_at, d.id"
        );
        let found = sqlx::query(&sql).bind(knowledge_base_id.as_uuid()).fetch_all(&mut *conn).await?;
        found.iter().map(rows::document).collect()
    }

    async fn get_document(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
        id: DocumentId,
    ) -> Result<DocumentWithContent> {
        let mut conn = self.reader.acquire().await?;
        document_in(&mut conn, workspace_id, knowledge_base_id, id).await
    }

    async fn delete_document(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
        id: DocumentId,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        document_in(&mut tx, workspace_id, knowledge_base_id, id).await?;
        sqlx::query("DELETE FROM document_chunks WHERE document_id = $1").bind(id.as_uuid()).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM documents WHERE id = $1").bind(id.as_uuid()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn search_knowledge(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_ids: &[KnowledgeBaseId],
        query: &str,
        limit: u32,
    ) -> Result<Vec<Passage>> {
        let terms = search_terms(query);
        if terms.is_empty() || knowledge_base_ids.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..knowledge_base_ids.len()).map(|i| format!("${}", i + 4)).collect();
        // bm25 is lower for better matches; title, heading and text weigh 3, 2 and 1
        let sql = format!(
            "SELECT c.knowledge_base_id, c.document_id, c.title, c.heading, c.text, \
             -bm25(document_chunks_fts, 3.0, 2.0, 1.0) AS score \
             FROM document_chunks_fts JOIN document_chunks c ON c.id = document_chunks_fts.rowid \
             WHERE document_chunks_fts MATCH $1 AND c.workspace_id = $2 AND c.knowledge_base_id IN ({}) \
             ORDER BY bm25(document_chunks_fts, 3.0, 2.0, 1.0), c.document_id, c.ordinal LIMIT $3",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(fts5_query(&terms)).bind(workspace_id.as_uuid()).bind(i64::from(limit));
        for kb in knowledge_base_ids {
            q = q.bind(kb.as_uuid());
        }
        let found = q.fetch_all(&self.reader).await?;
        found.iter().map(rows::passage).collect()
    }
}

async fn knowledge_base_in(
    conn: &mut SqliteConnection,
    workspace_id: WorkspaceId,
    id: KnowledgeBaseId,
) -> Result<KnowledgeBase> {
    let sql = format!("SELECT {KNOWLEDGE_BASE_COLUMNS} FROM knowledge_bases WHERE id = $1 AND workspace_id = $2");
    let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(conn).await?;
    rows::knowledge_base(&row.ok_or(StoreError::NotFound("knowledge base"))?)
}

async fn document_in(
    conn: &mut SqliteConnection,
    workspace_id: WorkspaceId,
    knowledge_base_id: KnowledgeBaseId,
    id: DocumentId,
) -> Result<DocumentWithContent> {
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS}, d.content FROM documents d JOIN knowledge_bases kb ON kb.id = d.knowledge_base_id \
         WHERE d.id = $1 AND d.knowledge_base_id = $2 AND kb.workspace_id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(id.as_uuid())
        .bind(knowledge_base_id.as_uuid())
        .bind(workspace_id.as_uuid())
        .fetch_optional(conn)
        .await?;
    let row = row.ok_or(StoreError::NotFound("document"))?;
    Ok(DocumentWithContent { document: rows::document(&row)?, content: row.try_get("content")? })
}
