//! The outbox on SQLite: outbound messages queued, claimed in conversation order, and their
//! send results recorded.

use super::conversations::{find_or_create_conversation, find_or_create_customer};
use super::queue::insert_produced_message;
use super::{micros, rollup, SqliteStore};
use crate::outbound_jobs::{self, resolved_sends};
use crate::rollup::MetricDeltas;
use crate::rows::{self, CONVERSATION_COLUMNS, CUSTOMER_COLUMNS, MESSAGE_COLUMNS, SENDER_COLUMNS};
use crate::values::{count, token_count, ConversationKey, CustomerKeys};
use crate::{ClaimedSend, NewMessage, OutboundJob, OutboxStore, Result, SendResult, StoreError};
use async_trait::async_trait;
use confab_domain::{
    Conversation, ConversationId, ConversationType, DeliveryStatus, MessageId, MicroUsd, PhoneNumber, Sender, SenderId,
    SenderStatus, WorkspaceId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn open_whatsapp_conversation(
        &self,
        sender: &Sender,
        customer: &PhoneNumber,
        now: OffsetDateTime,
    ) -> Result<Conversation> {
        let mut tx = self.writer.begin().await?;
        let keys = CustomerKeys { phone: Some(customer.as_str().to_string()), bsuid: None, external: None };
        let customer_id = find_or_create_customer(&mut tx, sender.workspace_id, &keys, None, now).await?;
        let key = ConversationKey {
            workspace_id: sender.workspace_id,
            assistant_id: sender.assistant_id,
            kind: ConversationType::Whatsapp,
            sender_id: Some(sender.id),
        };
        let (id, created) = find_or_create_conversation(&mut tx, &key, customer_id, now).await?;
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1");
        let conversation = rows::conversation(&sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&mut *tx).await?)?;
        let started = if created { vec![id.as_uuid()] } else { Vec::new() };
        rollup::record(&mut tx, &MetricDeltas { conversations_started: started, ..MetricDeltas::default() }).await?;
        tx.commit().await?;
        Ok(conversation)
    }

    async fn enqueue_outbound(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        messages: &[NewMessage],
        now: OffsetDateTime,
    ) -> Result<Vec<MessageId>> {
        let mut tx = self.writer.begin().await?;
        let cost: MicroUsd = messages.iter().map(|m| m.cost).sum();
        let tokens: i64 = messages.iter().map(token_count).sum();
        let updated: Option<String> = sqlx::query_scalar(
            "UPDATE conversations SET message_count = message_count + $3, total_cost_micros = total_cost_micros + $4, \
             total_tokens = total_tokens + $5, last_message_at = MAX(last_message_at, $6) \
             WHERE id = $1 AND workspace_id = $2 RETURNING type",
        )
        .bind(conversation_id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(count(messages.len()))
        .bind(cost.0)
        .bind(tokens)
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(kind) = updated else {
            return Err(StoreError::NotFound("conversation"));
        };
        // only WhatsApp has an outbox; elsewhere the message is handed over as it is stored
        let through_outbox = kind == ConversationType::Whatsapp.as_str();
        let mut ids = Vec::with_capacity(messages.len());
        for message in messages {
            let id = MessageId::new();
            insert_produced_message(&mut tx, workspace_id, conversation_id, id, message, now, through_outbox).await?;
            ids.push(id);
        }
        let stored = ids.iter().map(|id| id.as_uuid()).collect();
        rollup::record(&mut tx, &MetricDeltas { messages_stored: stored, ..MetricDeltas::default() }).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn claim_outbound(&self, now: OffsetDateTime, lease_for: Duration, limit: u32) -> Result<Vec<OutboundJob>> {
        // one statement, atomic on its own: no transaction around it, which would cost the
        // writer two more round trips
        let claimed = sqlx::query(
            "UPDATE messages SET outbox_lease_until = $1 WHERE id IN ( \
               SELECT m.id FROM messages m WHERE m.next_attempt_at IS NOT NULL AND m.next_attempt_at <= $2 \
               AND (m.outbox_lease_until IS NULL OR m.outbox_lease_until <= $2) \
               AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.conversation_id = m.conversation_id \
                   AND e.next_attempt_at IS NOT NULL AND (e.created_at, e.id) < (m.created_at, m.id)) \
               ORDER BY m.next_attempt_at LIMIT $3) \
             RETURNING id, conversation_id, send_attempts",
        )
        .bind(micros(now + lease_for))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        self.load_claimed(&claimed_sends(&claimed)?).await
    }

    async fn record_send_results_claiming_next(
        &self,
        results: &[(MessageId, SendResult)],
        now: OffsetDateTime,
        claim_for: Option<Duration>,
    ) -> Result<Vec<ClaimedSend>> {
        let mut tx = self.writer.begin().await?;
        let mut deltas = MetricDeltas::default();
        record_sends(&mut tx, results, now, &mut deltas).await?;
        for (message_id, result) in results {
            record_unsent(&mut tx, *message_id, result, &mut deltas).await?;
        }
        rollup::record(&mut tx, &deltas).await?;
        let claimed = match claim_for {
            Some(lease_for) => claim_next_in_line(&mut tx, &resolved_sends(results), now, now + lease_for).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok(claimed)
    }

    async fn load_claimed(&self, claimed: &[ClaimedSend]) -> Result<Vec<OutboundJob>> {
        // what goes with the claims is read on a reader, a few statements for the whole
        // batch, leaving the writer free
        let jobs = load_jobs(&self.reader, claimed).await?;
        if jobs.len() < claimed.len() {
            // a reader that has not seen the claimed messages yet: the writer has
            return load_jobs(&self.writer, claimed).await;
        }
        Ok(jobs)
    }

    async fn set_sender_status(&self, sender_id: SenderId, status: SenderStatus) -> Result<()> {
        sqlx::query("UPDATE senders SET status = $2 WHERE id = $1")
            .bind(sender_id.as_uuid())
            .bind(status.as_str())
            .execute(&self.writer)
            .await?;
        self.settings.changed();
        Ok(())
    }
}

/// Claims, inside the caller's transaction, the first message in line of each conversation of
/// `messages`, if it is due and unleased at `now`, until `lease_until`. One statement whatever
/// their number; each line's first is read through `messages_outbox_line_idx`, one entry.
pub(super) async fn claim_next_in_line(
    tx: &mut sqlx::SqliteConnection,
    messages: &[Uuid],
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<Vec<ClaimedSend>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = messages.iter().map(|id| id.simple().to_string()).collect();
    let claimed = sqlx::query(
        "UPDATE messages SET outbox_lease_until = $1 WHERE id IN ( \
           SELECT (SELECT m.id FROM messages m WHERE m.conversation_id = c.conversation_id \
                   AND m.next_attempt_at IS NOT NULL ORDER BY m.created_at, m.id LIMIT 1) \
           FROM (SELECT DISTINCT s.conversation_id FROM messages s \
                 WHERE s.id IN (SELECT unhex(value) FROM json_each($3))) AS c) \
         AND next_attempt_at <= $2 AND (outbox_lease_until IS NULL OR outbox_lease_until <= $2) \
         RETURNING id, conversation_id, send_attempts",
    )
    .bind(micros(lease_until))
    .bind(micros(now))
    .bind(serde_json::to_string(&ids).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .fetch_all(&mut *tx)
    .await?;
    claimed_sends(&claimed)
}

/// The claims a claim statement returned.
fn claimed_sends(rows: &[SqliteRow]) -> Result<Vec<ClaimedSend>> {
    rows.iter().map(rows::claimed_send).collect()
}

/// The sends of [`OutboxStore::record_send_results`] that went out, inside its transaction, in
/// a few statements whatever their number (the ids travel as JSON, so each statement's text
/// is the same for every group): the messages read at once, then the status reports that beat
/// the sends (one query per workspace), then every message updated at once. A status webhook
/// may have beaten a send here: what it reported is folded in.
async fn record_sends(
    tx: &mut sqlx::SqliteConnection,
    results: &[(MessageId, SendResult)],
    now: OffsetDateTime,
    deltas: &mut MetricDeltas,
) -> Result<()> {
    let sent: Vec<(MessageId, &str)> = results
        .iter()
        .filter_map(|(id, result)| match result {
            SendResult::Sent { provider_message_id } => Some((*id, provider_message_id.as_str())),
            _ => None,
        })
        .collect();
    if sent.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = sent.iter().map(|(id, _)| id.as_uuid().simple().to_string()).collect();
    let rows = sqlx::query(
        "SELECT id, workspace_id, status FROM messages WHERE id IN (SELECT unhex(value) FROM json_each($1))",
    )
    .bind(serde_json::Value::from(ids).to_string())
    .fetch_all(&mut *tx)
    .await?;
    let mut messages: HashMap<Uuid, (Uuid, bool)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let was_failed = row.try_get::<String, _>("status")? == DeliveryStatus::Failed.as_str();
        messages.insert(row.try_get("id")?, (row.try_get("workspace_id")?, was_failed));
    }
    // each send with its message's workspace and whether it had failed before
    let sent = sent
        .into_iter()
        .map(|(id, provider_message_id)| {
            let &(workspace_id, was_failed) = messages.get(&id.as_uuid()).ok_or(StoreError::NotFound("message"))?;
            Ok((id, provider_message_id, workspace_id, was_failed))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut by_workspace: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    for &(_, provider_message_id, workspace_id, _) in &sent {
        by_workspace.entry(workspace_id).or_default().push(provider_message_id);
    }
    let mut reported: HashMap<(Uuid, String), Vec<SqliteRow>> = HashMap::new();
    for (workspace_id, provider_ids) in by_workspace {
        let rows = sqlx::query(
            "SELECT provider_message_id, status, error_code, error_title, error_details, fee_micros \
             FROM message_status_events \
             WHERE workspace_id = $1 AND provider_message_id IN (SELECT value FROM json_each($2))",
        )
        .bind(workspace_id)
        .bind(serde_json::Value::from(provider_ids).to_string())
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            reported.entry((workspace_id, row.try_get("provider_message_id")?)).or_default().push(row);
        }
    }
    let mut updates = Vec::with_capacity(sent.len());
    let mut fees = Vec::new();
    for &(id, provider_message_id, workspace_id, was_failed) in &sent {
        let events = reported.get(&(workspace_id, provider_message_id.to_owned())).map_or(&[][..], Vec::as_slice);
        let (status, error, fee) = rows::reported_delivery(events)?;
        fees.extend(fee.map(|fee| (id, fee)));
        deltas.status_changed(id.as_uuid(), was_failed, status == DeliveryStatus::Failed);
        updates.push(serde_json::json!({
            "id": id.as_uuid().simple().to_string(),
            "provider_message_id": provider_message_id,
            "status": status.as_str(),
            "error_code": error.as_ref().and_then(|e| e.code),
            "error_title": error.as_ref().map(|e| e.title.as_str()),
            "error_details": error.as_ref().and_then(|e| e.details.as_deref()),
        }));
    }
    sqlx::query(
        "UPDATE messages SET provider_message_id = u.value ->> 'provider_message_id', status = u.value ->> 'status', \
         sent_at = $2, next_attempt_at = NULL, outbox_lease_until = NULL, send_attempts = send_attempts + 1, \
         error_code = u.value ->> 'error_code', error_title = u.value ->> 'error_title', \
         error_details = u.value ->> 'error_details' \
         FROM json_each($1) AS u WHERE messages.id = unhex(u.value ->> 'id')",
    )
    .bind(serde_json::Value::Array(updates).to_string())
    .bind(micros(now))
    .execute(&mut *tx)
    .await?;
    for (message_id, fee) in fees {
        super::events::charge_channel_fee(tx, message_id, fee, deltas).await?;
    }
    Ok(())
}

/// A send of [`OutboxStore::record_send_results`] that did not go out (to be tried again, or
/// failed for good), inside its transaction; sends that went out are [`record_sends`]'.
async fn record_unsent(
    tx: &mut sqlx::SqliteConnection,
    message_id: MessageId,
    result: &SendResult,
    deltas: &mut MetricDeltas,
) -> Result<()> {
    match result {
        SendResult::Sent { .. } => {}
        SendResult::Retry { at, error } => {
            sqlx::query(
                "UPDATE messages SET next_attempt_at = $2, outbox_lease_until = NULL, send_attempts = send_attempts + 1, \
                 error_code = $3, error_title = $4, error_details = $5 WHERE id = $1",
            )
            .bind(message_id.as_uuid())
            .bind(micros(*at))
            .bind(error.code)
            .bind(&error.title)
            .bind(&error.details)
            .execute(&mut *tx)
            .await?;
        }
        SendResult::Failed { error } => {
            let previous: Option<String> = sqlx::query_scalar("SELECT status FROM messages WHERE id = $1")
                .bind(message_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
            let was_failed = previous.as_deref() == Some(DeliveryStatus::Failed.as_str());
            deltas.status_changed(message_id.as_uuid(), was_failed, true);
            sqlx::query(
                "UPDATE messages SET status = 'failed', next_attempt_at = NULL, outbox_lease_until = NULL, \
                 send_attempts = send_attempts + 1, error_code = $2, error_title = $3, error_details = $4 WHERE id = $1",
            )
            .bind(message_id.as_uuid())
            .bind(error.code)
            .bind(&error.title)
            .bind(&error.details)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// The claimed messages (id, attempts so far) with their conversation, customer and sender,
/// in four statements whatever their number; a message the connection does not see is left
/// out.
async fn load_jobs(pool: &sqlx::SqlitePool, claimed: &[ClaimedSend]) -> Result<Vec<OutboundJob>> {
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let ids = claimed.iter().map(|c| c.message_id.as_uuid());
    let messages = select_in(pool, MESSAGE_COLUMNS, "messages", ids, rows::message).await?;
    let ids = messages.iter().map(|m| m.conversation_id.as_uuid());
    let conversations = select_in(pool, CONVERSATION_COLUMNS, "conversations", ids, rows::conversation).await?;
    let ids = conversations.iter().map(|c| c.customer_id.as_uuid());
    let customers = select_in(pool, CUSTOMER_COLUMNS, "customers", ids, rows::customer).await?;
    let ids = conversations.iter().filter_map(|c| c.sender_id.map(|s| s.as_uuid()));
    let senders = select_in(pool, SENDER_COLUMNS, "senders", ids, rows::sender).await?;
    Ok(outbound_jobs::assemble(claimed, messages, conversations, customers, senders))
}

/// `SELECT columns FROM table WHERE id IN (ids)`, each id once, each row read by `read`.
async fn select_in<T>(
    pool: &sqlx::SqlitePool,
    columns: &str,
    table: &str,
    ids: impl Iterator<Item = Uuid>,
    read: fn(&SqliteRow) -> Result<T>,
) -> Result<Vec<T>> {
    let ids: BTreeSet<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {columns} FROM {table} WHERE id IN ("));
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    q.push(")");
    q.build().fetch_all(pool).await?.iter().map(read).collect()
}
