//! Bulk seeding on SQLite: multi-row INSERTs of up to [`ROWS_PER_STATEMENT`] rows (the same
//! SQL text for every full chunk, so sqlx prepares it once and reuses it), one transaction per
//! batch on the writer connection, with `synchronous=OFF` and a 1 GiB page cache while loading.

use super::{micros, SqliteStore};
use crate::seed::{tool_call_json, SeedBatch, SeedStore};
use crate::{MetricsStore, Result};
use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite};

/// Rows per INSERT: 22 binds a message row stays far below SQLite's variable limit (32,766).
const ROWS_PER_STATEMENT: usize = 1000;

#[async_trait]
impl SeedStore for SqliteStore {
    async fn begin_bulk_load(&self) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        sqlx::query("PRAGMA synchronous = OFF").execute(&mut *conn).await?;
        sqlx::query("PRAGMA cache_size = -1048576").execute(&mut *conn).await?;
        sqlx::query("PRAGMA wal_autocheckpoint = 100000").execute(&mut *conn).await?;
        Ok(())
    }

    async fn seed_batch(&self, batch: &SeedBatch) -> Result<()> {
        let (totals, seqs) = batch.derive()?;
        let tool_calls =
            batch.messages.iter().map(|m| tool_call_json(m.tool_call.as_ref())).collect::<Result<Vec<_>>>()?;
        let payloads: Vec<String> = batch.messages.iter().map(|m| m.payload.to_string()).collect();
        let variables: Vec<String> =
            batch.conversations.iter().map(|c| serde_json::Value::Object(c.variables.clone()).to_string()).collect();
        let mut tx = self.writer.begin().await?;
        for chunk in batch.customers.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO customers (id, workspace_id, phone, external_identifier, name, created_at) ",
            );
            q.push_values(chunk, |mut row, c| {
                row.push_bind(c.id.as_uuid())
                    .push_bind(c.workspace_id.as_uuid())
                    .push_bind(c.phone.as_ref().map(|p| p.as_str()))
                    .push_bind(c.external_identifier.as_deref())
                    .push_bind(c.name.as_deref())
                    .push_bind(micros(c.created_at));
            });
            q.build().execute(&mut *tx).await?;
        }
        let conversations: Vec<_> = batch.conversations.iter().zip(&totals).zip(&variables).collect();
        for chunk in conversations.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO conversations (id, workspace_id, type, status, assistant_id, sender_id, customer_id, \
                 variables, last_customer_message_at, message_count, customer_message_count, total_tokens, \
                 total_cost_micros, created_at, last_message_at, ended_at, inbound_seq, answered_seq) ",
            );
            q.push_values(chunk, |mut row, ((c, t), variables)| {
                row.push_bind(c.id.as_uuid())
                    .push_bind(c.workspace_id.as_uuid())
                    .push_bind(c.kind.as_str())
                    .push_bind(c.status.as_str())
                    .push_bind(c.assistant_id.as_uuid())
                    .push_bind(c.sender_id.map(|s| s.as_uuid()))
                    .push_bind(c.customer_id.as_uuid())
                    .push_bind(variables.as_str())
                    .push_bind(t.last_customer_message_at.map(micros))
                    .push_bind(t.message_count)
                    .push_bind(t.customer_message_count)
                    .push_bind(t.total_tokens)
                    .push_bind(t.total_cost_micros)
                    .push_bind(micros(c.created_at))
                    .push_bind(micros(t.last_message_at))
                    .push_bind(c.ended_at.map(micros))
                    .push_bind(t.customer_message_count)
                    .push_bind(t.customer_message_count);
            });
            q.build().execute(&mut *tx).await?;
        }
        let workspace_of: std::collections::HashMap<_, _> =
            batch.conversations.iter().map(|c| (c.id, c.workspace_id.as_uuid())).collect();
        let messages: Vec<_> = batch.messages.iter().zip(&seqs).zip(payloads.iter().zip(&tool_calls)).collect();
        for chunk in messages.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO messages (id, workspace_id, conversation_id, role, kind, content, payload, \
                 provider_message_id, status, error_code, error_title, error_details, inbound_seq, sent_at, \
                 created_at, cost_micros, input_tokens, output_tokens, cached_input_tokens, tool_call, \
                 response_time_ms, llm_latency_ms) ",
            );
            q.push_values(chunk, |mut row, ((m, seq), (payload, tool_call))| {
                let usage = m.usage;
                row.push_bind(m.id.as_uuid())
                    .push_bind(workspace_of.get(&m.conversation_id).copied())
                    .push_bind(m.conversation_id.as_uuid())
                    .push_bind(m.role.as_str())
                    .push_bind(m.kind.as_str())
                    .push_bind(m.content.as_str())
                    .push_bind(payload.as_str())
                    .push_bind(m.provider_message_id.as_deref())
                    .push_bind(m.status.as_str())
                    .push_bind(m.error.as_ref().and_then(|e| e.code))
                    .push_bind(m.error.as_ref().map(|e| e.title.as_str()))
                    .push_bind(m.error.as_ref().and_then(|e| e.details.as_deref()))
                    .push_bind(*seq)
                    .push_bind(micros(m.created_at))
                    .push_bind(micros(m.created_at))
                    .push_bind(m.cost.0)
                    .push_bind(usage.map(|u| i64::try_from(u.input_tokens).unwrap_or(i64::MAX)))
                    .push_bind(usage.map(|u| i64::try_from(u.output_tokens).unwrap_or(i64::MAX)))
                    .push_bind(usage.map(|u| i64::try_from(u.cached_input_tokens).unwrap_or(i64::MAX)))
                    .push_bind(tool_call.as_deref())
                    .push_bind(m.response_time_ms)
                    .push_bind(m.llm_latency_ms);
            });
            q.build().execute(&mut *tx).await?;
        }
        // seeded history is not extracted after the fact (like conversations that ended before
        // extraction existed); the partial index finds just this batch's ended conversations
        sqlx::query("UPDATE conversations SET extraction_status = 'skipped' WHERE status = 'ended' AND extraction_status IS NULL")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_bulk_load(&self) -> Result<()> {
        // the bulk inserts bypassed the rollup's counting
        self.rebuild_metrics_rollup(None).await?;
        let mut conn = self.writer.acquire().await?;
        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
        // what the store opened with (a commit checkpoints only past this; see `checkpoint`)
        let autocheckpoint = format!("PRAGMA wal_autocheckpoint = {}", super::checkpoint::AUTOCHECKPOINT_PAGES);
        sqlx::query(&autocheckpoint).execute(&mut *conn).await?;
        sqlx::query("PRAGMA cache_size = -2000").execute(&mut *conn).await?;
        // a sampled ANALYZE: the planner's row estimates for the new volume, in seconds
        sqlx::query("PRAGMA analysis_limit = 1000").execute(&mut *conn).await?;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *conn).await?;
        Ok(())
    }
}
