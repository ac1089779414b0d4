//! HTTP tools on SQLite.

use super::{micros, SqliteStore};
use crate::http_tools::{self, headers_json, HttpToolStore, HTTP_TOOL_COLUMNS};
use crate::{Result, StoreError};
use async_trait::async_trait;
use confab_domain::{HttpTool, HttpToolDefinition, HttpToolId, WorkspaceId};

#[async_trait]
impl HttpToolStore for SqliteStore {
    async fn create_http_tool(&self, workspace_id: WorkspaceId, d: HttpToolDefinition) -> Result<HttpTool> {
        let id = HttpToolId::new();
        sqlx::query(
            "INSERT INTO http_tools (id, workspace_id, name, description, method, url, headers, parameters, \
             timeout_secs, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(d.name.as_str())
        .bind(&d.description)
        .bind(d.method.as_str())
        .bind(d.url.as_str())
        .bind(headers_json(&d.headers).to_string())
        .bind(d.parameters.as_value().to_string())
        .bind(i64::from(d.timeout.as_secs()))
        .bind(micros(crate::precision::now()))
        .execute(&self.writer)
        .await?;
        self.get_http_tool(workspace_id, id).await
    }

    async fn list_http_tools(&self, workspace_id: WorkspaceId) -> Result<Vec<HttpTool>> {
        let sql = format!("SELECT {HTTP_TOOL_COLUMNS} FROM http_tools WHERE workspace_id = $1 ORDER BY name");
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).fetch_all(&self.reader).await?;
        found.iter().map(http_tools::http_tool).collect()
    }

    async fn get_http_tool(&self, workspace_id: WorkspaceId, id: HttpToolId) -> Result<HttpTool> {
        let sql = format!("SELECT {HTTP_TOOL_COLUMNS} FROM http_tools WHERE id = $1 AND workspace_id = $2");
        let row =
            sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.reader).await?;
        http_tools::http_tool(&row.ok_or(StoreError::NotFound("http tool"))?)
    }

    async fn update_http_tool(
        &self,
        workspace_id: WorkspaceId,
        id: HttpToolId,
        d: HttpToolDefinition,
    ) -> Result<HttpTool> {
        let updated = sqlx::query(
            "UPDATE http_tools SET name = $3, description = $4, method = $5, url = $6, headers = $7, \
             parameters = $8, timeout_secs = $9, updated_at = MAX($10, updated_at + 1) \
             WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(d.name.as_str())
        .bind(&d.description)
        .bind(d.method.as_str())
        .bind(d.url.as_str())
        .bind(headers_json(&d.headers).to_string())
        .bind(d.parameters.as_value().to_string())
        .bind(i64::from(d.timeout.as_secs()))
        .bind(micros(crate::precision::now()))
        .execute(&self.writer)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound("http tool"));
        }
        self.get_http_tool(workspace_id, id).await
    }

    async fn delete_http_tool(&self, workspace_id: WorkspaceId, id: HttpToolId) -> Result<()> {
        let deleted = sqlx::query("DELETE FROM http_tools WHERE id = $1 AND workspace_id = $2")
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .execute(&self.writer)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound("http tool"));
        }
        Ok(())
    }
}
