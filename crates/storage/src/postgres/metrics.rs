//! Metrics on PostgreSQL: aggregate queries over conversations and messages (definitions in
//! [`crate::metrics`]); the p90 is `percentile_disc(0.9)`, the nearest-rank percentile, which
//! SQLite reproduces exactly.

use super::PgStore;
use crate::metrics::{assemble, DayTotals, MessageTotals};
use crate::{Metrics, MetricsFilter, MetricsStore, Result};
use async_trait::async_trait;
use confab_domain::WorkspaceId;
use sqlx::Row;

/// Messages of the workspace stored in the range, in conversations matching the filters.
/// Binds: $1 workspace, $2 from, $3 to, $4 type or NULL, $5 assistant or NULL.
const MESSAGES_IN_RANGE: &str = "FROM messages m JOIN conversations c ON c.id = m.conversation_id \
     WHERE m.workspace_id = $1 AND m.created_at >= $2 AND m.created_at < $3 \
     AND ($4::text IS NULL OR c.type = $4::text) AND ($5::uuid IS NULL OR c.assistant_id = $5::uuid)";

/// Conversations of the workspace started in the range, matching the filters (same binds).
const CONVERSATIONS_IN_RANGE: &str = "FROM conversations c \
     WHERE c.workspace_id = $1 AND c.created_at >= $2 AND c.created_at < $3 \
     AND ($4::text IS NULL OR c.type = $4::text) AND ($5::uuid IS NULL OR c.assistant_id = $5::uuid)";

/// The UTC day since the Unix epoch of a `timestamptz` expression.
fn epoch_day(column: &str) -> String {
    format!("floor(extract(epoch from {column}) / 86400)::bigint")
}

#[async_trait]
impl MetricsStore for PgStore {
    async fn metrics(&self, workspace_id: WorkspaceId, filter: &MetricsFilter) -> Result<Metrics> {
        let ws = workspace_id.as_uuid();
        let kind = filter.kind.map(|k| k.as_str());
        let assistant = filter.assistant_id.map(|a| a.as_uuid());
        let mut conn = self.pool.acquire().await?;

        let conversations: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {CONVERSATIONS_IN_RANGE}"))
            .bind(ws)
            .bind(filter.from)
            .bind(filter.to)
            .bind(kind)
            .bind(assistant)
            .fetch_one(&mut *conn)
            .await?;

        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS messages, COUNT(DISTINCT m.conversation_id) AS active_conversations, \
             COUNT(*) FILTER (WHERE m.role = 'user') AS customer_messages, \
             COUNT(*) FILTER (WHERE m.role = 'user' AND EXISTS (SELECT 1 FROM messages r \
                 WHERE r.conversation_id = m.conversation_id AND r.role IN ('assistant', 'agent') \
                 AND r.created_at >= m.created_at)) AS answered, \
             COALESCE(SUM(m.cost_micros), 0)::bigint AS cost_micros, \
             COUNT(m.response_time_ms) AS responses_timed, \
             AVG(m.response_time_ms)::float8 AS avg_response_time_ms, \
             percentile_disc(0.9) WITHIN GROUP (ORDER BY m.response_time_ms) AS p90_response_time_ms, \
             AVG(m.llm_latency_ms)::float8 AS avg_llm_latency_ms, \
             COUNT(*) FILTER (WHERE m.role = 'assistant' AND m.payload ? 'llm_error') AS llm_failures, \
             COUNT(*) FILTER (WHERE m.role = 'assistant' AND m.payload ->> 'llm_error' = 'timeout') AS timeouts, \
             COUNT(*) FILTER (WHERE m.status = 'failed') AS failed_deliveries \
             {MESSAGES_IN_RANGE}"
        ))
        .bind(ws)
        .bind(filter.from)
        .bind(filter.to)
        .bind(kind)
        .bind(assistant)
        .fetch_one(&mut *conn)
        .await?;
        let totals = MessageTotals {
            messages: row.try_get("messages")?,
            active_conversations: row.try_get("active_conversations")?,
            customer_messages: row.try_get("customer_messages")?,
            answered: row.try_get("answered")?,
            cost_micros: row.try_get("cost_micros")?,
            responses_timed: row.try_get("responses_timed")?,
            avg_response_time_ms: row.try_get("avg_response_time_ms")?,
            avg_llm_latency_ms: row.try_get("avg_llm_latency_ms")?,
            llm_failures: row.try_get("llm_failures")?,
            timeouts: row.try_get("timeouts")?,
            failed_deliveries: row.try_get("failed_deliveries")?,
        };
        let p90: Option<i64> = row.try_get("p90_response_time_ms")?;

        let conversation_days = sqlx::query(&format!(
            "SELECT {} AS day, COUNT(*) AS conversations {CONVERSATIONS_IN_RANGE} GROUP BY 1",
            epoch_day("c.created_at")
        ))
        .bind(ws)
        .bind(filter.from)
        .bind(filter.to)
        .bind(kind)
        .bind(assistant)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(DayTotals { day: r.try_get("day")?, conversations: r.try_get("conversations")?, ..Default::default() })
        })
        .collect::<Result<Vec<_>>>()?;
        let message_days = sqlx::query(&format!(
            "SELECT {} AS day, COUNT(*) AS messages, COALESCE(SUM(m.cost_micros), 0)::bigint AS cost_micros \
             {MESSAGES_IN_RANGE} GROUP BY 1",
            epoch_day("m.created_at")
        ))
        .bind(ws)
        .bind(filter.from)
        .bind(filter.to)
        .bind(kind)
        .bind(assistant)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(DayTotals {
                day: r.try_get("day")?,
                messages: r.try_get("messages")?,
                cost_micros: r.try_get("cost_micros")?,
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>>>()?;

        Ok(assemble(filter, conversations, totals, p90, &conversation_days, &message_days))
    }
}
