//! Delivery statuses and kept webhook payloads on SQLite.
//!
//! A group of status reports is planned in memory ([`crate::status_plan`]) and written with a
//! few statements whatever its size: the events recorded in one insert, the messages read in
//! one query per workspace, the changed messages updated by final status. The reports travel
//! as one JSON array read with `json_each`, so each statement's text is the same for every
//! group and stays one prepared statement (a list of placeholders per group size would not);
//! each statement is a hand-off to sqlx's connection thread, which under load cost more than
//! the statement itself.

use super::{micros, rollup, SqliteStore};
use crate::rollup::MetricDeltas;
use crate::rows::{self, RowExt, MESSAGE_COLUMNS, WEBHOOK_EVENT_COLUMNS};
use crate::status_plan::{group_changes, plan_statuses, recorded_reports, StatusChange, StatusMessage};
use crate::{EventStore, NewWebhookEvent, Result, StatusInput, StatusOutcome, WebhookEvent, WebhookEventKind};
use async_trait::async_trait;
use confab_domain::{Message, MessageId, MicroUsd, WorkspaceId};
use sqlx::SqliteConnection;
use std::collections::{BTreeMap, HashMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl EventStore for SqliteStore {
    async fn apply_statuses(&self, updates: &[StatusInput], now: OffsetDateTime) -> Result<Vec<StatusOutcome>> {
        let mut tx = self.writer.begin().await?;
        let mut deltas = MetricDeltas::default();
        let recorded = record_status_events(&mut tx, updates, now).await?;
        let messages = status_messages(&mut tx, updates).await?;
        let plan = plan_statuses(updates, &recorded, &messages, &mut deltas);
        for &(message_id, fee) in &plan.fees {
            charge_channel_fee(&mut tx, message_id, fee, &mut deltas).await?;
        }
        write_status_changes(&mut tx, &plan.changes).await?;
        rollup::record(&mut tx, &deltas).await?;
        tx.commit().await?;
        Ok(plan.outcomes)
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

/// Records each report's event (one row per message and status; a repeat, in the table or
/// earlier in the group, is ignored) and answers which reports were new.
async fn record_status_events(
    tx: &mut SqliteConnection,
    updates: &[StatusInput],
    now: OffsetDateTime,
) -> Result<Vec<bool>> {
    let reports: Vec<serde_json::Value> = updates
        .iter()
        .map(|u| {
            serde_json::json!({
                "id": Uuid::now_v7().simple().to_string(),
                "workspace_id": u.workspace_id.as_uuid().simple().to_string(),
                "provider_message_id": u.provider_message_id,
                "status": u.status.as_str(),
                "occurred_at": micros(u.occurred_at),
                "error_code": u.error.as_ref().and_then(|e| e.code),
                "error_title": u.error.as_ref().map(|e| e.title.as_str()),
                "error_details": u.error.as_ref().and_then(|e| e.details.as_deref()),
                "pricing": u.pricing.to_string(),
                "fee_micros": u.fee.map(|f| f.0),
            })
        })
        .collect();
    // `WHERE true` keeps SQLite from reading `ON CONFLICT` as a join constraint
    let inserted = sqlx::query(
        "INSERT INTO message_status_events (id, workspace_id, provider_message_id, status, occurred_at, error_code, \
         error_title, error_details, pricing, received_at, fee_micros) \
         SELECT unhex(value ->> 'id'), unhex(value ->> 'workspace_id'), value ->> 'provider_message_id', \
         value ->> 'status', value ->> 'occurred_at', value ->> 'error_code', value ->> 'error_title', \
         value ->> 'error_details', value ->> 'pricing', $2, value ->> 'fee_micros' \
         FROM json_each($1) WHERE true ORDER BY key \
         ON CONFLICT (workspace_id, provider_message_id, status) DO NOTHING \
         RETURNING workspace_id, provider_message_id, status",
    )
    .bind(serde_json::Value::Array(reports).to_string())
    .bind(micros(now))
    .fetch_all(&mut *tx)
    .await?;
    let inserted = inserted.iter().map(rows::status_event_key).collect::<Result<HashSet<_>>>()?;
    Ok(recorded_reports(updates, inserted))
}

/// The messages the reports name, as they are now: one query per workspace in the group.
async fn status_messages(
    tx: &mut SqliteConnection,
    updates: &[StatusInput],
) -> Result<HashMap<(WorkspaceId, String), StatusMessage>> {
    let mut by_workspace: BTreeMap<WorkspaceId, Vec<&str>> = BTreeMap::new();
    for u in updates {
        by_workspace.entry(u.workspace_id).or_default().push(&u.provider_message_id);
    }
    let mut messages = HashMap::with_capacity(updates.len());
    for (workspace_id, ids) in by_workspace {
        let rows = sqlx::query(
            "SELECT id, conversation_id, status, provider_message_id FROM messages \
             WHERE workspace_id = $1 AND provider_message_id IN (SELECT value FROM json_each($2))",
        )
        .bind(workspace_id.as_uuid())
        .bind(serde_json::Value::from(ids).to_string())
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let (id, conversation_id, status) = rows::message_status(&row)?;
            messages.insert(
                (workspace_id, row.text("provider_message_id")?),
                StatusMessage { id, conversation_id, status },
            );
        }
    }
    Ok(messages)
}

/// Writes each changed message's final status: those without an error together, by status.
async fn write_status_changes(tx: &mut SqliteConnection, changes: &[StatusChange]) -> Result<()> {
    let (plain, with_error) = group_changes(changes);
    for (status, ids) in plain {
        let ids: Vec<String> = ids.iter().map(|id| id.as_uuid().simple().to_string()).collect();
        sqlx::query("UPDATE messages SET status = $1 WHERE id IN (SELECT unhex(value) FROM json_each($2))")
            .bind(status.as_str())
            .bind(serde_json::Value::from(ids).to_string())
            .execute(&mut *tx)
            .await?;
    }
    for change in with_error {
        sqlx::query(
            "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), \
             error_title = COALESCE($4, error_title), error_details = COALESCE($5, error_details) WHERE id = $1",
        )
        .bind(change.message_id.as_uuid())
        .bind(change.status.as_str())
        .bind(change.error.code)
        .bind(change.error.title.as_deref())
        .bind(change.error.details.as_deref())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
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
