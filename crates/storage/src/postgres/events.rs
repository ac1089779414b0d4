//! Delivery statuses and kept webhook payloads on PostgreSQL.
//!
//! Status batches may arrive concurrently (Meta retries, several processes). A batch applies
//! its reports in provider message id order, each under a transaction-scoped advisory lock on
//! (workspace, provider message id), so batches about the same messages queue up in one order
//! and a report racing the send that names its message is never lost; the unique key
//! `message_status_events_key` records each status once.

use super::{retry_transient, rollup, PgStore};
use crate::rollup::MetricDeltas;
use crate::rows::{self, MESSAGE_COLUMNS, WEBHOOK_EVENT_COLUMNS};
use crate::values::status_change;
use crate::{EventStore, NewWebhookEvent, Result, StatusInput, StatusOutcome, WebhookEvent, WebhookEventKind};
use async_trait::async_trait;
use confab_domain::{DeliveryStatus, Message, MessageId, MicroUsd, WorkspaceId};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl EventStore for PgStore {
    async fn apply_statuses(&self, updates: &[StatusInput], now: OffsetDateTime) -> Result<Vec<StatusOutcome>> {
        // stable: one message's reports keep the provider's order
        let mut order: Vec<usize> = (0..updates.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&updates[a], &updates[b]);
            (a.workspace_id, &a.provider_message_id).cmp(&(b.workspace_id, &b.provider_message_id))
        });
        retry_transient(|| async {
            let mut tx = self.pool.begin().await?;
            let mut outcomes = vec![StatusOutcome::Duplicate; updates.len()];
            let mut deltas = MetricDeltas::default();
            for &i in &order {
                outcomes[i] = apply_status(&mut tx, &updates[i], now, &mut deltas).await?;
            }
            rollup::record(&mut tx, &deltas).await?;
            tx.commit().await?;
            Ok(outcomes)
        })
        .await
    }

    async fn record_webhook_events(&self, events: &[NewWebhookEvent], now: OffsetDateTime) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for event in events {
            sqlx::query(
                "INSERT INTO webhook_events (id, workspace_id, provider, kind, field, phone_number_id, reason, body, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(Uuid::now_v7())
            .bind(event.workspace_id.map(|w| w.as_uuid()))
            .bind(event.provider.as_str())
            .bind(event.kind.as_str())
            .bind(&event.field)
            .bind(&event.phone_number_id)
            .bind(&event.reason)
            .bind(&event.body)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_webhook_events(
        &self,
        workspace_id: Option<WorkspaceId>,
        kind: Option<WebhookEventKind>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>> {
        let sql = format!(
            "SELECT {WEBHOOK_EVENT_COLUMNS} FROM webhook_events \
             WHERE (workspace_id = $1 OR ($1 IS NULL AND workspace_id IS NULL)) AND ($2 IS NULL OR kind = $2) \
             ORDER BY received_at DESC, id DESC LIMIT $3"
        );
        let fetched = sqlx::query(&sql)
            .bind(workspace_id.map(|w| w.as_uuid()))
            .bind(kind.map(WebhookEventKind::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        fetched.iter().map(rows::webhook_event).collect()
    }

    async fn message_by_provider_id(
        &self,
        workspace_id: WorkspaceId,
        provider_message_id: &str,
    ) -> Result<Option<Message>> {
        let sql =
            format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE workspace_id = $1 AND provider_message_id = $2");
        let row =
            sqlx::query(&sql).bind(workspace_id.as_uuid()).bind(provider_message_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::message).transpose()
    }
}

/// Serialises, until commit, everything that reads or writes the status of the message a
/// provider knows by this id: reports applied here, and a send result naming the id (outbox).
/// A report may arrive before the send that gets the id is recorded; whichever comes second
/// sees the first.
pub(super) async fn lock_provider_message(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    provider_message_id: &str,
) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("{workspace_id}/{provider_message_id}"))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn apply_status(
    tx: &mut PgConnection,
    u: &StatusInput,
    now: OffsetDateTime,
    deltas: &mut MetricDeltas,
) -> Result<StatusOutcome> {
    lock_provider_message(tx, u.workspace_id, &u.provider_message_id).await?;
    let message = sqlx::query(
        "SELECT id, conversation_id, status FROM messages WHERE workspace_id = $1 AND provider_message_id = $2",
    )
    .bind(u.workspace_id.as_uuid())
    .bind(&u.provider_message_id)
    .fetch_optional(&mut *tx)
    .await?;
    let recorded = sqlx::query(
        "INSERT INTO message_status_events (id, workspace_id, provider_message_id, status, occurred_at, error_code, \
         error_title, error_details, pricing, received_at, fee_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (workspace_id, provider_message_id, status) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(u.workspace_id.as_uuid())
    .bind(&u.provider_message_id)
    .bind(u.status.as_str())
    .bind(u.occurred_at)
    .bind(u.error.as_ref().and_then(|e| e.code))
    .bind(u.error.as_ref().map(|e| e.title.as_str()))
    .bind(u.error.as_ref().and_then(|e| e.details.as_deref()))
    .bind(&u.pricing)
    .bind(now)
    .bind(u.fee.map(|f| f.0))
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 0 {
        return Ok(StatusOutcome::Duplicate);
    }
    let Some(row) = message else {
        return Ok(StatusOutcome::UnknownMessage);
    };
    let (message_id, conversation_id, current) = rows::message_status(&row)?;
    if let Some(fee) = u.fee {
        charge_channel_fee(tx, message_id, fee, deltas).await?;
    }
    let Some((next, error)) = status_change(current, u) else {
        return Ok(StatusOutcome::Applied { message_id, conversation_id, status: current });
    };
    sqlx::query(
        "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), \
         error_title = COALESCE($4, error_title), error_details = COALESCE($5, error_details) WHERE id = $1",
    )
    .bind(message_id.as_uuid())
    .bind(next.as_str())
    .bind(error.and_then(|e| e.code))
    .bind(error.map(|e| e.title.as_str()))
    .bind(error.and_then(|e| e.details.as_deref()))
    .execute(&mut *tx)
    .await?;
    deltas.status_changed(message_id.as_uuid(), current == DeliveryStatus::Failed, next == DeliveryStatus::Failed);
    Ok(StatusOutcome::Applied { message_id, conversation_id, status: next })
}

/// Adds a channel fee to a message's cost and its conversation's total, once: a message
/// already charged is left as it is (every status of a message repeats its pricing).
pub(super) async fn charge_channel_fee(
    tx: &mut PgConnection,
    message_id: MessageId,
    fee: MicroUsd,
    deltas: &mut MetricDeltas,
) -> Result<()> {
    let conversation: Option<Uuid> = sqlx::query_scalar(
        "UPDATE messages SET channel_fee_micros = $2, cost_micros = cost_micros + $2 \
         WHERE id = $1 AND channel_fee_micros IS NULL RETURNING conversation_id",
    )
    .bind(message_id.as_uuid())
    .bind(fee.0)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(conversation) = conversation {
        sqlx::query("UPDATE conversations SET total_cost_micros = total_cost_micros + $2 WHERE id = $1")
            .bind(conversation)
            .bind(fee.0)
            .execute(&mut *tx)
            .await?;
        deltas.cost_charged(message_id.as_uuid(), fee.0);
    }
    Ok(())
}
