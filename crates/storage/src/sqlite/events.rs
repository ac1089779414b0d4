//! Delivery statuses and kept webhook payloads on SQLite. A batch of statuses is planned in
//! memory ([`crate::status_plan`]) and written with a few statements: the events in one insert,
//! the messages read in one query, the changed messages updated by final status.

use super::{micros, rollup, SqliteStore};
use crate::rollup::MetricDeltas;
use crate::rows::RowExt;
use crate::rows::{self, MESSAGE_COLUMNS, WEBHOOK_EVENT_COLUMNS};
use crate::status_plan::{group_changes, plan_statuses, recorded_reports, StatusChange, StatusMessage};
use crate::{EventStore, NewWebhookEvent, Result, StatusInput, StatusOutcome, WebhookEvent, WebhookEventKind};
use async_trait::async_trait;
use confab_domain::{Message, MessageId, MicroUsd, WorkspaceId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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

/// Reports per insert: 11 bound values each, well under SQLite's limit of variables.
const STATUS_ROWS_PER_INSERT: usize = 500;

/// Records each report's event (one row per message and status; a repeat is ignored) and
/// answers which reports were new.
async fn record_status_events(
    tx: &mut SqliteConnection,
    updates: &[StatusInput],
    now: OffsetDateTime,
) -> Result<Vec<bool>> {
    let mut inserted = HashSet::new();
    for chunk in updates.chunks(STATUS_ROWS_PER_INSERT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO message_status_events (id, workspace_id, provider_message_id, status, occurred_at, error_code, \
             error_title, error_details, pricing, received_at, fee_micros) ",
        );
        q.push_values(chunk, |mut row, u| {
            row.push_bind(Uuid::now_v7())
                .push_bind(u.workspace_id.as_uuid())
                .push_bind(&u.provider_message_id)
                .push_bind(u.status.as_str())
                .push_bind(micros(u.occurred_at))
                .push_bind(u.error.as_ref().and_then(|e| e.code))
                .push_bind(u.error.as_ref().map(|e| e.title.as_str()))
                .push_bind(u.error.as_ref().and_then(|e| e.details.as_deref()))
                .push_bind(u.pricing.to_string())
                .push_bind(micros(now))
                .push_bind(u.fee.map(|f| f.0));
        });
        q.push(
            " ON CONFLICT (workspace_id, provider_message_id, status) DO NOTHING \
             RETURNING workspace_id, provider_message_id, status",
        );
        for row in q.build().fetch_all(&mut *tx).await? {
            inserted.insert(rows::status_event_key(&row)?);
        }
    }
    Ok(recorded_reports(updates, inserted))
}

/// The messages the reports name, as they are now.
async fn status_messages(
    tx: &mut SqliteConnection,
    updates: &[StatusInput],
) -> Result<HashMap<(WorkspaceId, String), StatusMessage>> {
    let mut wanted: BTreeMap<WorkspaceId, BTreeSet<&str>> = BTreeMap::new();
    for u in updates {
        wanted.entry(u.workspace_id).or_default().insert(&u.provider_message_id);
    }
    let mut messages = HashMap::new();
    for (workspace_id, ids) in wanted {
        let ids: Vec<&str> = ids.into_iter().collect();
        for chunk in ids.chunks(STATUS_ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT id, conversation_id, status, provider_message_id FROM messages WHERE workspace_id = ",
            );
            q.push_bind(workspace_id.as_uuid()).push(" AND provider_message_id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            q.push(")");
            for row in q.build().fetch_all(&mut *tx).await? {
                let (id, conversation_id, status) = rows::message_status(&row)?;
                let provider_message_id = row.text("provider_message_id")?;
                messages.insert((workspace_id, provider_message_id), StatusMessage { id, conversation_id, status });
            }
        }
    }
    Ok(messages)
}

/// Writes each changed message's final status: those without an error together, by status.
async fn write_status_changes(tx: &mut SqliteConnection, changes: &[StatusChange]) -> Result<()> {
    let (plain, with_error) = group_changes(changes);
    for (status, ids) in plain {
        for chunk in ids.chunks(STATUS_ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE messages SET status = ");
            q.push_bind(status.as_str()).push(" WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_uuid());
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
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
