//! The metrics rollup on PostgreSQL (see [`crate::rollup`]): what a conversation or a message
//! contributes, as `INSERT … SELECT` into the delta tables over a set of ids (a write
//! transaction's) or a whole workspace (a rebuild), and the compaction that folds the deltas
//! into the daily tables with `DELETE … RETURNING` and an upsert, in one statement. Writers
//! only ever append delta rows, so thousands of concurrent transactions never queue on one
//! "today" row; compactions take a transaction-level advisory lock, so one runs at a time
//! (the others find nothing to do) and day rows are never upserted by two at once.

use crate::rollup::{bucket_sql, IngestCounters, MetricDeltas, COUNTERS, KEY};
use crate::Result;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

/// The advisory lock key compactions hold (an arbitrary constant: "rollup" in ASCII).
const COMPACTION_LOCK: i64 = 0x726f_6c6c_7570;

/// The UTC day since the Unix epoch of a `timestamptz` expression.
fn epoch_day(column: &str) -> String {
    format!("floor(extract(epoch from {column}) / 86400)::bigint")
}

/// Which rows a contribution reads.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Rows written by the current transaction.
    Ids(&'a [Uuid]),
    /// Every row of a workspace, or of all.
    Workspace(Option<Uuid>),
}

fn push_scope(q: &mut QueryBuilder<'_, Postgres>, alias: &str, scope: Scope<'_>) {
    match scope {
        Scope::Ids(ids) => {
            q.push(format!("{alias}.id = ANY(")).push_bind(ids.to_vec()).push(")");
        }
        Scope::Workspace(Some(workspace_id)) => {
            q.push(format!("{alias}.workspace_id = ")).push_bind(workspace_id);
        }
        Scope::Workspace(None) => {
            q.push("TRUE");
        }
    }
}

fn counter_columns() -> String {
    COUNTERS.join(", ")
}

/// Conversations started: one each, on the day of their creation.
fn conversations_started(scope: Scope<'_>) -> QueryBuilder<'_, Postgres> {
    let zeros = ", 0".repeat(COUNTERS.len() - 1);
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO metric_deltas ({KEY}, {}) \
         SELECT c.workspace_id, {}, c.type, c.assistant_id, COUNT(*){zeros} \
         FROM conversations c WHERE ",
        counter_columns(),
        epoch_day("c.created_at")
    ));
    push_scope(&mut q, "c", scope);
    q.push(" GROUP BY 1, 2, 3, 4");
    q
}

/// Messages as stored now: counts, cost, response times, latency, LLM failures, failed
/// deliveries, and customer messages that a reply at the same time or later already answers.
fn messages_stored(scope: Scope<'_>) -> QueryBuilder<'_, Postgres> {
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO metric_deltas ({KEY}, {}) \
         SELECT m.workspace_id, {}, c.type, c.assistant_id, 0, COUNT(*), \
         COUNT(*) FILTER (WHERE m.role = 'user'), \
         COUNT(*) FILTER (WHERE m.role = 'user' AND EXISTS (SELECT 1 FROM messages r \
             WHERE r.conversation_id = m.conversation_id AND r.role IN ('assistant', 'agent') \
             AND r.created_at >= m.created_at)), \
         COALESCE(SUM(m.cost_micros), 0)::bigint, COUNT(m.response_time_ms), \
         COALESCE(SUM(m.response_time_ms), 0)::bigint, \
         COUNT(m.llm_latency_ms), COALESCE(SUM(m.llm_latency_ms), 0)::bigint, \
         COUNT(*) FILTER (WHERE m.role = 'assistant' AND m.payload ? 'llm_error'), \
         COUNT(*) FILTER (WHERE m.role = 'assistant' AND m.payload ->> 'llm_error' = 'timeout'), \
         COUNT(*) FILTER (WHERE m.status = 'failed') \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE ",
        counter_columns(),
        epoch_day("m.created_at")
    ));
    push_scope(&mut q, "m", scope);
    q.push(" GROUP BY 1, 2, 3, 4");
    q
}

/// The response-time histogram of messages as stored.
fn response_times(scope: Scope<'_>) -> QueryBuilder<'_, Postgres> {
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO response_time_deltas ({KEY}, bucket, responses) \
         SELECT m.workspace_id, {}, c.type, c.assistant_id, {}, COUNT(*) \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.response_time_ms IS NOT NULL AND ",
        epoch_day("m.created_at"),
        bucket_sql("m.response_time_ms")
    ));
    push_scope(&mut q, "m", scope);
    q.push(" GROUP BY 1, 2, 3, 4, 5");
    q
}

/// Customer messages stored earlier that new replies (assistant or agent messages among
/// `ids`) answer: those after the conversation's latest earlier reply, up to the new one.
fn answered_by(ids: &[Uuid]) -> QueryBuilder<'_, Postgres> {
    let mut q = QueryBuilder::new("WITH new_messages AS (SELECT unnest(");
    q.push_bind(ids.to_vec());
    q.push(format!(
        "::uuid[]) AS id), \
         replies AS (SELECT m.conversation_id, MAX(m.created_at) AS answered_through, \
             COALESCE((SELECT r.created_at FROM messages r WHERE r.conversation_id = m.conversation_id \
                 AND r.role IN ('assistant', 'agent') AND r.id NOT IN (SELECT id FROM new_messages) \
                 ORDER BY r.created_at DESC LIMIT 1), '-infinity'::timestamptz) AS answered_before \
             FROM messages m WHERE m.role IN ('assistant', 'agent') AND m.id IN (SELECT id FROM new_messages) \
             GROUP BY m.conversation_id) \
         INSERT INTO metric_deltas ({KEY}, answered_customer_messages) \
         SELECT u.workspace_id, {}, c.type, c.assistant_id, COUNT(*) \
         FROM replies JOIN messages u ON u.conversation_id = replies.conversation_id \
             AND u.created_at > replies.answered_before AND u.created_at <= replies.answered_through \
         JOIN conversations c ON c.id = u.conversation_id \
         WHERE u.role = 'user' AND u.id NOT IN (SELECT id FROM new_messages) GROUP BY 1, 2, 3, 4",
        epoch_day("u.created_at")
    ));
    q
}

/// Cost and failed-delivery changes of messages stored earlier, on the messages' days.
fn adjustments(deltas: &MetricDeltas) -> QueryBuilder<'_, Postgres> {
    let list = &deltas.adjustments;
    let mut q = QueryBuilder::new("WITH adjustments AS (SELECT * FROM unnest(");
    q.push_bind(list.iter().map(|a| a.message_id).collect::<Vec<_>>());
    q.push("::uuid[], ");
    q.push_bind(list.iter().map(|a| a.cost_micros).collect::<Vec<_>>());
    q.push("::bigint[], ");
    q.push_bind(list.iter().map(|a| a.failed_deliveries).collect::<Vec<_>>());
    q.push(format!(
        "::bigint[]) AS a (id, cost_micros, failed_deliveries)) \
         INSERT INTO metric_deltas ({KEY}, cost_micros, failed_deliveries) \
         SELECT m.workspace_id, {}, c.type, c.assistant_id, SUM(a.cost_micros)::bigint, \
         SUM(a.failed_deliveries)::bigint \
         FROM adjustments a JOIN messages m ON m.id = a.id JOIN conversations c ON c.id = m.conversation_id \
         GROUP BY 1, 2, 3, 4",
        epoch_day("m.created_at")
    ));
    q
}

/// Appends what one write transaction changed to the delta tables; call it last, before the
/// commit (it reads the rows the transaction wrote).
pub(super) async fn record(tx: &mut PgConnection, deltas: &MetricDeltas) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    if !deltas.conversations_started.is_empty() {
        conversations_started(Scope::Ids(&deltas.conversations_started)).build().execute(&mut *tx).await?;
    }
    let stored = &deltas.messages_stored;
    if !stored.is_empty() {
        messages_stored(Scope::Ids(stored)).build().execute(&mut *tx).await?;
        response_times(Scope::Ids(stored)).build().execute(&mut *tx).await?;
        answered_by(stored).build().execute(&mut *tx).await?;
    }
    if !deltas.adjustments.is_empty() {
        adjustments(deltas).build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Appends what an ingest batch counted in memory (every row on the UTC day of `now`) in one
/// statement, or none when it counted nothing.
pub(super) async fn append_ingest(tx: &mut PgConnection, rows: &[IngestCounters], now: OffsetDateTime) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let micros = i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
    let day = micros.div_euclid(86_400_000_000);
    sqlx::query(&format!(
        "INSERT INTO metric_deltas ({KEY}, conversations_started, messages, customer_messages, \
         answered_customer_messages) \
         SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::uuid[], $5::bigint[], $6::bigint[], \
         $7::bigint[], $8::bigint[])"
    ))
    .bind(rows.iter().map(|r| r.workspace_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(vec![day; rows.len()])
    .bind(rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.assistant_id.as_uuid()).collect::<Vec<Uuid>>())
    .bind(rows.iter().map(|r| r.conversations_started).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.messages).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.customer_messages).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.answered_customer_messages).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Replaces the rollup of a workspace (or of all) with deltas recomputed from its history;
/// [`compact`] then folds them.
pub(super) async fn rebuild(tx: &mut PgConnection, workspace_id: Option<Uuid>) -> Result<()> {
    for table in ["metric_days", "metric_deltas", "response_time_days", "response_time_deltas"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE $1::uuid IS NULL OR workspace_id = $1"))
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
    }
    let scope = Scope::Workspace(workspace_id);
    conversations_started(scope).build().execute(&mut *tx).await?;
    messages_stored(scope).build().execute(&mut *tx).await?;
    response_times(scope).build().execute(&mut *tx).await?;
    Ok(())
}

/// Folds every delta into the daily tables; returns how many delta rows it folded (0 when
/// another compaction holds the lock).
pub(super) async fn compact(tx: &mut PgConnection) -> Result<u64> {
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(COMPACTION_LOCK).fetch_one(&mut *tx).await?;
    if !locked {
        return Ok(0);
    }
    let sums: Vec<String> = COUNTERS.iter().map(|c| format!("SUM({c})::bigint")).collect();
    let adds: Vec<String> = COUNTERS.iter().map(|c| format!("{c} = metric_days.{c} + EXCLUDED.{c}")).collect();
    let counters: i64 = sqlx::query_scalar(&format!(
        "WITH folded AS (DELETE FROM metric_deltas RETURNING *), \
         upserted AS (INSERT INTO metric_days ({KEY}, {}) SELECT {KEY}, {} FROM folded \
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 ON CONFLICT ({KEY}) DO UPDATE SET {} RETURNING 1) \
         SELECT COUNT(*) FROM folded",
        counter_columns(),
        sums.join(", "),
        adds.join(", ")
    ))
    .fetch_one(&mut *tx)
    .await?;
    let buckets: i64 = sqlx::query_scalar(&format!(
        "WITH folded AS (DELETE FROM response_time_deltas RETURNING *), \
         upserted AS (INSERT INTO response_time_days ({KEY}, bucket, responses) \
             SELECT {KEY}, bucket, SUM(responses)::bigint FROM folded GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5 \
             ON CONFLICT ({KEY}, bucket) DO UPDATE SET responses = response_time_days.responses + EXCLUDED.responses \
             RETURNING 1) \
         SELECT COUNT(*) FROM folded"
    ))
    .fetch_one(&mut *tx)
    .await?;
    Ok(u64::try_from(counters + buckets).unwrap_or(0))
}
