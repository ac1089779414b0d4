//! The metrics rollup on SQLite (see [`crate::rollup`]): what a conversation or a message
//! contributes, as `INSERT … SELECT` into the delta tables over a set of ids (a write
//! transaction's) or a whole workspace (a rebuild), and the compaction that folds the deltas
//! into the daily tables. The single writer connection serialises compactions; one deletes
//! the deltas up to the largest id it folded, in the same transaction.

use crate::rollup::{bucket_sql, IngestCounters, MetricDeltas, COUNTERS, KEY};
use crate::Result;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Which rows a contribution reads.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Rows written by the current transaction.
    Ids(&'a [Uuid]),
    /// Every row of a workspace, or of all.
    Workspace(Option<Uuid>),
}

fn push_scope(q: &mut QueryBuilder<'_, Sqlite>, alias: &str, scope: Scope<'_>) {
    match scope {
        Scope::Ids(ids) => {
            q.push(format!("{alias}.id IN ("));
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            q.push(")");
        }
        Scope::Workspace(Some(workspace_id)) => {
            q.push(format!("{alias}.workspace_id = ")).push_bind(workspace_id);
        }
        Scope::Workspace(None) => {
            q.push("1 = 1");
        }
    }
}

fn counter_columns() -> String {
    COUNTERS.join(", ")
}

/// Conversations started: one each, on the day of their creation.
fn conversations_started(scope: Scope<'_>) -> QueryBuilder<'_, Sqlite> {
    let zeros = ", 0".repeat(COUNTERS.len() - 1);
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO metric_deltas ({KEY}, {}) \
         SELECT c.workspace_id, c.created_at / {MICROS_PER_DAY}, c.type, c.assistant_id, COUNT(*){zeros} \
         FROM conversations c WHERE ",
        counter_columns()
    ));
    push_scope(&mut q, "c", scope);
    q.push(" GROUP BY 1, 2, 3, 4");
    q
}

/// Messages as stored now: counts, cost, response times, latency, LLM failures, failed
/// deliveries, and customer messages that a reply at the same time or later already answers.
fn messages_stored(scope: Scope<'_>) -> QueryBuilder<'_, Sqlite> {
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO metric_deltas ({KEY}, {}) \
         SELECT m.workspace_id, m.created_at / {MICROS_PER_DAY}, c.type, c.assistant_id, 0, COUNT(*), \
         SUM(m.role = 'user'), \
         SUM(m.role = 'user' AND EXISTS (SELECT 1 FROM messages r WHERE r.conversation_id = m.conversation_id \
             AND r.role IN ('assistant', 'agent') AND r.created_at >= m.created_at)), \
         SUM(m.cost_micros), COUNT(m.response_time_ms), COALESCE(SUM(m.response_time_ms), 0), \
         COUNT(m.llm_latency_ms), COALESCE(SUM(m.llm_latency_ms), 0), \
         SUM(CASE WHEN m.role = 'assistant' THEN json_extract(m.payload, '$.llm_error') IS NOT NULL ELSE 0 END), \
         SUM(CASE WHEN m.role = 'assistant' THEN json_extract(m.payload, '$.llm_error') IS 'timeout' ELSE 0 END), \
         SUM(m.status = 'failed') \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE ",
        counter_columns()
    ));
    push_scope(&mut q, "m", scope);
    q.push(" GROUP BY 1, 2, 3, 4");
    q
}

/// The response-time histogram of messages as stored.
fn response_times(scope: Scope<'_>) -> QueryBuilder<'_, Sqlite> {
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO response_time_deltas ({KEY}, bucket, responses) \
         SELECT m.workspace_id, m.created_at / {MICROS_PER_DAY}, c.type, c.assistant_id, {}, COUNT(*) \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.response_time_ms IS NOT NULL AND ",
        bucket_sql("m.response_time_ms")
    ));
    push_scope(&mut q, "m", scope);
    q.push(" GROUP BY 1, 2, 3, 4, 5");
    q
}

/// Customer messages stored earlier that new replies (assistant or agent messages among
/// `ids`) answer: those after the conversation's latest earlier reply, up to the new one.
fn answered_by(ids: &[Uuid]) -> QueryBuilder<'_, Sqlite> {
    let mut q = QueryBuilder::new(
        "WITH replies AS (SELECT m.conversation_id, MAX(m.created_at) AS answered_through, \
             COALESCE((SELECT r.created_at FROM messages r WHERE r.conversation_id = m.conversation_id \
                 AND r.role IN ('assistant', 'agent') AND NOT ",
    );
    push_scope(&mut q, "r", Scope::Ids(ids));
    q.push(
        " ORDER BY r.created_at DESC LIMIT 1), -1) AS answered_before \
         FROM messages m WHERE m.role IN ('assistant', 'agent') AND ",
    );
    push_scope(&mut q, "m", Scope::Ids(ids));
    q.push(format!(
        " GROUP BY m.conversation_id) \
         INSERT INTO metric_deltas ({KEY}, answered_customer_messages) \
         SELECT u.workspace_id, u.created_at / {MICROS_PER_DAY}, c.type, c.assistant_id, COUNT(*) \
         FROM replies JOIN messages u ON u.conversation_id = replies.conversation_id \
             AND u.created_at > replies.answered_before AND u.created_at <= replies.answered_through \
         JOIN conversations c ON c.id = u.conversation_id WHERE u.role = 'user' AND NOT "
    ));
    push_scope(&mut q, "u", Scope::Ids(ids));
    q.push(" GROUP BY 1, 2, 3, 4");
    q
}

/// Cost and failed-delivery changes of messages stored earlier, on the messages' days.
fn adjustments(deltas: &MetricDeltas) -> QueryBuilder<'_, Sqlite> {
    let mut q = QueryBuilder::new("WITH adjustments (id, cost_micros, failed_deliveries) AS (");
    q.push_values(&deltas.adjustments, |mut row, a| {
        row.push_bind(a.message_id).push_bind(a.cost_micros).push_bind(a.failed_deliveries);
    });
    q.push(format!(
        ") INSERT INTO metric_deltas ({KEY}, cost_micros, failed_deliveries) \
         SELECT m.workspace_id, m.created_at / {MICROS_PER_DAY}, c.type, c.assistant_id, \
         SUM(a.cost_micros), SUM(a.failed_deliveries) \
         FROM adjustments a JOIN messages m ON m.id = a.id JOIN conversations c ON c.id = m.conversation_id \
         GROUP BY 1, 2, 3, 4"
    ));
    q
}

/// Appends what one write transaction changed to the delta tables; call it last, before the
/// commit (it reads the rows the transaction wrote).
pub(super) async fn record(tx: &mut SqliteConnection, deltas: &MetricDeltas) -> Result<()> {
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

/// Appends what an ingest batch counted in memory (every row on the day of `now`) in one
/// statement, or none when it counted nothing.
pub(super) async fn append_ingest(
    tx: &mut SqliteConnection,
    rows: &[IngestCounters],
    now: OffsetDateTime,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let day = super::micros(now) / MICROS_PER_DAY;
    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "INSERT INTO metric_deltas ({KEY}, conversations_started, messages, customer_messages, \
         answered_customer_messages) "
    ));
    q.push_values(rows, |mut b, r| {
        b.push_bind(r.workspace_id.as_uuid())
            .push_bind(day)
            .push_bind(r.kind.as_str())
            .push_bind(r.assistant_id.as_uuid())
            .push_bind(r.conversations_started)
            .push_bind(r.messages)
            .push_bind(r.customer_messages)
            .push_bind(r.answered_customer_messages);
    });
    q.build().execute(&mut *tx).await?;
    Ok(())
}

/// Replaces the rollup of a workspace (or of all) with deltas recomputed from its history;
/// [`compact`] then folds them.
pub(super) async fn rebuild(tx: &mut SqliteConnection, workspace_id: Option<Uuid>) -> Result<()> {
    for table in ["metric_days", "metric_deltas", "response_time_days", "response_time_deltas"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE $1 IS NULL OR workspace_id = $1"))
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

/// Folds every delta into the daily tables; returns how many delta rows it folded.
pub(super) async fn compact(tx: &mut SqliteConnection) -> Result<u64> {
    let sums: Vec<String> = COUNTERS.iter().map(|c| format!("SUM({c})")).collect();
    let adds: Vec<String> = COUNTERS.iter().map(|c| format!("{c} = metric_days.{c} + excluded.{c}")).collect();
    let folds = [
        (
            "metric_deltas",
            format!(
                "INSERT INTO metric_days ({KEY}, {}) SELECT {KEY}, {} FROM metric_deltas WHERE id <= $1 \
                 GROUP BY 1, 2, 3, 4 ON CONFLICT ({KEY}) DO UPDATE SET {}",
                counter_columns(),
                sums.join(", "),
                adds.join(", ")
            ),
        ),
        (
            "response_time_deltas",
            format!(
                "INSERT INTO response_time_days ({KEY}, bucket, responses) \
                 SELECT {KEY}, bucket, SUM(responses) FROM response_time_deltas WHERE id <= $1 \
                 GROUP BY 1, 2, 3, 4, 5 ON CONFLICT ({KEY}, bucket) \
                 DO UPDATE SET responses = response_time_days.responses + excluded.responses"
            ),
        ),
    ];
    let mut folded = 0;
    for (deltas, fold) in folds {
        let Some(last) =
            sqlx::query_scalar::<_, Option<i64>>(&format!("SELECT MAX(id) FROM {deltas}")).fetch_one(&mut *tx).await?
        else {
            continue;
        };
        sqlx::query(&fold).bind(last).execute(&mut *tx).await?;
        folded += sqlx::query(&format!("DELETE FROM {deltas} WHERE id <= $1"))
            .bind(last)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    Ok(folded)
}
