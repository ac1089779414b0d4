//! Assistants and senders on PostgreSQL.

use super::PgStore;
use crate::rows::{self, ASSISTANT_COLUMNS, SENDER_COLUMNS};
use crate::{ConfigStore, NewAssistant, NewSender, Result, StoreError};
use async_trait::async_trait;
use confab_domain::{Assistant, AssistantId, Provider, Sender, SenderId, WorkspaceId};
use sqlx::types::Json;

#[async_trait]
impl ConfigStore for PgStore {
    async fn create_assistant(&self, a: NewAssistant) -> Result<Assistant> {
        let now = crate::precision::now();
        let id = AssistantId::new();
        sqlx::query(
            "INSERT INTO assistants (id, workspace_id, name, system_prompt, first_message, fallback_message, \
             response_delay_ms, inactivity_timeout_minutes, timezone, provider, model, temperature, tools, \
             knowledge_base_ids, extraction_schema, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
        )
        .bind(id.as_uuid())
        .bind(a.workspace_id.as_uuid())
        .bind(&a.name)
        .bind(&a.system_prompt)
        .bind(&a.first_message)
        .bind(&a.fallback_message)
        .bind(a.response_delay.as_millis())
        .bind(a.inactivity_timeout.as_minutes())
        .bind(&a.timezone)
        .bind(&a.provider)
        .bind(&a.model)
        .bind(a.temperature.map(|t| t.value()))
        .bind(Json(&a.tools))
        .bind(Json(&a.knowledge_base_ids))
        .bind(&a.extraction_schema)
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.get_assistant(a.workspace_id, id).await
    }

    async fn get_assistant(&self, workspace_id: WorkspaceId, id: AssistantId) -> Result<Assistant> {
        let sql = format!("SELECT {ASSISTANT_COLUMNS} FROM assistants WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.pool).await?;
        rows::assistant(&row.ok_or(StoreError::NotFound("assistant"))?)
    }

    async fn create_sender(&self, s: NewSender) -> Result<Sender> {
        // the assistant must be the workspace's own
        self.get_assistant(s.workspace_id, s.assistant_id).await?;
        let id = SenderId::new();
        sqlx::query(
            "INSERT INTO senders (id, workspace_id, provider, provider_sender_id, display_phone, access_token, \
             assistant_id, ai_enabled, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.as_uuid())
        .bind(s.workspace_id.as_uuid())
        .bind(s.provider.as_str())
        .bind(&s.provider_sender_id)
        .bind(s.display_phone.as_str())
        .bind(s.access_token.expose())
        .bind(s.assistant_id.as_uuid())
        .bind(s.ai_enabled)
        .bind(s.status.as_str())
        .bind(crate::precision::now())
        .execute(&self.pool)
        .await?;
        let sql = format!("SELECT {SENDER_COLUMNS} FROM senders WHERE id = $1");
        rows::sender(&sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&self.pool).await?)
    }

    async fn get_sender(&self, workspace_id: WorkspaceId, id: SenderId) -> Result<Sender> {
        let sql = format!("SELECT {SENDER_COLUMNS} FROM senders WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.pool).await?;
        rows::sender(&row.ok_or(StoreError::NotFound("sender"))?)
    }

    async fn sender_by_provider_id(&self, provider: Provider, provider_sender_id: &str) -> Result<Option<Sender>> {
        let sql = format!("SELECT {SENDER_COLUMNS} FROM senders WHERE provider = $1 AND provider_sender_id = $2");
        let row = sqlx::query(&sql).bind(provider.as_str()).bind(provider_sender_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::sender).transpose()
    }
}
