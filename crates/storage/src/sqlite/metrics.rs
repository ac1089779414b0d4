//! Metrics on SQLite: aggregate queries over conversations and messages (definitions in
//! [`crate::metrics`]). SQLite has no percentile function: the p90 is the row at the
//! nearest-rank offset of the sorted response times, read with `LIMIT 1 OFFSET`.

use super::{micros, SqliteStore};
use crate::metrics::{assemble, p90_offset, DayTotals, MessageTotals};
use crate::{Metrics, MetricsFilter, MetricsStore, Result};
use async_trait::async_trait;
use confab_domain::WorkspaceId;
use sqlx::Row;

/// Messages of the workspace stored in the range, in conversations matching the filters.
/// Binds: $1 workspace, $2 from, $3 to, $4 type or NULL, $5 assistant or NULL.
const MESSAGES_IN_RANGE: &str = "FROM messages m JOIN conversations c ON c.id = m.conversation_id \
     WHERE m.workspace_id = $1 AND m.created_at >= $2 AND m.created_at < $3 \
     AND ($4 IS NULL OR c.type = $4) AND ($5 IS NULL OR c.assistant_id = $5)";

/// Conversations of the workspace started in the range, matching the filters (same binds).
const CONVERSATIONS_IN_RANGE: &str = "FROM conversations c \
     WHERE c.workspace_id = $1 AND c.created_at >= $2 AND c.created_at < $3 \
     AND ($4 IS NULL OR c.type = $4) AND ($5 IS NULL OR c.assistant_id = $5)";

const MICROS_PER_DAY: i64 = 86_400_000_000;

#[async_trait]
impl MetricsStore for SqliteStore {
    async fn metrics(&self, workspace_id: WorkspaceId, filter: &MetricsFilter) -> Result<Metrics> {
        let ws = workspace_id.as_uuid();
        let (from, to) = (micros(filter.from), micros(filter.to));
        let kind = filter.kind.map(|k| k.as_str());
        let assistant = filter.assistant_id.map(|a| a.as_uuid());
        let mut conn = self.reader.acquire().await?;

        let conversations: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {CONVERSATIONS_IN_RANGE}"))
            .bind(ws)
            .bind(from)
            .bind(to)
            .bind(kind)
            .bind(assistant)
            .fetch_one(&mut *conn)
            .await?;

        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS messages, COUNT(DISTINCT m.conversation_id) AS active_conversations, \
             COALESCE(SUM(m.role = 'user'), 0) AS customer_messages, \
             COALESCE(SUM(m.role = 'user' AND EXISTS (SELECT 1 FROM messages r \
                 WHERE r.conversation_id = m.conversation_id AND r.role IN ('assistant', 'agent') \
                 AND r.created_at >= m.created_at)), 0) AS answered, \
             COALESCE(SUM(m.cost_micros), 0) AS cost_micros, \
             COUNT(m.response_time_ms) AS responses_timed, \
             AVG(m.response_time_ms) AS avg_response_time_ms, \
             AVG(m.llm_latency_ms) AS avg_llm_latency_ms, \
             COALESCE(SUM(CASE WHEN m.role = 'assistant' \
                 THEN json_extract(m.payload, '$.llm_error') IS NOT NULL ELSE 0 END), 0) AS llm_failures, \
             COALESCE(SUM(CASE WHEN m.role = 'assistant' \
                 THEN json_extract(m.payload, '$.llm_error') IS 'timeout' ELSE 0 END), 0) AS timeouts, \
             COALESCE(SUM(m.status = 'failed'), 0) AS failed_deliveries \
             {MESSAGES_IN_RANGE}"
        ))
        .bind(ws)
        .bind(from)
        .bind(to)
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

        let p90 = if totals.responses_timed > 0 {
            sqlx::query_scalar(&format!(
                "SELECT m.response_time_ms {MESSAGES_IN_RANGE} AND m.response_time_ms IS NOT NULL \
                 ORDER BY m.response_time_ms LIMIT 1 OFFSET $6"
            ))
            .bind(ws)
            .bind(from)
            .bind(to)
            .bind(kind)
            .bind(assistant)
            .bind(p90_offset(totals.responses_timed))
            .fetch_optional(&mut *conn)
            .await?
        } else {
            None
        };

        let conversation_days = sqlx::query(&format!(
            "SELECT c.created_at / {MICROS_PER_DAY} AS day, COUNT(*) AS conversations \
             {CONVERSATIONS_IN_RANGE} GROUP BY day"
        ))
        .bind(ws)
        .bind(from)
        .bind(to)
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
            "SELECT m.created_at / {MICROS_PER_DAY} AS day, COUNT(*) AS messages, \
             COALESCE(SUM(m.cost_micros), 0) AS cost_micros {MESSAGES_IN_RANGE} GROUP BY day"
        ))
        .bind(ws)
        .bind(from)
        .bind(to)
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
