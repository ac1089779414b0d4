//! Conversation reads and writes on PostgreSQL (ingest itself is [`super::ingest`]).

use super::ingest::ingest_batch;
use super::queue::insert_produced_message;
use super::{retry_transient, rollup, PgStore};
use crate::ingest_plan::{self, ConversationRow, CONVERSATION_ROW_COLUMNS};
use crate::rollup::MetricDeltas;
use crate::rows::{self, CONVERSATION_COLUMNS, CUSTOMER_COLUMNS, MESSAGE_COLUMNS};
use crate::values::{ConversationKey, CustomerKeys};
use crate::{
    ConversationFilter, ConversationStore, Lease, NewConversation, Page, PageRequest, PendingMessages, Result,
    StoreError,
};
use async_trait::async_trait;
use confab_domain::{
    Conversation, ConversationId, Customer, CustomerId, InboundMessage, IngestOutcome, Message, MessageId, Role,
    WorkspaceId,
};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl ConversationStore for PgStore {
    async fn ingest(&self, batch: &[InboundMessage], now: OffsetDateTime) -> Result<Vec<IngestOutcome>> {
        retry_transient(|| async {
            let mut tx = self.pool.begin().await?;
            let (settled, counted) = ingest_batch(&mut tx, batch, now).await?;
            match counted {
                Some(rows) => rollup::append_ingest(&mut tx, &rows, now).await?,
                None => rollup::record(&mut tx, &settled.metrics).await?,
            }
            tx.commit().await?;
            Ok(settled.outcomes)
        })
        .await
    }

    async fn get_conversation(&self, workspace_id: WorkspaceId, id: ConversationId) -> Result<Conversation> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.pool).await?;
        rows::conversation(&row.ok_or(StoreError::NotFound("conversation"))?)
    }

    async fn list_conversations(
        &self,
        workspace_id: WorkspaceId,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<Conversation>> {
        let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
        let mut q = QueryBuilder::<Postgres>::new(format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE "));
        push_conversation_filter(&mut q, workspace_id, filter);
        if let Some(after) = page.after {
            q.push(" AND (created_at, id) < (")
                .push_bind(after.created_at)
                .push(", ")
                .push_bind(after.id.as_uuid())
                .push(")");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(limit) + 1);
        let fetched = q.build().fetch_all(&self.pool).await?;
        rows::conversation_page(&fetched, limit)
    }

    async fn list_messages(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        after: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE workspace_id = $1 AND conversation_id = $2 \
             AND ($3 IS NULL OR (created_at, id) > (SELECT created_at, id FROM messages WHERE id = $3)) \
             ORDER BY created_at, id LIMIT $4"
        );
        let fetched = sqlx::query(&sql)
            .bind(workspace_id.as_uuid())
            .bind(conversation_id.as_uuid())
            .bind(after.map(|m| m.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        fetched.iter().map(rows::message).collect()
    }

    async fn recent_messages(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let fetched = sqlx::query(&rows::recent_messages_sql())
            .bind(workspace_id.as_uuid())
            .bind(conversation_id.as_uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        fetched.iter().map(rows::message).collect()
    }

    async fn last_message_previews(
        &self,
        workspace_id: WorkspaceId,
        ids: &[ConversationId],
        chars: u32,
    ) -> Result<Vec<(ConversationId, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let sql =
            format!("{}$1{}$2 AND c.id = ANY($3)", rows::LAST_MESSAGE_PREVIEW_HEAD, rows::LAST_MESSAGE_PREVIEW_FROM);
        let found: Vec<(Uuid, Option<String>)> = sqlx::query_as(&sql)
            .bind(i32::try_from(chars).unwrap_or(i32::MAX))
            .bind(workspace_id.as_uuid())
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?;
        Ok(found.into_iter().filter_map(|(id, preview)| Some((id.into(), preview?))).collect())
    }

    async fn turn_messages(&self, lease: &Lease, history_limit: u32) -> Result<(PendingMessages, Vec<Message>)> {
        let fetched = sqlx::query(&rows::turn_messages_sql())
            .bind(lease.workspace_id.as_uuid())
            .bind(lease.conversation_id.as_uuid())
            .bind(i64::from(history_limit))
            .bind(lease.answered_seq)
            .fetch_all(&self.pool)
            .await?;
        rows::turn_messages(fetched, lease.answered_seq)
    }

    async fn customers_by_ids(&self, workspace_id: WorkspaceId, ids: &[CustomerId]) -> Result<Vec<Customer>> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(CustomerId::as_uuid).collect();
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE workspace_id = $1 AND id = ANY($2)");
        sqlx::query(&sql)
            .bind(workspace_id.as_uuid())
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::customer)
            .collect()
    }

    async fn set_conversation_ai(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        enabled: bool,
    ) -> Result<Conversation> {
        let sql = format!(
            "UPDATE conversations SET ai_enabled = $3, due_at = NULL, \
             answered_seq = CASE WHEN $3 THEN inbound_seq ELSE answered_seq END \
             WHERE id = $1 AND workspace_id = $2 RETURNING {CONVERSATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(enabled)
            .fetch_optional(&self.pool)
            .await?;
        rows::conversation(&row.ok_or(StoreError::NotFound("conversation"))?)
    }

    async fn end_conversation(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        now: OffsetDateTime,
    ) -> Result<Conversation> {
        sqlx::query(
            "UPDATE conversations SET status = 'ended', ended_at = $3, due_at = NULL \
             WHERE id = $1 AND workspace_id = $2 AND status = 'active'",
        )
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(now)
        .execute(&self.pool)
        .await?;
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND workspace_id = $2");
        let row = sqlx::query(&sql).bind(id.as_uuid()).bind(workspace_id.as_uuid()).fetch_optional(&self.pool).await?;
        rows::conversation(&row.ok_or(StoreError::NotFound("conversation"))?)
    }

    async fn conversations_with_failed_deliveries(
        &self,
        workspace_id: WorkspaceId,
        ids: &[ConversationId],
    ) -> Result<Vec<ConversationId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT DISTINCT conversation_id FROM messages WHERE status = 'failed' AND workspace_id = ",
        );
        q.push_bind(workspace_id.as_uuid()).push(" AND conversation_id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.as_uuid());
        }
        list.push_unseparated(")");
        let found: Vec<uuid::Uuid> = q.build_query_scalar().fetch_all(&self.pool).await?;
        Ok(found.into_iter().map(ConversationId::from).collect())
    }

    async fn merge_conversation_variables(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        patch: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Conversation> {
        let (sets, removes) = crate::values::merge_patch_parts(patch);
        let sql = format!(
            "UPDATE conversations SET variables = (variables || $3) - $4::text[] \
             WHERE id = $1 AND workspace_id = $2 RETURNING {CONVERSATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(sets)
            .bind(removes)
            .fetch_optional(&self.pool)
            .await?;
        rows::conversation(&row.ok_or(StoreError::NotFound("conversation"))?)
    }

    async fn create_conversation(&self, c: NewConversation, now: OffsetDateTime) -> Result<Conversation> {
        let now = crate::to_stored_precision(now);
        let mut tx = self.pool.begin().await?;
        let keys = CustomerKeys { phone: None, bsuid: None, external: c.customer_identifier.clone() };
        let customer_id = find_or_create_customer(&mut tx, c.workspace_id, &keys, None, now).await?;
        let id = ConversationId::new();
        sqlx::query(
            "INSERT INTO conversations (id, workspace_id, type, assistant_id, customer_id, variables, message_count, \
             created_at, last_message_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id.as_uuid())
        .bind(c.workspace_id.as_uuid())
        .bind(c.kind.as_str())
        .bind(c.assistant_id.as_uuid())
        .bind(customer_id.as_uuid())
        .bind(serde_json::Value::Object(c.variables))
        .bind(i64::from(c.first_message.is_some()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut deltas = MetricDeltas { conversations_started: vec![id.as_uuid()], ..MetricDeltas::default() };
        if let Some(first) = &c.first_message {
            let opening = crate::NewMessage::text(Role::Assistant, first.clone());
            let message_id = MessageId::new();
            insert_produced_message(&mut tx, c.workspace_id, id, message_id, &opening, now, false).await?;
            deltas.messages_stored.push(message_id.as_uuid());
        }
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
        let conversation = rows::conversation(&sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&mut *tx).await?)?;
        rollup::record(&mut tx, &deltas).await?;
        tx.commit().await?;
        Ok(conversation)
    }
}

/// The conditions (after `WHERE`, unqualified columns of `conversations`) a conversation
/// matches `filter` in the workspace by: what the list and the export select.
pub(super) fn push_conversation_filter(
    q: &mut QueryBuilder<'_, Postgres>,
    workspace_id: WorkspaceId,
    filter: &ConversationFilter,
) {
    q.push("workspace_id = ").push_bind(workspace_id.as_uuid());
    if let Some(kind) = filter.kind {
        q.push(" AND type = ").push_bind(kind.as_str());
    }
    if let Some(assistant_id) = filter.assistant_id {
        q.push(" AND assistant_id = ").push_bind(assistant_id.as_uuid());
    }
    if let Some(sender_id) = filter.sender_id {
        q.push(" AND sender_id = ").push_bind(sender_id.as_uuid());
    }
    if let Some(status) = filter.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(customer) = &filter.customer {
        q.push(" AND customer_id IN (SELECT id FROM customers WHERE workspace_id = ")
            .push_bind(workspace_id.as_uuid())
            .push(" AND (phone = ")
            .push_bind(customer.clone())
            .push(" OR business_scoped_user_id = ")
            .push_bind(customer.clone())
            .push(" OR external_identifier = ")
            .push_bind(customer.clone())
            .push("))");
    }
    if let Some(from) = filter.from {
        q.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        q.push(" AND created_at < ").push_bind(to);
    }
    if filter.with_failed_deliveries {
        q.push(
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id AND m.status = 'failed')",
        );
    }
}

pub(super) async fn find_or_create_customer(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    keys: &CustomerKeys,
    name: Option<&str>,
    now: OffsetDateTime,
) -> Result<CustomerId> {
    let id = match find_customer(tx, workspace_id, keys).await? {
        Some(id) => id,
        None => {
            let id = CustomerId::new();
            let inserted = sqlx::query(
                "INSERT INTO customers (id, workspace_id, phone, business_scoped_user_id, external_identifier, name, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(&keys.phone)
            .bind(&keys.bsuid)
            .bind(&keys.external)
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(id);
            }
            // a concurrent ingest created the customer; the insert waited for it to commit
            find_customer(tx, workspace_id, keys).await?.ok_or(StoreError::NotFound("customer"))?
        }
    };
    // learn what this message adds: a name, or the other WhatsApp identifier (this also locks
    // the customer's row until commit, which serialises ingest for one customer)
    sqlx::query(
        "UPDATE customers SET name = COALESCE($2, name), \
         phone = CASE WHEN phone IS NULL AND $3 IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM customers c WHERE c.workspace_id = $4 AND c.phone = $3) THEN $3 ELSE phone END, \
         business_scoped_user_id = CASE WHEN business_scoped_user_id IS NULL AND $5 IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM customers c WHERE c.workspace_id = $4 AND c.business_scoped_user_id = $5) THEN $5 \
             ELSE business_scoped_user_id END \
         WHERE id = $1",
    )
    .bind(id.as_uuid())
    .bind(name)
    .bind(&keys.phone)
    .bind(workspace_id.as_uuid())
    .bind(&keys.bsuid)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

async fn find_customer(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    keys: &CustomerKeys,
) -> Result<Option<CustomerId>> {
    let found: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM customers WHERE workspace_id = $1 AND (phone = $2 OR business_scoped_user_id = $3 \
         OR external_identifier = $4) ORDER BY created_at, id LIMIT 1",
    )
    .bind(workspace_id.as_uuid())
    .bind(&keys.phone)
    .bind(&keys.bsuid)
    .bind(&keys.external)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(found.map(Into::into))
}

pub(super) async fn find_or_create_conversation(
    tx: &mut PgConnection,
    key: &ConversationKey,
    customer_id: CustomerId,
    now: OffsetDateTime,
) -> Result<(ConversationId, bool)> {
    if let Some(id) = find_conversation(tx, key, customer_id).await? {
        return Ok((id, false));
    }
    if let Some(reopened) = reopen_ended_conversation(tx, key, customer_id).await? {
        return Ok((reopened.id, false));
    }
    let id = ConversationId::new();
    let inserted = sqlx::query(
        "INSERT INTO conversations (id, workspace_id, type, assistant_id, sender_id, customer_id, created_at, last_message_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
    )
    .bind(id.as_uuid())
    .bind(key.workspace_id.as_uuid())
    .bind(key.kind.as_str())
    .bind(key.assistant_id.as_uuid())
    .bind(key.sender_id.map(|s| s.as_uuid()))
    .bind(customer_id.as_uuid())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok((id, true));
    }
    // a concurrent ingest opened it (conversations_active_sender_customer_key)
    let id = find_conversation(tx, key, customer_id).await?.ok_or(StoreError::NotFound("conversation"))?;
    Ok((id, false))
}

/// The active conversation of `key` and the customer, if there is one.
async fn find_conversation(
    tx: &mut PgConnection,
    key: &ConversationKey,
    customer_id: CustomerId,
) -> Result<Option<ConversationId>> {
    let found: Option<Uuid> = match key.sender_id {
        Some(sender_id) => {
            sqlx::query_scalar(
                "SELECT id FROM conversations WHERE sender_id = $1 AND customer_id = $2 AND status = 'active'",
            )
            .bind(sender_id.as_uuid())
            .bind(customer_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT id FROM conversations WHERE workspace_id = $1 AND customer_id = $2 AND status = 'active' \
                 AND assistant_id = $3 AND type = $4 AND sender_id IS NULL ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .bind(key.workspace_id.as_uuid())
            .bind(customer_id.as_uuid())
            .bind(key.assistant_id.as_uuid())
            .bind(key.kind.as_str())
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    Ok(found.map(Into::into))
}

/// When the key's assistant says a message after the end reopens (`after_end = 'reopen'`):
/// the customer's last ended conversation of that key, active again (its extraction runs
/// again when it ends again).
pub(super) async fn reopen_ended_conversation(
    tx: &mut PgConnection,
    key: &ConversationKey,
    customer_id: CustomerId,
) -> Result<Option<ConversationRow>> {
    let matches_key = if key.sender_id.is_some() {
        "c.sender_id = $1 AND c.customer_id = $2"
    } else {
        "c.workspace_id = $5 AND c.customer_id = $2 AND c.assistant_id = $3 AND c.type = $4 AND c.sender_id IS NULL"
    };
    let sql = format!(
        "UPDATE conversations SET status = 'active', ended_at = NULL, extraction_status = NULL, \
         extraction_lease_until = NULL \
         WHERE id = (SELECT c.id FROM conversations c WHERE {matches_key} AND c.status = 'ended' \
             AND EXISTS (SELECT 1 FROM assistants a WHERE a.id = $3 AND a.after_end = 'reopen') \
             ORDER BY c.created_at DESC, c.id DESC LIMIT 1) \
         RETURNING {CONVERSATION_ROW_COLUMNS}"
    );
    let reopened = sqlx::query(&sql)
        .bind(key.sender_id.map(|s| s.as_uuid()))
        .bind(customer_id.as_uuid())
        .bind(key.assistant_id.as_uuid())
        .bind(key.kind.as_str())
        .bind(key.workspace_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
    reopened.as_ref().map(ingest_plan::conversation_row).transpose()
}
