//! Assistants and senders on PostgreSQL.

use super::PgStore;
use crate::rows::{self, ASSISTANT_COLUMNS, SENDER_COLUMNS};
use crate::{
    AssistantChanges, ConfigStore, NewAssistant, NewSender, Result, SenderChanges, StoreError, ASSISTANT_IN_USE,
    SENDER_IN_USE,
};
use async_trait::async_trait;
use confab_domain::{Assistant, AssistantId, Provider, Sender, SenderId, WorkspaceId};
use sqlx::types::Json;
use sqlx::PgConnection;

#[async_trait]
impl ConfigStore for PgStore {
    async fn create_assistant(&self, a: NewAssistant) -> Result<Assistant> {
        let now = crate::precision::now();
        let id = AssistantId::new();
        sqlx::query(
            "INSERT INTO assistants (id, workspace_id, name, system_prompt, first_message, fallback_message, \
             response_delay_ms, inactivity_timeout_minutes, timezone, provider, model, temperature, tools, \
             knowledge_base_ids, extraction_schema, created_at, updated_at, knowledge_mode, data_fields, availability, \
             after_end) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, $19, $20)",
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
        .bind(a.knowledge_mode.as_str())
        .bind(Json(&a.data_fields))
        .bind(Json(&a.availability))
        .bind(a.after_end.as_str())
        .execute(&self.pool)
        .await?;
        self.get_assistant(a.workspace_id, id).await
    }

    async fn get_assistant(&self, workspace_id: WorkspaceId, id: AssistantId) -> Result<Assistant> {
        if let Some(assistant) = self.settings.assistant(workspace_id, id) {
            return Ok(assistant);
        }
        let start = self.settings.read_start();
        let sql = format!(
            "SELECT {ASSISTANT_COLUMNS} FROM assistants WHERE id = $1 AND workspace_id = $2 AND deleted_at IS NULL"
        );
        let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.pool).await?;
        let assistant = rows::assistant(&row.ok_or(StoreError::NotFound("assistant"))?)?;
        self.settings.keep_assistant(start, assistant.clone());
        Ok(assistant)
    }

    async fn create_sender(&self, s: NewSender) -> Result<Sender> {
        let mut tx = self.pool.begin().await?;
        // the assistant must be the workspace's own, and not deleted (nor being deleted)
        live_assistant(&mut tx, s.workspace_id, s.assistant_id, Lock::Share).await?;
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
        .execute(&mut *tx)
        .await?;
        let created = sender_in(&mut tx, s.workspace_id, id, false).await?;
        tx.commit().await?;
        self.settings.changed();
        Ok(created)
    }

    async fn get_sender(&self, workspace_id: WorkspaceId, id: SenderId) -> Result<Sender> {
        if let Some(sender) = self.settings.sender(workspace_id, id) {
            return Ok(sender);
        }
        let start = self.settings.read_start();
        let sql = format!("SELECT {SENDER_COLUMNS} FROM senders WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.pool).await?;
        let sender = rows::sender(&row.ok_or(StoreError::NotFound("sender"))?)?;
        self.settings.keep_sender(start, sender.clone());
        Ok(sender)
    }

    async fn sender_by_provider_id(&self, provider: Provider, provider_sender_id: &str) -> Result<Option<Sender>> {
        if let Some(sender) = self.settings.sender_by_provider_id(provider, provider_sender_id) {
            return Ok(sender);
        }
        let start = self.settings.read_start();
        let sql = format!("SELECT {SENDER_COLUMNS} FROM senders WHERE provider = $1 AND provider_sender_id = $2");
        let row = sqlx::query(&sql).bind(provider.as_str()).bind(provider_sender_id).fetch_optional(&self.pool).await?;
        let sender = row.as_ref().map(rows::sender).transpose()?;
        self.settings.keep_sender_by_provider_id(start, provider, provider_sender_id, sender.clone());
        Ok(sender)
    }

    async fn list_assistants(&self, workspace_id: WorkspaceId) -> Result<Vec<Assistant>> {
        let sql = format!(
            "SELECT {ASSISTANT_COLUMNS} FROM assistants WHERE workspace_id = $1 AND deleted_at IS NULL \
             ORDER BY created_at, id"
        );
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).fetch_all(&self.pool).await?;
        found.iter().map(rows::assistant).collect()
    }

    async fn update_assistant(
        &self,
        workspace_id: WorkspaceId,
        id: AssistantId,
        changes: AssistantChanges,
    ) -> Result<Assistant> {
        let mut tx = self.pool.begin().await?;
        let current = live_assistant(&mut tx, workspace_id, id, Lock::Update).await?;
        let a = changes.apply_to(current);
        sqlx::query(
            "UPDATE assistants SET name = $3, system_prompt = $4, first_message = $5, fallback_message = $6, \
             response_delay_ms = $7, inactivity_timeout_minutes = $8, timezone = $9, provider = $10, model = $11, \
             temperature = $12, tools = $13, knowledge_base_ids = $14, extraction_schema = $15, \
             updated_at = GREATEST($16, updated_at + interval '1 microsecond'), knowledge_mode = $17, \
             data_fields = $18, availability = $19, after_end = $20 WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
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
        .bind(crate::precision::now())
        .bind(a.knowledge_mode.as_str())
        .bind(Json(&a.data_fields))
        .bind(Json(&a.availability))
        .bind(a.after_end.as_str())
        .execute(&mut *tx)
        .await?;
        let updated = live_assistant(&mut tx, workspace_id, id, Lock::None).await?;
        tx.commit().await?;
        self.settings.changed();
        Ok(updated)
    }

    async fn delete_assistant(&self, workspace_id: WorkspaceId, id: AssistantId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // FOR UPDATE waits for, and then excludes, a sender being linked to it concurrently
        // (linking takes a share lock on the assistant row)
        live_assistant(&mut tx, workspace_id, id, Lock::Update).await?;
        let in_use: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM senders WHERE assistant_id = $1)")
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        if in_use {
            return Err(StoreError::Conflict { constraint: ASSISTANT_IN_USE.into() });
        }
        let now = crate::precision::now();
        sqlx::query("UPDATE assistants SET deleted_at = $2, updated_at = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE conversations SET status = 'ended', ended_at = $2, due_at = NULL \
             WHERE assistant_id = $1 AND status = 'active'",
        )
        .bind(id.as_uuid())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.settings.changed();
        Ok(())
    }

    async fn list_senders(&self, workspace_id: WorkspaceId) -> Result<Vec<Sender>> {
        let sql = format!("SELECT {SENDER_COLUMNS} FROM senders WHERE workspace_id = $1 ORDER BY created_at, id");
        let found = sqlx::query(&sql).bind(workspace_id.as_uuid()).fetch_all(&self.pool).await?;
        found.iter().map(rows::sender).collect()
    }

    async fn update_sender(&self, workspace_id: WorkspaceId, id: SenderId, changes: SenderChanges) -> Result<Sender> {
        let mut tx = self.pool.begin().await?;
        let current = sender_in(&mut tx, workspace_id, id, true).await?;
        if let Some(assistant_id) = changes.assistant_id {
            live_assistant(&mut tx, workspace_id, assistant_id, Lock::Share).await?;
        }
        let s = changes.apply_to(current);
        sqlx::query(
            "UPDATE senders SET display_phone = $3, access_token = $4, assistant_id = $5, ai_enabled = $6, \
             status = $7 WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(s.display_phone.as_str())
        .bind(s.access_token.expose())
        .bind(s.assistant_id.as_uuid())
        .bind(s.ai_enabled)
        .bind(s.status.as_str())
        .execute(&mut *tx)
        .await?;
        let updated = sender_in(&mut tx, workspace_id, id, false).await?;
        tx.commit().await?;
        self.settings.changed();
        Ok(updated)
    }

    async fn delete_sender(&self, workspace_id: WorkspaceId, id: SenderId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sender_in(&mut tx, workspace_id, id, true).await?;
        let in_use: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM conversations WHERE sender_id = $1)")
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        if in_use {
            return Err(StoreError::Conflict { constraint: SENDER_IN_USE.into() });
        }
        // a conversation started meanwhile makes the foreign key refuse: the same conflict
        match sqlx::query("DELETE FROM senders WHERE id = $1").bind(id.as_uuid()).execute(&mut *tx).await {
            Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
                return Err(StoreError::Conflict { constraint: SENDER_IN_USE.into() })
            }
            other => other?,
        };
        tx.commit().await?;
        self.settings.changed();
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Lock {
    None,
    Share,
    Update,
}

/// The workspace's assistant unless it is deleted, read inside a transaction with `lock`.
async fn live_assistant(
    conn: &mut PgConnection,
    workspace_id: WorkspaceId,
    id: AssistantId,
    lock: Lock,
) -> Result<Assistant> {
    let lock = match lock {
        Lock::None => "",
        Lock::Share => " FOR SHARE",
        Lock::Update => " FOR UPDATE",
    };
    let sql = format!(
        "SELECT {ASSISTANT_COLUMNS} FROM assistants WHERE id = $1 AND workspace_id = $2 AND deleted_at IS NULL{lock}"
    );
    let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(conn).await?;
    rows::assistant(&row.ok_or(StoreError::NotFound("assistant"))?)
}

/// The workspace's sender, read inside a transaction (locked for update if `for_update`).
async fn sender_in(
    conn: &mut PgConnection,
    workspace_id: WorkspaceId,
    id: SenderId,
    for_update: bool,
) -> Result<Sender> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {SENDER_COLUMNS} FROM senders WHERE id = $1 AND workspace_id = $2{lock}");
    let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(conn).await?;
    rows::sender(&row.ok_or(StoreError::NotFound("sender"))?)
}
