//! The outbox on PostgreSQL: outbound messages queued, claimed in conversation order by any
//! process, and their send results recorded.
//!
//! A claim leases messages with `FOR NO KEY UPDATE SKIP LOCKED`; a message is claimable only
//! while no older message of its conversation is still in the outbox, so one conversation's
//! messages leave in order even with several senders. Recording sends takes the same advisory
//! locks as status reports for the provider ids they name ([`lock_provider_messages`]), so a
//! report that raced the send is folded in, never lost.

use super::conversations::{find_or_create_conversation, find_or_create_customer};
use super::events::lock_provider_messages;
use super::queue::insert_produced_message;
use super::{retry_transient, rollup, PgStore};
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
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[async_trait]
impl OutboxStore for PgStore {
    async fn open_whatsapp_conversation(
        &self,
        sender: &Sender,
        customer: &PhoneNumber,
        now: OffsetDateTime,
    ) -> Result<Conversation> {
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
        let cost: MicroUsd = messages.iter().map(|m| m.cost).sum();
        let tokens: i64 = messages.iter().map(token_count).sum();
        let updated: Option<String> = sqlx::query_scalar(
            "UPDATE conversations SET message_count = message_count + $3, total_cost_micros = total_cost_micros + $4, \
             total_tokens = total_tokens + $5, last_message_at = GREATEST(last_message_at, $6) \
             WHERE id = $1 AND workspace_id = $2 RETURNING type",
        )
        .bind(conversation_id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(count(messages.len()))
        .bind(cost.0)
        .bind(tokens)
        .bind(now)
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
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE messages SET outbox_lease_until = $1 WHERE id IN ( \
               SELECT m.id FROM messages m WHERE m.next_attempt_at IS NOT NULL AND m.next_attempt_at <= $2 \
               AND (m.outbox_lease_until IS NULL OR m.outbox_lease_until <= $2) \
               AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.conversation_id = m.conversation_id \
                   AND e.next_attempt_at IS NOT NULL AND (e.created_at, e.id) < (m.created_at, m.id)) \
               ORDER BY m.next_attempt_at LIMIT $3 FOR NO KEY UPDATE OF m SKIP LOCKED) \
             RETURNING id, conversation_id, send_attempts",
        )
        .bind(now + lease_for)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let jobs = load_jobs(&mut tx, &claimed_sends(&claimed)?).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    async fn record_send_results_claiming_next(
        &self,
        results: &[(MessageId, SendResult)],
        now: OffsetDateTime,
        claim_for: Option<Duration>,
    ) -> Result<Vec<ClaimedSend>> {
        // one lock order for every batch, and a deadlock victim tried again (it left nothing)
        let mut ordered: Vec<&(MessageId, SendResult)> = results.iter().collect();
        ordered.sort_by_key(|(id, _)| id.as_uuid());
        let resolved = resolved_sends(results);
        retry_transient(|| async {
            let mut tx = self.pool.begin().await?;
            let sent = lock_sent_messages(&mut tx, &ordered).await?;
            let mut deltas = MetricDeltas::default();
            record_sends(&mut tx, &ordered, &sent, now, &mut deltas).await?;
            for (message_id, result) in &ordered {
                record_unsent(&mut tx, *message_id, result, &mut deltas).await?;
            }
            rollup::record(&mut tx, &deltas).await?;
            let claimed = match claim_for {
                Some(lease_for) => claim_next_in_line(&mut tx, &resolved, now, now + lease_for).await?,
                None => Vec::new(),
            };
            tx.commit().await?;
            Ok(claimed)
        })
        .await
    }

    async fn load_claimed(&self, claimed: &[ClaimedSend]) -> Result<Vec<OutboundJob>> {
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        load_jobs(&mut *self.pool.acquire().await?, claimed).await
    }

    async fn set_sender_status(&self, sender_id: SenderId, status: SenderStatus) -> Result<()> {
        sqlx::query("UPDATE senders SET status = $2 WHERE id = $1")
            .bind(sender_id.as_uuid())
            .bind(status.as_str())
            .execute(&self.pool)
            .await?;
        self.settings.changed();
        Ok(())
    }
}

/// The workspace of each message sent, and whether it had failed before.
type SentMessages = HashMap<Uuid, (Uuid, bool)>;

/// Locks the rows of the messages `results` sent (in message id order), then the provider ids
/// they got, so that status reports about them wait for this transaction (or it for them).
async fn lock_sent_messages(tx: &mut PgConnection, results: &[&(MessageId, SendResult)]) -> Result<SentMessages> {
    let ids: Vec<Uuid> = results
        .iter()
        .filter(|(_, result)| matches!(result, SendResult::Sent { .. }))
        .map(|(id, _)| id.as_uuid())
        .collect();
    if ids.is_empty() {
        return Ok(SentMessages::new());
    }
    let rows =
        sqlx::query("SELECT id, workspace_id, status FROM messages WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
    let mut sent = SentMessages::with_capacity(rows.len());
    for row in &rows {
        let was_failed = row.try_get::<String, _>("status")? == DeliveryStatus::Failed.as_str();
        sent.insert(row.try_get("id")?, (row.try_get("workspace_id")?, was_failed));
    }
    let provider_ids = results.iter().filter_map(|(id, result)| match result {
        SendResult::Sent { provider_message_id } => {
            sent.get(&id.as_uuid()).map(|(workspace_id, _)| ((*workspace_id).into(), provider_message_id.as_str()))
        }
        _ => None,
    });
    lock_provider_messages(tx, provider_ids).await?;
    Ok(sent)
}

/// The sends of [`OutboxStore::record_send_results`] that went out, inside its transaction,
/// after [`lock_sent_messages`], in two statements whatever their number: the status reports
/// that beat the sends read at once (what they reported is folded in), then every message
/// updated at once.
async fn record_sends(
    tx: &mut PgConnection,
    results: &[&(MessageId, SendResult)],
    sent: &SentMessages,
    now: OffsetDateTime,
    deltas: &mut MetricDeltas,
) -> Result<()> {
    // each send with its message's workspace and whether it had failed before
    let sends = results
        .iter()
        .filter_map(|(id, result)| match result {
            SendResult::Sent { provider_message_id } => Some((*id, provider_message_id.as_str())),
            _ => None,
        })
        .map(|(id, provider_message_id)| {
            let &(workspace_id, was_failed) = sent.get(&id.as_uuid()).ok_or(StoreError::NotFound("message"))?;
            Ok((id, provider_message_id, workspace_id, was_failed))
        })
        .collect::<Result<Vec<_>>>()?;
    if sends.is_empty() {
        return Ok(());
    }
    let workspaces: Vec<Uuid> = sends.iter().map(|s| s.2).collect();
    let provider_ids: Vec<&str> = sends.iter().map(|s| s.1).collect();
    let rows = sqlx::query(
        "SELECT workspace_id, provider_message_id, status, error_code, error_title, error_details, fee_micros \
         FROM message_status_events \
         WHERE (workspace_id, provider_message_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))",
    )
    .bind(&workspaces)
    .bind(&provider_ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut reported: HashMap<(Uuid, String), Vec<PgRow>> = HashMap::new();
    for row in rows {
        reported.entry((row.try_get("workspace_id")?, row.try_get("provider_message_id")?)).or_default().push(row);
    }
    let (mut ids, mut statuses, mut codes, mut titles, mut details) = (vec![], vec![], vec![], vec![], vec![]);
    let mut fees = Vec::new();
    for &(id, provider_message_id, workspace_id, was_failed) in &sends {
        let events = reported.get(&(workspace_id, provider_message_id.to_owned())).map_or(&[][..], Vec::as_slice);
        let (status, error, fee) = rows::reported_delivery(events)?;
        fees.extend(fee.map(|fee| (id, fee)));
        deltas.status_changed(id.as_uuid(), was_failed, status == DeliveryStatus::Failed);
        ids.push(id.as_uuid());
        statuses.push(status.as_str());
        codes.push(error.as_ref().and_then(|e| e.code));
        titles.push(error.as_ref().map(|e| e.title.clone()));
        details.push(error.and_then(|e| e.details));
    }
    sqlx::query(
        "UPDATE messages m SET provider_message_id = u.provider_message_id, status = u.status, sent_at = $7, \
         next_attempt_at = NULL, outbox_lease_until = NULL, send_attempts = m.send_attempts + 1, \
         error_code = u.error_code, error_title = u.error_title, error_details = u.error_details \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[]) \
         AS u(id, provider_message_id, status, error_code, error_title, error_details) WHERE m.id = u.id",
    )
    .bind(&ids)
    .bind(&provider_ids)
    .bind(&statuses)
    .bind(&codes)
    .bind(&titles)
    .bind(&details)
    .bind(now)
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
    tx: &mut PgConnection,
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
            .bind(*at)
            .bind(error.code)
            .bind(&error.title)
            .bind(&error.details)
            .execute(&mut *tx)
            .await?;
        }
        SendResult::Failed { error } => {
            let previous: Option<String> =
                sqlx::query_scalar("SELECT status FROM messages WHERE id = $1 FOR NO KEY UPDATE")
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

/// Claims, inside the caller's transaction, the first message in line of each conversation of
/// `messages`, if it is due and unleased at `now`, until `lease_until`. One statement whatever
/// their number. Each line's first is read through `messages_outbox_line_idx` (in its order,
/// one entry), which no missing statistics can turn into a scan. A row another claimer holds
/// is waited for, then checked again: claimed meanwhile, it is left out.
pub(super) async fn claim_next_in_line(
    tx: &mut PgConnection,
    messages: &[Uuid],
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<Vec<ClaimedSend>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let claimed = sqlx::query(
        "UPDATE messages SET outbox_lease_until = $1 WHERE id IN ( \
           SELECT (SELECT m.id FROM messages m WHERE m.conversation_id = c.conversation_id \
                   AND m.next_attempt_at IS NOT NULL ORDER BY m.created_at, m.id LIMIT 1) \
           FROM (SELECT DISTINCT s.conversation_id FROM messages s WHERE s.id = ANY($3)) AS c) \
         AND next_attempt_at <= $2 AND (outbox_lease_until IS NULL OR outbox_lease_until <= $2) \
         RETURNING id, conversation_id, send_attempts",
    )
    .bind(lease_until)
    .bind(now)
    .bind(messages)
    .fetch_all(&mut *tx)
    .await?;
    claimed_sends(&claimed)
}

/// The claims a claim statement returned.
fn claimed_sends(rows: &[PgRow]) -> Result<Vec<ClaimedSend>> {
    rows.iter().map(rows::claimed_send).collect()
}

/// The claimed messages' jobs, one read per table for the whole claim.
async fn load_jobs(tx: &mut PgConnection, claimed: &[ClaimedSend]) -> Result<Vec<OutboundJob>> {
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let ids = claimed.iter().map(|c| c.message_id.as_uuid()).collect();
    let messages = select_any(tx, MESSAGE_COLUMNS, "messages", ids, rows::message).await?;
    let ids = messages.iter().map(|m| m.conversation_id.as_uuid()).collect();
    let conversations = select_any(tx, CONVERSATION_COLUMNS, "conversations", ids, rows::conversation).await?;
    let ids = conversations.iter().map(|c| c.customer_id.as_uuid()).collect();
    let customers = select_any(tx, CUSTOMER_COLUMNS, "customers", ids, rows::customer).await?;
    let ids = conversations.iter().filter_map(|c| c.sender_id.map(|s| s.as_uuid())).collect();
    let senders = select_any(tx, SENDER_COLUMNS, "senders", ids, rows::sender).await?;
    Ok(outbound_jobs::assemble(claimed, messages, conversations, customers, senders))
}

/// `SELECT columns FROM table WHERE id = ANY(ids)`, each row read by `read`.
async fn select_any<T>(
    tx: &mut PgConnection,
    columns: &str,
    table: &str,
    mut ids: Vec<Uuid>,
    read: fn(&PgRow) -> Result<T>,
) -> Result<Vec<T>> {
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {columns} FROM {table} WHERE id = ANY($1)");
    sqlx::query(&sql).bind(&ids).fetch_all(&mut *tx).await?.iter().map(read).collect()
}
