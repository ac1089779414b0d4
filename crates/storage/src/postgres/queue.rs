//! The work queue on PostgreSQL: due conversations, leases and fenced commits, shared by every
//! process on the database.
//!
//! A claim picks the longest-due unleased conversation with `FOR NO KEY UPDATE SKIP LOCKED`, so
//! concurrent claimers never wait for, or take, each other's row. A commit runs its fenced
//! update first (which locks the row and checks the token) and only then inserts the turn's
//! messages (into the outbox, on WhatsApp), all in one transaction.

use super::{outbox, retry_transient, rollup, PgStore};
use crate::outbound_jobs;
use crate::rollup::MetricDeltas;
use crate::rows::{self, CONVERSATION_COLUMNS, LEASE_COLUMNS};
use crate::values::{count, llm_latency_ms, produced_status, to_customer, token_count};
use crate::{CommittedTurns, ExtractionResult, FencedTurn, Lease, NewMessage, Result, StoreError, WorkQueue};
use async_trait::async_trait;
use confab_domain::{Conversation, ConversationId, ConversationType, MessageId, MicroUsd, WorkspaceId};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use time::{Duration, OffsetDateTime};

#[async_trait]
impl WorkQueue for PgStore {
    async fn claim_due_batch(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> Result<Vec<Lease>> {
        let sql = format!(
            "UPDATE conversations SET lease_owner = $1, lease_token = lease_token + 1, lease_until = $2 \
             WHERE id IN (SELECT id FROM conversations WHERE due_at IS NOT NULL AND due_at <= $3 \
                          AND (lease_until IS NULL OR lease_until <= $3) ORDER BY due_at LIMIT $4 \
                          FOR NO KEY UPDATE SKIP LOCKED) \
             RETURNING {LEASE_COLUMNS}, due_at"
        );
        let claimed = sqlx::query(&sql)
            .bind(owner)
            .bind(now + lease_for)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        // RETURNING has no order of its own: longest-due first
        let mut leases = claimed
            .iter()
            .map(|row| Ok((row.try_get::<OffsetDateTime, _>("due_at")?, rows::lease(row, owner)?)))
            .collect::<Result<Vec<_>>>()?;
        leases.sort_by_key(|(due_at, _)| *due_at);
        Ok(leases.into_iter().map(|(_, lease)| lease).collect())
    }

    async fn extend_lease(&self, lease: &Lease, now: OffsetDateTime, lease_for: Duration) -> Result<Lease> {
        let until = crate::to_stored_precision(now + lease_for);
        let done = sqlx::query(
            "UPDATE conversations SET lease_until = $1 \
             WHERE id = $2 AND lease_token = $3 AND lease_owner = $4 AND lease_until > $5",
        )
        .bind(until)
        .bind(lease.conversation_id.as_uuid())
        .bind(lease.token)
        .bind(&lease.owner)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(Lease { until, ..lease.clone() })
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        sqlx::query(
            "UPDATE conversations SET lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_token = $2 AND lease_owner = $3",
        )
        .bind(lease.conversation_id.as_uuid())
        .bind(lease.token)
        .bind(&lease.owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn commit_turns_claiming_sends(
        &self,
        turns: &[FencedTurn],
        claim_for: Option<Duration>,
    ) -> Result<CommittedTurns> {
        // one lock order for every group, and a deadlock victim tried again (it left nothing)
        let mut order: Vec<usize> = (0..turns.len()).collect();
        order.sort_by_key(|&i| turns[i].lease.conversation_id.as_uuid());
        retry_transient(|| async {
            let mut tx = self.pool.begin().await?;
            let mut outcomes = vec![None; turns.len()];
            for &i in &order {
                outcomes[i] = commit_one(&mut tx, &turns[i]).await?;
            }
            let stored = outcomes.iter().flatten().flatten().map(|id| id.as_uuid()).collect();
            rollup::record(&mut tx, &MetricDeltas { messages_stored: stored, ..MetricDeltas::default() }).await?;
            let claimed = match (claim_for, outbound_jobs::latest_now(turns)) {
                (Some(lease_for), Some(now)) => {
                    let sends = outbound_jobs::committed_sends(turns, &outcomes);
                    outbox::claim_next_in_line(&mut tx, &sends, now, now + lease_for).await?
                }
                _ => Vec::new(),
            };
            tx.commit().await?;
            Ok(CommittedTurns { outcomes, claimed })
        })
        .await
    }

    async fn next_due_at(&self) -> Result<Option<OffsetDateTime>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) \
             FROM conversations WHERE due_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn end_inactive(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<ConversationId>> {
        let ended: Vec<uuid::Uuid> = sqlx::query_scalar(
            "UPDATE conversations SET status = 'ended', ended_at = $1, due_at = NULL \
             WHERE id IN (SELECT c.id FROM conversations c JOIN assistants a ON a.id = c.assistant_id \
                 WHERE c.status = 'active' AND c.due_at IS NULL AND (c.lease_until IS NULL OR c.lease_until <= $1) \
                 AND c.last_message_at + make_interval(mins => a.inactivity_timeout_minutes::int) <= $1 \
                 ORDER BY c.last_message_at LIMIT $2 FOR UPDATE OF c SKIP LOCKED) \
             RETURNING id",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(ended.into_iter().map(Into::into).collect())
    }

    async fn claim_extractions(
        &self,
        now: OffsetDateTime,
        lease_for: Duration,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let sql = format!(
            "UPDATE conversations SET extraction_status = 'running', extraction_lease_until = $2 \
             WHERE id IN (SELECT id FROM conversations WHERE status = 'ended' \
                 AND (extraction_status IS NULL OR (extraction_status = 'running' AND extraction_lease_until <= $1)) \
                 ORDER BY ended_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING {CONVERSATION_COLUMNS}"
        );
        let claimed =
            sqlx::query(&sql).bind(now).bind(now + lease_for).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        claimed.iter().map(rows::conversation).collect()
    }

    async fn finish_extraction(&self, conversation_id: ConversationId, result: ExtractionResult) -> Result<()> {
        sqlx::query(
            "UPDATE conversations SET extraction_status = $2, extracted = $3, extraction_lease_until = NULL, \
             total_cost_micros = total_cost_micros + $4, total_tokens = total_tokens + $5 \
             WHERE id = $1 AND extraction_status = 'running'",
        )
        .bind(conversation_id.as_uuid())
        .bind(result.status.as_str())
        .bind(serde_json::Value::Object(result.extracted))
        .bind(result.cost.0)
        .bind(result.tokens)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// One turn of [`WorkQueue::commit_turns`]: the fenced update of its conversation (which locks
/// its row and checks the token), then its messages; `None` (and nothing written) when the
/// lease was lost.
async fn commit_one(tx: &mut PgConnection, fenced: &FencedTurn) -> Result<Option<Vec<MessageId>>> {
    let FencedTurn { lease, turn, now } = fenced;
    let now = *now;
    let cost: MicroUsd = turn.messages.iter().map(|m| m.cost).sum();
    let tokens: i64 = turn.messages.iter().map(token_count).sum();
    let (sets, removes) = crate::values::merge_patch_parts(&turn.variables);
    let fenced: Option<String> = sqlx::query_scalar(
        "UPDATE conversations SET answered_seq = GREATEST(answered_seq, $1), \
         due_at = CASE WHEN $9 OR $10 THEN NULL WHEN inbound_seq > GREATEST(answered_seq, $1) THEN due_at ELSE NULL END, \
         status = CASE WHEN $10 THEN 'ended' ELSE status END, \
         ended_at = CASE WHEN $10 THEN $5 ELSE ended_at END, \
         ai_enabled = CASE WHEN $9 THEN FALSE ELSE ai_enabled END, \
         lease_owner = NULL, lease_until = NULL, \
         message_count = message_count + $2, total_cost_micros = total_cost_micros + $3, \
         total_tokens = total_tokens + $4, last_message_at = GREATEST(last_message_at, $5), \
         variables = (variables || $11) - $12::text[] \
         WHERE id = $6 AND lease_token = $7 AND lease_owner = $8 AND lease_until > $5 \
         RETURNING type",
    )
    .bind(turn.answered_through_seq)
    .bind(count(turn.messages.len()))
    .bind(cost.0)
    .bind(tokens)
    .bind(now)
    .bind(lease.conversation_id.as_uuid())
    .bind(lease.token)
    .bind(&lease.owner)
    .bind(turn.hand_over)
    .bind(turn.end)
    .bind(sets)
    .bind(removes)
    .fetch_optional(&mut *tx)
    .await?;
    // the update changed nothing: the lease is lost, and nothing of this turn is written
    let Some(kind) = fenced else { return Ok(None) };
    let on_whatsapp = kind == ConversationType::Whatsapp.as_str();
    let mut ids = Vec::with_capacity(turn.messages.len());
    for message in &turn.messages {
        let id = MessageId::new();
        insert_produced_message(&mut *tx, lease.workspace_id, lease.conversation_id, id, message, now, on_whatsapp)
            .await?;
        ids.push(id);
    }
    Ok(Some(ids))
}

/// Stores a message confab produced (see [`produced_status`]); it enters the outbox when it
/// goes to the customer and `send` (its channel is delivered through one).
pub(super) async fn insert_produced_message(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    conversation_id: ConversationId,
    id: MessageId,
    m: &NewMessage,
    now: OffsetDateTime,
    send: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO messages (id, workspace_id, conversation_id, role, kind, content, payload, status, sent_at, \
         created_at, cost_micros, input_tokens, output_tokens, cached_input_tokens, tool_call, next_attempt_at, \
         response_time_ms, llm_latency_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(id.as_uuid())
    .bind(workspace_id.as_uuid())
    .bind(conversation_id.as_uuid())
    .bind(m.role.as_str())
    .bind(m.kind.as_str())
    .bind(&m.content)
    .bind(&m.payload)
    .bind(produced_status(m.role, send).as_str())
    .bind(now)
    .bind(m.cost.0)
    .bind(m.usage.map(|u| u.input_tokens as i64))
    .bind(m.usage.map(|u| u.output_tokens as i64))
    .bind(m.usage.map(|u| u.cached_input_tokens as i64))
    .bind(m.tool_call.as_ref().map(Json))
    .bind((to_customer(m.role) && send).then_some(now))
    .bind(m.response_time_ms)
    .bind(llm_latency_ms(m))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
