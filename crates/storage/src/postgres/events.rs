//! Delivery statuses and kept webhook payloads on PostgreSQL.
//!
//! Status batches may arrive concurrently (Meta retries, several processes). A batch first
//! takes a transaction-scoped advisory lock on (workspace, provider message id) of every
//! message it names, in key order ([`lock_provider_messages`]), so batches about the same
//! messages queue up in one order and a report racing the send that names its message is
//! never lost; the unique key
//! `message_status_events_key` records each status once. Then it is planned in memory
//! ([`crate::status_plan`]) and written with a few statements: the messages read in one
//! query, the events in one insert, the changed messages updated by final status.

use super::{retry_transient, rollup, PgStore};
use crate::rollup::MetricDeltas;
use crate::rows::RowExt;
use crate::rows::{self, MESSAGE_COLUMNS, WEBHOOK_EVENT_COLUMNS};
use crate::status_plan::{group_changes, plan_statuses, recorded_reports, StatusChange, StatusMessage};
use crate::{EventStore, NewWebhookEvent, Result, StatusInput, StatusOutcome, WebhookEvent, WebhookEventKind};
use async_trait::async_trait;
use confab_domain::{Message, MessageId, MicroUsd, WorkspaceId};
use sqlx::PgConnection;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl EventStore for PgStore {
    async fn apply_statuses(&self, updates: &[StatusInput], now: OffsetDateTime) -> Result<Vec<StatusOutcome>> {
        retry_transient(|| async {
            let mut tx = self.pool.begin().await?;
            let mut deltas = MetricDeltas::default();
            lock_provider_messages(&mut tx, updates.iter().map(|u| (u.workspace_id, u.provider_message_id.as_str())))
                .await?;
            let messages = status_messages(&mut tx, updates).await?;
            let recorded = record_status_events(&mut tx, updates, now).await?;
            let plan = plan_statuses(updates, &recorded, &messages, &mut deltas);
            for &(message_id, fee) in &plan.fees {
                charge_channel_fee(&mut tx, message_id, fee, &mut deltas).await?;
            }
            write_status_changes(&mut tx, &plan.changes).await?;
            rollup::record(&mut tx, &deltas).await?;
            tx.commit().await?;
            Ok(plan.outcomes)
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

/// Serialises, until commit, everything that reads or writes the status of the messages a
/// provider knows by these ids: reports applied here, and send results naming the ids
/// (outbox). A report may arrive before the send that gets the id is recorded; whichever comes
/// second sees the first.
///
/// Every transaction takes all of its locks up front, in one round trip and in one global
/// order (the keys sorted), so a group of reports and a group of send results that share ids
/// never wait on each other in a cycle: PostgreSQL would only find that after
/// `deadlock_timeout` (a second) and abort one of them.
pub(super) async fn lock_provider_messages<'a>(
    tx: &mut PgConnection,
    ids: impl IntoIterator<Item = (WorkspaceId, &'a str)>,
) -> Result<()> {
    let mut keys: Vec<String> = ids.into_iter().map(|(workspace_id, id)| format!("{workspace_id}/{id}")).collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    // a function scan yields the array in order, so the locks are taken in the keys' order
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k")
        .bind(keys)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The messages the reports name, as they are now (read under their locks).
async fn status_messages(
    tx: &mut PgConnection,
    updates: &[StatusInput],
) -> Result<HashMap<(WorkspaceId, String), StatusMessage>> {
    let workspaces: Vec<Uuid> = updates.iter().map(|u| u.workspace_id.as_uuid()).collect();
    let ids: Vec<&str> = updates.iter().map(|u| u.provider_message_id.as_str()).collect();
    let rows = sqlx::query(
        "SELECT id, conversation_id, status, workspace_id, provider_message_id FROM messages \
         WHERE (workspace_id, provider_message_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))",
    )
    .bind(&workspaces)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut messages = HashMap::with_capacity(rows.len());
    for row in rows {
        let (id, conversation_id, status) = rows::message_status(&row)?;
        let key = (row.uuid("workspace_id")?.into(), row.text("provider_message_id")?);
        messages.insert(key, StatusMessage { id, conversation_id, status });
    }
    Ok(messages)
}

/// Records each report's event (one row per message and status; a repeat is ignored) and
/// answers which reports were new.
async fn record_status_events(
    tx: &mut PgConnection,
    updates: &[StatusInput],
    now: OffsetDateTime,
) -> Result<Vec<bool>> {
    let column = |f: &dyn Fn(&StatusInput) -> Option<String>| updates.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = updates.iter().map(|_| Uuid::now_v7()).collect();
    let workspaces: Vec<Uuid> = updates.iter().map(|u| u.workspace_id.as_uuid()).collect();
    let provider_ids = column(&|u| Some(u.provider_message_id.clone()));
    let statuses = column(&|u| Some(u.status.as_str().to_owned()));
    let occurred: Vec<OffsetDateTime> = updates.iter().map(|u| u.occurred_at).collect();
    let codes: Vec<Option<i64>> = updates.iter().map(|u| u.error.as_ref().and_then(|e| e.code)).collect();
    let titles = column(&|u| u.error.as_ref().map(|e| e.title.clone()));
    let details = column(&|u| u.error.as_ref().and_then(|e| e.details.clone()));
    let pricing = column(&|u| Some(u.pricing.to_string()));
    let fees: Vec<Option<i64>> = updates.iter().map(|u| u.fee.map(|f| f.0)).collect();
    let inserted = sqlx::query(
        "INSERT INTO message_status_events (id, workspace_id, provider_message_id, status, occurred_at, error_code, \
         error_title, error_details, pricing, received_at, fee_micros) \
         SELECT id, workspace_id, provider_message_id, status, occurred_at, error_code, error_title, error_details, \
         pricing::jsonb, $10, fee_micros \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::int8[], $7::text[], \
         $8::text[], $9::text[], $11::int8[]) \
         AS t(id, workspace_id, provider_message_id, status, occurred_at, error_code, error_title, error_details, \
         pricing, fee_micros) \
         ON CONFLICT (workspace_id, provider_message_id, status) DO NOTHING \
         RETURNING workspace_id, provider_message_id, status",
    )
    .bind(&ids)
    .bind(&workspaces)
    .bind(&provider_ids)
    .bind(&statuses)
    .bind(&occurred)
    .bind(&codes)
    .bind(&titles)
    .bind(&details)
    .bind(&pricing)
    .bind(now)
    .bind(&fees)
    .fetch_all(&mut *tx)
    .await?;
    let inserted = inserted.iter().map(rows::status_event_key).collect::<Result<HashSet<_>>>()?;
    Ok(recorded_reports(updates, inserted))
}

/// Writes each changed message's final status: those without an error together, by status.
async fn write_status_changes(tx: &mut PgConnection, changes: &[StatusChange]) -> Result<()> {
    let (plain, with_error) = group_changes(changes);
    for (status, ids) in plain {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        sqlx::query("UPDATE messages SET status = $1 WHERE id = ANY($2)")
            .bind(status.as_str())
            .bind(&ids)
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
