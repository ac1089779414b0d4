//! Delivery statuses and kept webhook payloads on SQLite.

use super::{micros, rollup, SqliteStore};
use crate::rollup::MetricDeltas;
use crate::rows::{self, MESSAGE_COLUMNS, WEBHOOK_EVENT_COLUMNS};
use crate::values::status_change;
use crate::{EventStore, NewWebhookEvent, Result, StatusInput, StatusOutcome, WebhookEvent, WebhookEventKind};
use async_trait::async_trait;
use confab_domain::{DeliveryStatus, Message, MessageId, MicroUsd, WorkspaceId};
use sqlx::SqliteConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl EventStore for SqliteStore {
    async fn apply_statuses(&self, updates: &[StatusInput], now: OffsetDateTime) -> Result<Vec<StatusOutcome>> {
        let mut tx = self.writer.begin().await?;
        let mut outcomes = Vec::with_capacity(updates.len());
        let mut deltas = MetricDeltas::default();
        for update in updates {
            outcomes.push(apply_status(&mut tx, update, now, &mut deltas).await?);
        }
        rollup::record(&mut tx, &deltas).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn record_webhook_events(&self, events: &[NewWebhookEvent], now: OffsetDateTime) -> Result<()> {
        let mut tx = self.writer.begin().await?;
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
            .bind(micros(now))
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
            .fetch_all(&self.reader)
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
        let row = sqlx::query(&sql)
            .bind(workspace_id.as_uuid())
            .bind(provider_message_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(rows::message).transpose()
    }
}

async fn apply_status(
    tx: &mut SqliteConnection,
    u: &StatusInput,
    now: OffsetDateTime,
    deltas: &mut MetricDeltas,
) -> Result<StatusOutcome> {
    let recorded = sqlx::query(
        "INSERT INTO message_status_events (id, workspace_id, provider_message_id, status, occurred_at, error_code, \
         error_title, error_details, pricing, received_at, fee_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (workspace_id, provider_message_id, status) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(u.workspace_id.as_uuid())
    .bind(&u.provider_message_id)
    .bind(u.status.as_str())
    .bind(micros(u.occurred_at))
    .bind(u.error.as_ref().and_then(|e| e.code))
    .bind(u.error.as_ref().map(|e| e.title.as_str()))
    .bind(u.error.as_ref().and_then(|e| e.details.as_deref()))
    .bind(u.pricing.to_string())
    .bind(micros(now))
    .bind(u.fee.map(|f| f.0))
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 0 {
        return Ok(StatusOutcome::Duplicate);
    }
    let Some(row) = sqlx::query(
        "SELECT id, conversation_id, status FROM messages WHERE workspace_id = $1 AND provider_message_id = $2",
    )
    .bind(u.workspace_id.as_uuid())
    .bind(&u.provider_message_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
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
    tx: &mut SqliteConnection,
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
