//! Metrics on SQLite: small aggregate queries over the rollup's daily rows and pending deltas
//! (definitions in [`crate::metrics`], the rollup in [`crate::rollup`]), plus the count of
//! conversations open during the range from the conversations table's
//! `(workspace_id, last_message_at, …)` index.

use super::{micros, rollup, SqliteStore};
use crate::metrics::{assemble, day_range, day_start};
use crate::rollup::{DayCounters, COUNTERS};
use crate::{Metrics, MetricsFilter, MetricsStore, Result};
use async_trait::async_trait;
use confab_domain::WorkspaceId;
use sqlx::Row;

/// Rollup rows of the workspace in the day range matching the filters, from `table`.
/// Binds: $1 workspace, $2 first day, $3 last day, $4 type or NULL, $5 assistant or NULL.
fn rollup_rows(columns: &str, table: &str) -> String {
    format!(
        "SELECT {columns} FROM {table} WHERE workspace_id = $1 AND day >= $2 AND day <= $3 \
         AND ($4 IS NULL OR type = $4) AND ($5 IS NULL OR assistant_id = $5)"
    )
}

#[async_trait]
impl MetricsStore for SqliteStore {
    async fn metrics(&self, workspace_id: WorkspaceId, filter: &MetricsFilter) -> Result<Metrics> {
        let ws = workspace_id.as_uuid();
        let (first_day, last_day) = day_range(filter);
        let kind = filter.kind.map(|k| k.as_str());
        let assistant = filter.assistant_id.map(|a| a.as_uuid());
        let mut conn = self.reader.acquire().await?;

        let columns = format!("day, {}", COUNTERS.join(", "));
        let sums: Vec<String> = COUNTERS.iter().map(|c| format!("SUM({c}) AS {c}")).collect();
        let days = sqlx::query(&format!(
            "SELECT day, {} FROM ({} UNION ALL {}) GROUP BY day",
            sums.join(", "),
            rollup_rows(&columns, "metric_days"),
            rollup_rows(&columns, "metric_deltas")
        ))
        .bind(ws)
        .bind(first_day)
        .bind(last_day)
        .bind(kind)
        .bind(assistant)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(DayCounters::from_row)
        .collect::<Result<Vec<_>>>()?;

        let buckets = sqlx::query(&format!(
            "SELECT bucket, SUM(responses) AS responses FROM ({} UNION ALL {}) GROUP BY bucket ORDER BY bucket",
            rollup_rows("bucket, responses", "response_time_days"),
            rollup_rows("bucket, responses", "response_time_deltas")
        ))
        .bind(ws)
        .bind(first_day)
        .bind(last_day)
        .bind(kind)
        .bind(assistant)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("bucket")?, r.try_get("responses")?)))
        .collect::<Result<Vec<(i64, i64)>>>()?;

        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM conversations c INDEXED BY conversations_workspace_last_message_idx \
             WHERE c.workspace_id = $1 AND c.last_message_at >= $2 AND c.created_at < $3 \
             AND ($4 IS NULL OR c.type = $4) AND ($5 IS NULL OR c.assistant_id = $5)",
        )
        .bind(ws)
        .bind(micros(day_start(first_day)))
        .bind(micros(day_start(last_day + 1)))
        .bind(kind)
        .bind(assistant)
        .fetch_one(&mut *conn)
        .await?;

        Ok(assemble(filter, &days, &buckets, active))
    }

    async fn compact_metrics(&self) -> Result<u64> {
        let mut tx = self.writer.begin().await?;
        let folded = rollup::compact(&mut tx).await?;
        tx.commit().await?;
        Ok(folded)
    }

    async fn rebuild_metrics_rollup(&self, workspace_id: Option<WorkspaceId>) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        rollup::rebuild(&mut tx, workspace_id.map(|w| w.as_uuid())).await?;
        rollup::compact(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
