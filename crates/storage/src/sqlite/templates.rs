//! WhatsApp message templates on SQLite.

use super::{micros, SqliteStore};
use crate::templates::{self, TemplateDefinition, TemplateStore, TEMPLATE_COLUMNS};
use crate::{Result, StoreError};
use async_trait::async_trait;
use confab_domain::{Template, TemplateId, TemplateName, TemplateStatus, WorkspaceId};

#[async_trait]
impl TemplateStore for SqliteStore {
    async fn list_templates(&self, workspace_id: WorkspaceId, only_approved: bool) -> Result<Vec<Template>> {
        let sql = format!(
            "SELECT {TEMPLATE_COLUMNS} FROM templates WHERE workspace_id = $1 AND ($2 = 0 OR status = 'APPROVED') \
             ORDER BY name, language"
        );
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).bind(only_approved).fetch_all(&self.reader).await?;
        found.iter().map(templates::template).collect()
    }

    async fn get_template(&self, workspace_id: WorkspaceId, id: TemplateId) -> Result<Template> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE id = $1 AND workspace_id = $2");
        let row =
            sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.reader).await?;
        templates::template(&row.ok_or(StoreError::NotFound("template"))?)
    }

    async fn upsert_template(&self, workspace_id: WorkspaceId, d: TemplateDefinition) -> Result<Template> {
        let sql = format!(
            "INSERT INTO templates (id, workspace_id, name, language, category, status, components, updated_at, \
             twilio_content_sid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (workspace_id, name, language) DO UPDATE SET category = excluded.category, \
             status = excluded.status, components = excluded.components, updated_at = excluded.updated_at, \
             twilio_content_sid = excluded.twilio_content_sid \
             RETURNING {TEMPLATE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(TemplateId::new().as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(d.name.as_str())
            .bind(&d.language)
            .bind(d.category.as_str())
            .bind(d.status.as_str())
            .bind(d.components.to_string())
            .bind(micros(crate::precision::now()))
            .bind(d.twilio_content_sid.as_deref())
            .fetch_one(&self.writer)
            .await?;
        templates::template(&row)
    }

    async fn delete_template(&self, workspace_id: WorkspaceId, id: TemplateId) -> Result<()> {
        let deleted = sqlx::query("DELETE FROM templates WHERE id = $1 AND workspace_id = $2")
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .execute(&self.writer)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound("template"));
        }
        Ok(())
    }

    async fn set_template_status(
        &self,
        workspace_id: WorkspaceId,
        name: &TemplateName,
        language: &str,
        status: TemplateStatus,
    ) -> Result<Option<Template>> {
        let sql = format!(
            "UPDATE templates SET status = $4, updated_at = $5 \
             WHERE workspace_id = $1 AND name = $2 AND language = $3 RETURNING {TEMPLATE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(workspace_id.as_uuid())
            .bind(name.as_str())
            .bind(language)
            .bind(status.as_str())
            .bind(micros(crate::precision::now()))
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(templates::template).transpose()
    }
}
