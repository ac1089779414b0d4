//! Knowledge bases, documents and passage search on PostgreSQL. Passages carry a generated
//! `tsvector` (title weighted A, headings B, text C; configuration `simple`, see the
//! migration) with a GIN index; ranking is `ts_rank`. Deleting a document or knowledge base
//! cascades to its passages, so they leave the index in the same transaction.

use super::PgStore;
use crate::rows::{self, DOCUMENT_COLUMNS, KNOWLEDGE_BASE_COLUMNS};
use crate::{search_terms, tsquery, DocumentWithContent, KnowledgeStore, NewDocument, Result, StoreError};
use async_trait::async_trait;
use confab_domain::{Document, DocumentId, DocumentStatus, KnowledgeBase, KnowledgeBaseId, Passage, WorkspaceId};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

#[async_trait]
impl KnowledgeStore for PgStore {
    async fn create_knowledge_base(&self, workspace_id: WorkspaceId, name: &str) -> Result<KnowledgeBase> {
        let id = KnowledgeBaseId::new();
        sqlx::query("INSERT INTO knowledge_bases (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(name)
            .bind(crate::precision::now())
            .execute(&self.pool)
            .await?;
        self.get_knowledge_base(workspace_id, id).await
    }

    async fn list_knowledge_bases(&self, workspace_id: WorkspaceId) -> Result<Vec<KnowledgeBase>> {
        let sql = format!(
            "SELECT {KNOWLEDGE_BASE_COLUMNS} FROM knowledge_bases WHERE workspace_id = $1 ORDER BY created_at, id"
        );
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).fetch_all(&self.pool).await?;
        found.iter().map(rows::knowledge_base).collect()
    }

    async fn get_knowledge_base(&self, workspace_id: WorkspaceId, id: KnowledgeBaseId) -> Result<KnowledgeBase> {
        let mut conn = self.pool.acquire().await?;
        knowledge_base_in(&mut conn, workspace_id, id, "").await
    }

    async fn rename_knowledge_base(
        &self,
        workspace_id: WorkspaceId,
        id: KnowledgeBaseId,
        name: &str,
    ) -> Result<KnowledgeBase> {
        let sql = format!(
            "UPDATE knowledge_bases SET name = $3 WHERE id = $1 AND workspace_id = $2 RETURNING {KNOWLEDGE_BASE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        rows::knowledge_base(&row.ok_or(StoreError::NotFound("knowledge base"))?)
    }

    async fn delete_knowledge_base(&self, workspace_id: WorkspaceId, id: KnowledgeBaseId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        knowledge_base_in(&mut tx, workspace_id, id, "FOR UPDATE").await?;
        // documents and their passages go by cascade
        sqlx::query("DELETE FROM knowledge_bases WHERE id = $1").bind(id.as_uuid()).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE assistants SET knowledge_base_ids = knowledge_base_ids - $2::text \
             WHERE workspace_id = $1 AND knowledge_base_ids ? $2::text",
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
        let mut tx = self.pool.begin().await?;
        // a share lock: the knowledge base cannot be deleted under the new document
        let kb = knowledge_base_in(&mut tx, workspace_id, d.knowledge_base_id, "FOR SHARE").await?;
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
        .bind(crate::precision::now())
        .bind(&d.content)
        .execute(&mut *tx)
        .await?;
        let ordinals: Vec<i32> = (0..d.chunks.len()).map(|i| i32::try_from(i).unwrap_or(i32::MAX)).collect();
        let headings: Vec<&str> = d.chunks.iter().map(|c| c.heading.as_str()).collect();
        let texts: Vec<&str> = d.chunks.iter().map(|c| c.text.as_str()).collect();
        sqlx::query(
            "INSERT INTO document_chunks (document_id, knowledge_base_id, workspace_id, ordinal, title, heading, text) \
             SELECT $1, $2, $3, o, $4, h, t FROM UNNEST($5::int[], $6::text[], $7::text[]) AS c(o, h, t)",
        )
        .bind(id.as_uuid())
        .bind(kb.id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(&d.title)
        .bind(&ordinals)
        .bind(&headings)
        .bind(&texts)
        .execute(&mut *tx)
        .await?;
        let created = document_in(&mut tx, workspace_id, kb.id, id).await?;
        tx.commit().await?;
        Ok(created.document)
    }

    async fn list_documents(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
    ) -> Result<Vec<Document>> {
        let mut conn = self.pool.acquire().await?;
        knowledge_base_in(&mut conn, workspace_id, knowledge_base_id, "").await?;
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
        let mut conn = self.pool.acquire().await?;
        document_in(&mut conn, workspace_id, knowledge_base_id, id).await
    }

    async fn delete_document(
        &self,
        workspace_id: WorkspaceId,
        knowledge_base_id: KnowledgeBaseId,
        id: DocumentId,
    ) -> Result<()> {
        let done = sqlx::query(
            "DELETE FROM documents d USING knowledge_bases kb \
             WHERE d.id = $1 AND d.knowledge_base_id = $2 AND kb.id = d.knowledge_base_id AND kb.workspace_id = $3",
        )
        .bind(id.as_uuid())
        .bind(knowledge_base_id.as_uuid())
        .bind(workspace_id.as_uuid())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("document"));
        }
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
        let ids: Vec<Uuid> = knowledge_base_ids.iter().map(|id| id.as_uuid()).collect();
        let found = sqlx::query(
            "SELECT c.knowledge_base_id, c.document_id, c.title, c.heading, c.text, \
             ts_rank(c.search, q)::float8 AS score \
             FROM document_chunks c, to_tsquery('simple', $1) q \
             WHERE c.search @@ q AND c.workspace_id = $2 AND c.knowledge_base_id = ANY($4) \
             ORDER BY score DESC, c.document_id, c.ordinal LIMIT $3",
        )
        .bind(tsquery(&terms))
        .bind(workspace_id.as_uuid())
        .bind(i64::from(limit))
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(rows::passage).collect()
    }
}

/// The workspace's knowledge base, read with `lock` (a row-lock clause, or empty).
async fn knowledge_base_in(
    conn: &mut PgConnection,
    workspace_id: WorkspaceId,
    id: KnowledgeBaseId,
    lock: &str,
) -> Result<KnowledgeBase> {
    let sql =
        format!("SELECT {KNOWLEDGE_BASE_COLUMNS} FROM knowledge_bases WHERE id = $1 AND workspace_id = $2 {lock}");
    let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(conn).await?;
    rows::knowledge_base(&row.ok_or(StoreError::NotFound("knowledge base"))?)
}

async fn document_in(
    conn: &mut PgConnection,
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
