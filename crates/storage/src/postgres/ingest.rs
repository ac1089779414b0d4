//! Ingest on PostgreSQL: a batch in a handful of set-based statements (arrays bound per
//! column and `UNNEST`ed), planned by [`crate::ingest_plan`], so round trips per batch do not
//! grow with its messages. Ingest runs concurrently from many connections (several
//! processes) and stays exactly-once and deadlock-free:
//! - the batch's customers are read `FOR NO KEY UPDATE` in id order, which serialises ingest
//!   per customer (a conversation without a unique key is never opened twice) and takes the
//!   locks of concurrent batches in one order;
//! - new customers are inserted in key order with `ON CONFLICT DO NOTHING`; when a concurrent
//!   batch made one first (the insert waited for it to commit), the customers are read again,
//!   which under READ COMMITTED sees it;
//! - the conversations are read, and locked, in id order before their inbound seqs are taken;
//! - the message insert's `ON CONFLICT (workspace_id, provider_message_id) DO NOTHING` is the
//!   exactly-once check: a message it did not store is a `Duplicate` and nothing else is
//!   written for it (its seq is skipped, which pending work does not mind).
//!
//! A transaction PostgreSQL still aborts as a deadlock victim is run again by the caller.

use super::conversations::reopen_ended_conversation;
use crate::ingest_plan::{
    self, ConversationDelta, ConversationRow, CustomerRow, IngestPlan, MessageRow, Settled, CONVERSATION_ROW_COLUMNS,
    CUSTOMER_ROW_COLUMNS,
};
use crate::rollup::IngestCounters;
use crate::{Result, StoreError};
use confab_domain::{InboundMessage, MessageId};
use sqlx::{PgConnection, Row};
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// How often the customers are read again after concurrent batches created some of them.
const CUSTOMER_ROUNDS: usize = 4;

/// Stores a batch inside the caller's transaction and says what it stored, with what it adds
/// to the metrics rollup when that could be counted in memory (else the caller records
/// [`Settled::metrics`]; see [`IngestPlan::counted_metrics`]).
pub(super) async fn ingest_batch<'a>(
    tx: &mut PgConnection,
    batch: &'a [InboundMessage],
    now: OffsetDateTime,
) -> Result<(Settled<'a>, Option<Vec<IngestCounters>>)> {
    let mut plan = IngestPlan::new(batch, now)?;
    let mut stored_ids = HashSet::new();
    for (workspace_id, ids) in plan.provider_ids() {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT provider_message_id FROM messages WHERE workspace_id = $1 AND provider_message_id = ANY($2)",
        )
        .bind(workspace_id.as_uuid())
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        stored_ids.extend(found.into_iter().map(|id| (workspace_id, id)));
    }
    plan.mark_stored(&stored_ids);

    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut customers = Vec::new();
        for (workspace_id, lookup) in plan.customer_lookup() {
            let sql = format!(
                "SELECT {CUSTOMER_ROW_COLUMNS} FROM customers WHERE workspace_id = $1 AND (phone = ANY($2) \
                 OR business_scoped_user_id = ANY($3) OR external_identifier = ANY($4)) ORDER BY id FOR NO KEY UPDATE"
            );
            let rows = sqlx::query(&sql)
                .bind(workspace_id.as_uuid())
                .bind(&lookup.phones)
                .bind(&lookup.bsuids)
                .bind(&lookup.externals)
                .fetch_all(&mut *tx)
                .await?;
            for row in rows {
                customers.push(ingest_plan::customer_row(&row)?);
            }
        }
        plan.resolve_customers(customers);
        let new = plan.new_customers();
        if insert_customers(tx, &new).await? == new.len() {
            break;
        }
        if rounds == CUSTOMER_ROUNDS {
            return Err(StoreError::Corrupt("customers kept being created concurrently".into()));
        }
    }
    update_customers(tx, &plan.changed_customers().collect::<Vec<_>>()).await?;

    let (customer_ids, named) = plan.conversation_lookup();
    // with whether a reply was stored at or after now, for the metrics rollup
    let sql = format!(
        "SELECT {CONVERSATION_ROW_COLUMNS}, EXISTS (SELECT 1 FROM messages r WHERE r.conversation_id = conversations.id \
         AND r.created_at >= $3 AND r.role IN ('assistant', 'agent')) AS replied_since FROM conversations \
         WHERE (status = 'active' AND customer_id = ANY($1)) OR id = ANY($2) ORDER BY id FOR NO KEY UPDATE"
    );
    let rows = sqlx::query(&sql)
        .bind(customer_ids.iter().map(|c| c.as_uuid()).collect::<Vec<Uuid>>())
        .bind(named.iter().map(|c| c.as_uuid()).collect::<Vec<Uuid>>())
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
    let conversations = rows.iter().map(ingest_plan::conversation_row).collect::<Result<Vec<_>>>()?;
    let mut replied_since_now = HashSet::new();
    for (row, conversation) in rows.iter().zip(&conversations) {
        if row.try_get::<bool, _>("replied_since")? {
            replied_since_now.insert(conversation.id);
        }
    }
    let missing = plan.resolve_conversations(conversations)?;
    let mut reopened = Vec::new();
    for (key, customer_id) in missing {
        reopened.extend(reopen_ended_conversation(tx, &key, customer_id).await?);
    }
    plan.add_reopened(reopened);
    plan.assign();
    let new = plan.new_conversations();
    if insert_conversations(tx, &new).await? != new.len() {
        // every path that opens a conversation holds its customer's row lock, which this
        // batch holds; a conflict here means that rule was broken
        return Err(StoreError::Corrupt("a conversation was opened concurrently with ingest".into()));
    }

    let inserted = insert_messages(tx, plan.messages()).await?;
    let settled = plan.settle(&inserted);
    insert_messages(tx, settled.notes.clone()).await?;
    update_conversations(tx, &settled.deltas, now).await?;
    let counted = plan.counted_metrics(&inserted, &replied_since_now);
    Ok((settled, counted))
}

/// Answers how many were inserted (the others a concurrent batch inserted first).
async fn insert_customers(tx: &mut PgConnection, rows: &[&CustomerRow]) -> Result<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO customers (id, workspace_id, phone, business_scoped_user_id, external_identifier, name, created_at) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::timestamptz[]) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(rows.iter().map(|c| c.id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|c| c.workspace_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|c| c.phone.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.bsuid.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.external.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.name.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.created_at).collect::<Vec<OffsetDateTime>>())
    .fetch_all(&mut *tx)
    .await?;
    Ok(inserted.len())
}

async fn update_customers(tx: &mut PgConnection, rows: &[&CustomerRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE customers c SET name = d.name, phone = d.phone, business_scoped_user_id = d.bsuid \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[]) AS d(id, name, phone, bsuid) WHERE c.id = d.id",
    )
    .bind(rows.iter().map(|c| c.id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|c| c.name.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.phone.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.bsuid.as_deref()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Answers how many were inserted.
async fn insert_conversations(tx: &mut PgConnection, rows: &[&ConversationRow]) -> Result<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO conversations (id, workspace_id, type, assistant_id, sender_id, customer_id, created_at, \
         last_message_at) SELECT id, workspace_id, type, assistant_id, sender_id, customer_id, created_at, created_at \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::timestamptz[]) \
         AS n(id, workspace_id, type, assistant_id, sender_id, customer_id, created_at) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(rows.iter().map(|c| c.id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|c| c.workspace_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|c| c.kind.as_str()).collect::<Vec<&str>>())
    .bind(rows.iter().map(|c| c.assistant_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|c| c.sender_id.map(|s| s.as_uuid())).collect::<Vec<Option<Uuid>>>())
    .bind(rows.iter().map(|c| c.customer_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|c| c.created_at).collect::<Vec<OffsetDateTime>>())
    .fetch_all(&mut *tx)
    .await?;
    Ok(inserted.len())
}

/// Inserts the rows in (workspace, provider id) order, so concurrent batches wait on each
/// other's messages in one order; a provider id already stored is passed over. Answers the
/// ids stored.
async fn insert_messages(tx: &mut PgConnection, mut rows: Vec<MessageRow<'_>>) -> Result<HashSet<MessageId>> {
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    rows.sort_by(|a, b| (a.workspace_id, a.provider_message_id).cmp(&(b.workspace_id, b.provider_message_id)));
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO messages (id, workspace_id, conversation_id, role, kind, content, payload, provider_message_id, \
         status, reply_to, forwarded, inbound_seq, sent_at, created_at) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[], \
         $8::text[], $9::text[], $10::text[], $11::bool[], $12::int8[], $13::timestamptz[], $14::timestamptz[]) \
         ON CONFLICT (workspace_id, provider_message_id) DO NOTHING RETURNING id",
    )
    .bind(rows.iter().map(|m| m.id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|m| m.workspace_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|m| m.conversation_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|m| m.role.as_str()).collect::<Vec<&str>>())
    .bind(rows.iter().map(|m| m.kind.as_str()).collect::<Vec<&str>>())
    .bind(rows.iter().map(|m| m.content).collect::<Vec<&str>>())
    .bind(rows.iter().map(|m| m.payload).collect::<Vec<&serde_json::Value>>())
    .bind(rows.iter().map(|m| m.provider_message_id).collect::<Vec<Option<&str>>>())
    .bind(rows.iter().map(|m| m.status()).collect::<Vec<&str>>())
    .bind(rows.iter().map(|m| m.reply_to).collect::<Vec<Option<&str>>>())
    .bind(rows.iter().map(|m| m.forwarded).collect::<Vec<bool>>())
    .bind(rows.iter().map(|m| m.inbound_seq).collect::<Vec<Option<i64>>>())
    .bind(rows.iter().map(|m| m.sent_at).collect::<Vec<OffsetDateTime>>())
    .bind(rows.iter().map(|m| m.created_at).collect::<Vec<OffsetDateTime>>())
    .fetch_all(&mut *tx)
    .await?;
    Ok(inserted.into_iter().map(MessageId::from).collect())
}

/// One statement for every conversation the batch touched (locked already, in id order).
async fn update_conversations(tx: &mut PgConnection, deltas: &[ConversationDelta], now: OffsetDateTime) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE conversations c SET inbound_seq = COALESCE(d.seq, c.inbound_seq), \
         message_count = c.message_count + d.messages, \
         customer_message_count = c.customer_message_count + d.customer_messages, \
         last_customer_message_at = CASE WHEN d.last_customer IS NULL THEN c.last_customer_message_at \
             ELSE GREATEST(COALESCE(c.last_customer_message_at, d.last_customer), d.last_customer) END, \
         last_message_at = GREATEST(c.last_message_at, $7), \
         due_at = CASE WHEN d.due IS NOT NULL AND c.ai_enabled THEN d.due ELSE c.due_at END \
         FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::int8[], $5::timestamptz[], $6::timestamptz[]) \
             AS d(id, seq, messages, customer_messages, last_customer, due) \
         WHERE c.id = d.id",
    )
    .bind(deltas.iter().map(|d| d.id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(deltas.iter().map(|d| d.seq).collect::<Vec<Option<i64>>>())
    .bind(deltas.iter().map(|d| d.messages).collect::<Vec<i64>>())
    .bind(deltas.iter().map(|d| d.customer_messages).collect::<Vec<i64>>())
    .bind(deltas.iter().map(|d| d.last_customer_message_at).collect::<Vec<Option<OffsetDateTime>>>())
    .bind(deltas.iter().map(|d| d.due_at).collect::<Vec<Option<OffsetDateTime>>>())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
