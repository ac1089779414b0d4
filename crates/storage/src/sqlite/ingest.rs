//! Ingest on SQLite: a batch in a handful of set-based statements on the one writer (stored
//! provider ids, customers, active conversations, then multi-row inserts and one update of
//! every touched conversation), planned by [`crate::ingest_plan`]. The writer is the only
//! one, so what the reads saw still holds when the writes run.

use super::conversations::reopen_ended_conversation;
use super::micros;
use crate::ingest_plan::{
    self, ConversationDelta, ConversationRow, CustomerRow, IngestPlan, MessageRow, Settled, CONVERSATION_ROW_COLUMNS,
    CUSTOMER_ROW_COLUMNS,
};
use crate::rollup::IngestCounters;
use crate::{Result, StoreError};
use confab_domain::{InboundMessage, MessageId};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use std::collections::HashSet;
use time::OffsetDateTime;

/// Most values bound in one statement (SQLite allows 32,766).
const MAX_BINDS: usize = 8_000;

/// Whether a conversation read has a reply (assistant or agent message) created at or after
/// the bound time: what the metrics rollup needs to count the batch's customer messages as
/// answered (see [`IngestPlan::counted_metrics`]). A range of `messages_conversation_idx`.
const REPLIED_SINCE: &str = ", EXISTS (SELECT 1 FROM messages r WHERE r.conversation_id = conversations.id \
     AND r.created_at >= ";

/// Stores a batch inside the caller's transaction and says what it stored, with what it adds
/// to the metrics rollup when that could be counted in memory (else the caller records
/// [`Settled::metrics`]).
pub(super) async fn ingest_batch<'a>(
    tx: &mut SqliteConnection,
    batch: &'a [InboundMessage],
    now: OffsetDateTime,
) -> Result<(Settled<'a>, Option<Vec<IngestCounters>>)> {
    let mut plan = IngestPlan::new(batch, now)?;
    let mut stored_ids = HashSet::new();
    for (workspace_id, ids) in plan.provider_ids() {
        for chunk in ids.chunks(MAX_BINDS) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT provider_message_id FROM messages WHERE workspace_id = ");
            q.push_bind(workspace_id.as_uuid()).push(" AND provider_message_id IN (");
            push_list(&mut q, chunk.iter().copied());
            let found: Vec<String> = q.build_query_scalar().fetch_all(&mut *tx).await?;
            stored_ids.extend(found.into_iter().map(|id| (workspace_id, id)));
        }
    }
    plan.mark_stored(&stored_ids);

    let mut customers = Vec::new();
    for (workspace_id, lookup) in plan.customer_lookup() {
        let by_column = [
            ("phone", &lookup.phones),
            ("business_scoped_user_id", &lookup.bsuids),
            ("external_identifier", &lookup.externals),
        ];
        for (column, values) in by_column {
            for chunk in values.chunks(MAX_BINDS) {
                let mut q = QueryBuilder::<Sqlite>::new(format!(
                    "SELECT {CUSTOMER_ROW_COLUMNS} FROM customers WHERE workspace_id = "
                ));
                q.push_bind(workspace_id.as_uuid()).push(format!(" AND {column} IN ("));
                push_list(&mut q, chunk.iter().map(String::as_str));
                for row in q.build().fetch_all(&mut *tx).await? {
                    customers.push(ingest_plan::customer_row(&row)?);
                }
            }
        }
    }
    customers.sort_by_key(|c| c.id.as_uuid());
    customers.dedup_by_key(|c| c.id);
    plan.resolve_customers(customers);
    insert_customers(tx, &plan.new_customers()).await?;
    for c in plan.changed_customers() {
        sqlx::query("UPDATE customers SET name = $2, phone = $3, business_scoped_user_id = $4 WHERE id = $1")
            .bind(c.id.as_uuid())
            .bind(&c.name)
            .bind(&c.phone)
            .bind(&c.bsuid)
            .execute(&mut *tx)
            .await?;
    }

    let (customer_ids, named) = plan.conversation_lookup();
    let mut conversations = Vec::new();
    let mut replied_since_now = HashSet::new();
    let reads = [
        ("status = 'active' AND customer_id", customer_ids.iter().map(|c| c.as_uuid()).collect::<Vec<_>>()),
        ("id", named.iter().map(|c| c.as_uuid()).collect()),
    ];
    for (column, ids) in &reads {
        for chunk in ids.chunks(MAX_BINDS) {
            let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {CONVERSATION_ROW_COLUMNS}{REPLIED_SINCE}"));
            q.push_bind(micros(now)).push(format!(
                " AND r.role IN ('assistant', 'agent')) AS replied_since FROM conversations WHERE {column} IN ("
            ));
            push_list(&mut q, chunk.iter().copied());
            for row in q.build().fetch_all(&mut *tx).await? {
                let conversation = ingest_plan::conversation_row(&row)?;
                if row.try_get::<bool, _>("replied_since")? {
                    replied_since_now.insert(conversation.id);
                }
                conversations.push(conversation);
            }
        }
    }
    conversations.sort_by_key(|c| c.id.as_uuid());
    conversations.dedup_by_key(|c| c.id);
    let missing = plan.resolve_conversations(conversations)?;
    let mut reopened = Vec::new();
    for (key, customer_id) in missing {
        reopened.extend(reopen_ended_conversation(tx, &key, customer_id).await?);
    }
    plan.add_reopened(reopened);
    plan.assign();
    insert_conversations(tx, &plan.new_conversations()).await?;

    let messages = plan.messages();
    if insert_messages(tx, &messages).await? != messages.len() {
        return Err(StoreError::Corrupt("a message the batch checked as new was already stored".into()));
    }
    let inserted: HashSet<MessageId> = messages.iter().map(|m| m.id).collect();
    let settled = plan.settle(&inserted);
    insert_messages(tx, &settled.notes).await?;
    update_conversations(tx, &settled.deltas, now).await?;
    let counted = plan.counted_metrics(&inserted, &replied_since_now);
    Ok((settled, counted))
}

fn push_list<'q, T>(q: &mut QueryBuilder<'q, Sqlite>, values: impl Iterator<Item = T>)
where
    T: 'q + sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + Send,
{
    let mut list = q.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}

async fn insert_customers(tx: &mut SqliteConnection, rows: &[&CustomerRow]) -> Result<()> {
    for chunk in rows.chunks(MAX_BINDS / 7) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO customers (id, workspace_id, phone, business_scoped_user_id, external_identifier, name, \
             created_at) ",
        );
        q.push_values(chunk, |mut b, c| {
            b.push_bind(c.id.as_uuid())
                .push_bind(c.workspace_id.as_uuid())
                .push_bind(c.phone.as_deref())
                .push_bind(c.bsuid.as_deref())
                .push_bind(c.external.as_deref())
                .push_bind(c.name.as_deref())
                .push_bind(micros(c.created_at));
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

async fn insert_conversations(tx: &mut SqliteConnection, rows: &[&ConversationRow]) -> Result<()> {
    for chunk in rows.chunks(MAX_BINDS / 7) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO conversations (id, workspace_id, type, assistant_id, sender_id, customer_id, created_at, \
             last_message_at) ",
        );
        q.push_values(chunk, |mut b, c| {
            b.push_bind(c.id.as_uuid())
                .push_bind(c.workspace_id.as_uuid())
                .push_bind(c.kind.as_str())
                .push_bind(c.assistant_id.as_uuid())
                .push_bind(c.sender_id.map(|s| s.as_uuid()))
                .push_bind(c.customer_id.as_uuid())
                .push_bind(micros(c.created_at))
                .push_bind(micros(c.created_at));
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Inserts the rows (a provider id already stored is passed over) and answers how many it
/// stored. (Not `RETURNING id`: SQLite collects returned rows in a temporary table, and the
/// one writer already checked which provider ids are stored, so a count says it all.)
async fn insert_messages(tx: &mut SqliteConnection, rows: &[MessageRow<'_>]) -> Result<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(MAX_BINDS / 14) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (id, workspace_id, conversation_id, role, kind, content, payload, \
             provider_message_id, status, reply_to, forwarded, inbound_seq, sent_at, created_at) ",
        );
        q.push_values(chunk, |mut b, m| {
            b.push_bind(m.id.as_uuid())
                .push_bind(m.workspace_id.as_uuid())
                .push_bind(m.conversation_id.as_uuid())
                .push_bind(m.role.as_str())
                .push_bind(m.kind.as_str())
                .push_bind(m.content)
                .push_bind(m.payload.to_string())
                .push_bind(m.provider_message_id)
                .push_bind(m.status())
                .push_bind(m.reply_to)
                .push_bind(m.forwarded)
                .push_bind(m.inbound_seq)
                .push_bind(micros(m.sent_at))
                .push_bind(micros(m.created_at));
        });
        q.push(" ON CONFLICT (workspace_id, provider_message_id) DO NOTHING");
        let done = q.build().execute(&mut *tx).await?.rows_affected();
        inserted += usize::try_from(done).unwrap_or(usize::MAX);
    }
    Ok(inserted)
}

/// Most conversations updated one statement each; more are updated in one `UPDATE … FROM`
/// (which materialises its rows in temporary tables: worth it only for more rows).
const UPDATES_ONE_BY_ONE: usize = 4;

/// What [`update_conversations`] does to one conversation (the same as its `UPDATE … FROM`).
const UPDATE_ONE_CONVERSATION: &str = "UPDATE conversations SET inbound_seq = COALESCE($2, inbound_seq), \
     message_count = message_count + $3, customer_message_count = customer_message_count + $4, \
     last_customer_message_at = CASE WHEN $5 IS NULL THEN last_customer_message_at \
         ELSE MAX(COALESCE(last_customer_message_at, $5), $5) END, \
     last_message_at = MAX(last_message_at, $7), \
     due_at = CASE WHEN $6 IS NOT NULL AND ai_enabled THEN $6 ELSE due_at END WHERE id = $1";

/// Applies the counter deltas of every conversation the batch touched: one statement each
/// for a few, else one statement for all.
async fn update_conversations(
    tx: &mut SqliteConnection,
    deltas: &[ConversationDelta],
    now: OffsetDateTime,
) -> Result<()> {
    if deltas.len() <= UPDATES_ONE_BY_ONE {
        for d in deltas {
            sqlx::query(UPDATE_ONE_CONVERSATION)
                .bind(d.id.as_uuid())
                .bind(d.seq)
                .bind(d.messages)
                .bind(d.customer_messages)
                .bind(d.last_customer_message_at.map(micros))
                .bind(d.due_at.map(micros))
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
        }
        return Ok(());
    }
    for chunk in deltas.chunks(MAX_BINDS / 6) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "UPDATE conversations SET inbound_seq = COALESCE(d.column2, conversations.inbound_seq), \
             message_count = conversations.message_count + d.column3, \
             customer_message_count = conversations.customer_message_count + d.column4, \
             last_customer_message_at = CASE WHEN d.column5 IS NULL THEN conversations.last_customer_message_at \
                 ELSE MAX(COALESCE(conversations.last_customer_message_at, d.column5), d.column5) END, \
             last_message_at = MAX(conversations.last_message_at, ",
        );
        q.push_bind(micros(now)).push(
            "), due_at = CASE WHEN d.column6 IS NOT NULL AND conversations.ai_enabled THEN d.column6 \
             ELSE conversations.due_at END FROM (",
        );
        q.push_values(chunk, |mut b, d| {
            b.push_bind(d.id.as_uuid())
                .push_bind(d.seq)
                .push_bind(d.messages)
                .push_bind(d.customer_messages)
                .push_bind(d.last_customer_message_at.map(micros))
                .push_bind(d.due_at.map(micros));
        });
        q.push(") AS d WHERE conversations.id = d.column1");
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}
