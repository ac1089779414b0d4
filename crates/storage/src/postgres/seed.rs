//! Bulk seeding on PostgreSQL: one `INSERT … SELECT FROM UNNEST(arrays)` per table and chunk
//! (a bind per column, not per value, so a statement carries thousands of rows), one
//! transaction per batch with `synchronous_commit = off`.

use super::PgStore;
use crate::seed::{tool_call_json, SeedBatch, SeedStore};
use crate::{MetricsStore, Result};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

/// Rows per statement.
const ROWS_PER_STATEMENT: usize = 10_000;

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait]
impl SeedStore for PgStore {
    async fn begin_bulk_load(&self) -> Result<()> {
        Ok(())
    }

    async fn seed_batch(&self, batch: &SeedBatch) -> Result<()> {
        let (totals, seqs) = batch.derive()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        for chunk in batch.customers.chunks(ROWS_PER_STATEMENT) {
            sqlx::query(
                "INSERT INTO customers (id, workspace_id, phone, external_identifier, name, created_at) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])",
            )
            .bind(chunk.iter().map(|c| c.id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(chunk.iter().map(|c| c.workspace_id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(chunk.iter().map(|c| c.phone.as_ref().map(|p| p.as_str().to_string())).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.external_identifier.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.created_at).collect::<Vec<OffsetDateTime>>())
            .execute(&mut *tx)
            .await?;
        }
        let conversations: Vec<_> = batch.conversations.iter().zip(&totals).collect();
        for chunk in conversations.chunks(ROWS_PER_STATEMENT) {
            sqlx::query(
                "INSERT INTO conversations (id, workspace_id, type, status, assistant_id, sender_id, customer_id, \
                 variables, last_customer_message_at, message_count, customer_message_count, total_tokens, \
                 total_cost_micros, created_at, last_message_at, ended_at, inbound_seq, answered_seq) \
                 SELECT id, workspace_id, type, status, assistant_id, sender_id, customer_id, variables::jsonb, \
                 last_customer_message_at, message_count, customer_message_count, total_tokens, total_cost_micros, \
                 created_at, last_message_at, ended_at, customer_message_count, customer_message_count \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[], \
                 $8::text[], $9::timestamptz[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], \
                 $14::timestamptz[], $15::timestamptz[], $16::timestamptz[]) \
                 AS t(id, workspace_id, type, status, assistant_id, sender_id, customer_id, variables, \
                 last_customer_message_at, message_count, customer_message_count, total_tokens, total_cost_micros, \
                 created_at, last_message_at, ended_at)",
            )
            .bind(chunk.iter().map(|(c, _)| c.id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(chunk.iter().map(|(c, _)| c.workspace_id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(chunk.iter().map(|(c, _)| c.kind.as_str()).collect::<Vec<&str>>())
            .bind(chunk.iter().map(|(c, _)| c.status.as_str()).collect::<Vec<&str>>())
            .bind(chunk.iter().map(|(c, _)| c.assistant_id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(chunk.iter().map(|(c, _)| c.sender_id.map(|s| s.as_uuid())).collect::<Vec<Option<Uuid>>>())
            .bind(chunk.iter().map(|(c, _)| c.customer_id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(
                chunk
                    .iter()
                    .map(|(c, _)| serde_json::Value::Object(c.variables.clone()).to_string())
                    .collect::<Vec<String>>(),
            )
            .bind(chunk.iter().map(|(_, t)| t.last_customer_message_at).collect::<Vec<Option<OffsetDateTime>>>())
            .bind(chunk.iter().map(|(_, t)| t.message_count).collect::<Vec<i64>>())
            .bind(chunk.iter().map(|(_, t)| t.customer_message_count).collect::<Vec<i64>>())
            .bind(chunk.iter().map(|(_, t)| t.total_tokens).collect::<Vec<i64>>())
            .bind(chunk.iter().map(|(_, t)| t.total_cost_micros).collect::<Vec<i64>>())
            .bind(chunk.iter().map(|(c, _)| c.created_at).collect::<Vec<OffsetDateTime>>())
            .bind(chunk.iter().map(|(_, t)| t.last_message_at).collect::<Vec<OffsetDateTime>>())
            .bind(chunk.iter().map(|(c, _)| c.ended_at).collect::<Vec<Option<OffsetDateTime>>>())
            .execute(&mut *tx)
            .await?;
        }
        let workspace_of: std::collections::HashMap<_, _> =
            batch.conversations.iter().map(|c| (c.id, c.workspace_id.as_uuid())).collect();
        let messages: Vec<_> = batch.messages.iter().zip(&seqs).collect();
        for chunk in messages.chunks(ROWS_PER_STATEMENT) {
            let tool_calls =
                chunk.iter().map(|(m, _)| tool_call_json(m.tool_call.as_ref())).collect::<Result<Vec<_>>>()?;
            sqlx::query(
                "INSERT INTO messages (id, workspace_id, conversation_id, role, kind, content, payload, \
                 provider_message_id, status, error_code, error_title, error_details, inbound_seq, sent_at, \
                 created_at, cost_micros, input_tokens, output_tokens, cached_input_tokens, tool_call, \
                 response_time_ms, llm_latency_ms) \
                 SELECT id, workspace_id, conversation_id, role, kind, content, payload::jsonb, provider_message_id, \
                 status, error_code, error_title, error_details, inbound_seq, created_at, created_at, cost_micros, \
                 input_tokens, output_tokens, cached_input_tokens, tool_call::jsonb, response_time_ms, llm_latency_ms \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], \
                 $8::text[], $9::text[], $10::int8[], $11::text[], $12::text[], $13::int8[], $14::timestamptz[], \
                 $15::int8[], $16::int8[], $17::int8[], $18::int8[], $19::text[], $20::int8[], $21::int8[]) \
                 AS t(id, workspace_id, conversation_id, role, kind, content, payload, provider_message_id, status, \
                 error_code, error_title, error_details, inbound_seq, created_at, cost_micros, input_tokens, \
                 output_tokens, cached_input_tokens, tool_call, response_time_ms, llm_latency_ms)",
            )
            .bind(chunk.iter().map(|(m, _)| m.id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(
                chunk.iter().map(|(m, _)| workspace_of.get(&m.conversation_id).copied()).collect::<Vec<Option<Uuid>>>(),
            )
            .bind(chunk.iter().map(|(m, _)| m.conversation_id.as_uuid()).collect::<Vec<Uuid>>())
            .bind(chunk.iter().map(|(m, _)| m.role.as_str()).collect::<Vec<&str>>())
            .bind(chunk.iter().map(|(m, _)| m.kind.as_str()).collect::<Vec<&str>>())
            .bind(chunk.iter().map(|(m, _)| m.content.as_str()).collect::<Vec<&str>>())
            .bind(chunk.iter().map(|(m, _)| m.payload.to_string()).collect::<Vec<String>>())
            .bind(chunk.iter().map(|(m, _)| m.provider_message_id.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(chunk.iter().map(|(m, _)| m.status.as_str()).collect::<Vec<&str>>())
            .bind(chunk.iter().map(|(m, _)| m.error.as_ref().and_then(|e| e.code)).collect::<Vec<Option<i64>>>())
            .bind(chunk.iter().map(|(m, _)| m.error.as_ref().map(|e| e.title.as_str())).collect::<Vec<Option<&str>>>())
            .bind(
                chunk
                    .iter()
                    .map(|(m, _)| m.error.as_ref().and_then(|e| e.details.as_deref()))
                    .collect::<Vec<Option<&str>>>(),
            )
            .bind(chunk.iter().map(|(_, seq)| **seq).collect::<Vec<Option<i64>>>())
            .bind(chunk.iter().map(|(m, _)| m.created_at).collect::<Vec<OffsetDateTime>>())
            .bind(chunk.iter().map(|(m, _)| m.cost.0).collect::<Vec<i64>>())
            .bind(chunk.iter().map(|(m, _)| m.usage.map(|u| i64_of(u.input_tokens))).collect::<Vec<Option<i64>>>())
            .bind(chunk.iter().map(|(m, _)| m.usage.map(|u| i64_of(u.output_tokens))).collect::<Vec<Option<i64>>>())
            .bind(
                chunk.iter().map(|(m, _)| m.usage.map(|u| i64_of(u.cached_input_tokens))).collect::<Vec<Option<i64>>>(),
            )
            .bind(tool_calls)
            .bind(chunk.iter().map(|(m, _)| m.response_time_ms).collect::<Vec<Option<i64>>>())
            .bind(chunk.iter().map(|(m, _)| m.llm_latency_ms).collect::<Vec<Option<i64>>>())
            .execute(&mut *tx)
            .await?;
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
        sqlx::query("ANALYZE customers, conversations, messages").execute(&self.pool).await?;
        Ok(())
    }
}
