//! The metrics rollup (migration 0015), what both backends share: the counters kept per
//! (workspace, UTC day, conversation type, assistant), the response-time histogram buckets,
//! and [`MetricDeltas`], what a write transaction tells its backend to count.
//!
//! How it flows: a write path that changes a counted quantity collects the ids it touched in
//! a [`MetricDeltas`] and, before committing, makes one `record` call. The backend turns
//! those ids into counter rows with `INSERT … SELECT` over the rows just written and
//! *appends* them to `metric_deltas` / `response_time_deltas` (no unique key, so concurrent
//! writers never wait on one hot "today" row). Ingest, the busiest writer, usually needs no
//! `INSERT … SELECT`: its plan counts what it stored ([`IngestCounters`], one row per key)
//! and the backend appends those in one statement. Compaction (`MetricsStore::compact_metrics`,
//! run every few seconds by the engine) folds the deltas into `metric_days` /
//! `response_time_days`; queries read the daily rows plus the deltas not yet folded. The SQL
//! that says what a conversation or message contributes exists once per backend and serves
//! both the incremental path and `MetricsStore::rebuild_metrics_rollup` (which records the
//! whole history as deltas and compacts).

use crate::rows::RowExt;
use crate::Result;
use confab_domain::{AssistantId, ConversationType, WorkspaceId};
use uuid::Uuid;

/// The additive counters of a rollup row, in table column order.
pub(crate) const COUNTERS: [&str; 12] = [
    "conversations_started",
    "messages",
    "customer_messages",
    "answered_customer_messages",
    "cost_micros",
    "responses_timed",
    "response_time_sum_ms",
    "llm_latency_count",
    "llm_latency_sum_ms",
    "llm_failures",
    "timeouts",
    "failed_deliveries",
];

/// The key columns of a rollup row.
pub(crate) const KEY: &str = "workspace_id, day, type, assistant_id";

/// What one write transaction changed, as ids the backend reads the numbers from.
#[derive(Debug, Default)]
pub(crate) struct MetricDeltas {
    /// Conversations created (a reopened one is not new).
    pub conversations_started: Vec<Uuid>,
    /// Messages inserted, of every role. Each counts as it is stored (its cost, status,
    /// response time, latency, failure); an assistant or agent message among them also
    /// answers the customer messages of its conversation that no earlier reply answered.
    pub messages_stored: Vec<Uuid>,
    /// Changes to messages stored by earlier transactions.
    pub adjustments: Vec<MessageAdjustment>,
}

/// What an ingest batch adds to one rollup row of the day it ran, counted in memory
/// (`crate::ingest_plan`); the counters it leaves out are 0 for the messages ingest stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IngestCounters {
    pub workspace_id: WorkspaceId,
    pub kind: ConversationType,
    pub assistant_id: AssistantId,
    pub conversations_started: i64,
    pub messages: i64,
    pub customer_messages: i64,
    pub answered_customer_messages: i64,
}

/// A change to a stored message's counted quantities, counted on the day it was stored.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MessageAdjustment {
    pub message_id: Uuid,
    pub cost_micros: i64,
    /// +1 when its delivery status became `failed`, −1 when it left `failed`.
    pub failed_deliveries: i64,
}

impl MetricDeltas {
    pub(crate) fn is_empty(&self) -> bool {
        self.conversations_started.is_empty() && self.messages_stored.is_empty() && self.adjustments.is_empty()
    }

    pub(crate) fn cost_charged(&mut self, message_id: Uuid, cost_micros: i64) {
        self.adjustments.push(MessageAdjustment { message_id, cost_micros, failed_deliveries: 0 });
    }

    /// A delivery status change of a stored message: counts only when it enters or leaves `failed`.
    pub(crate) fn status_changed(&mut self, message_id: Uuid, was_failed: bool, is_failed: bool) {
        let failed_deliveries = i64::from(is_failed) - i64::from(was_failed);
        if failed_deliveries != 0 {
            self.adjustments.push(MessageAdjustment { message_id, cost_micros: 0, failed_deliveries });
        }
    }
}

/// One day's counters, summed over the rollup rows a query matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DayCounters {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub conversations_started: i64,
    pub messages: i64,
    pub customer_messages: i64,
    pub answered_customer_messages: i64,
    pub cost_micros: i64,
    pub responses_timed: i64,
    pub response_time_sum_ms: i64,
    pub llm_latency_count: i64,
    pub llm_latency_sum_ms: i64,
    pub llm_failures: i64,
    pub timeouts: i64,
    pub failed_deliveries: i64,
}

impl DayCounters {
    /// Reads a row with a `day` column and one column per counter.
    pub(crate) fn from_row(row: &impl RowExt) -> Result<Self> {
        Ok(Self {
            day: row.int("day")?,
            conversations_started: row.int("conversations_started")?,
            messages: row.int("messages")?,
            customer_messages: row.int("customer_messages")?,
            answered_customer_messages: row.int("answered_customer_messages")?,
            cost_micros: row.int("cost_micros")?,
            responses_timed: row.int("responses_timed")?,
            response_time_sum_ms: row.int("response_time_sum_ms")?,
            llm_latency_count: row.int("llm_latency_count")?,
            llm_latency_sum_ms: row.int("llm_latency_sum_ms")?,
            llm_failures: row.int("llm_failures")?,
            timeouts: row.int("timeouts")?,
            failed_deliveries: row.int("failed_deliveries")?,
        })
    }

    pub(crate) fn add(&mut self, o: &Self) {
        self.conversations_started += o.conversations_started;
        self.messages += o.messages;
        self.customer_messages += o.customer_messages;
        self.answered_customer_messages += o.answered_customer_messages;
        self.cost_micros += o.cost_micros;
        self.responses_timed += o.responses_timed;
        self.response_time_sum_ms += o.response_time_sum_ms;
        self.llm_latency_count += o.llm_latency_count;
        self.llm_latency_sum_ms += o.llm_latency_sum_ms;
        self.llm_failures += o.llm_failures;
        self.timeouts += o.timeouts;
        self.failed_deliveries += o.failed_deliveries;
    }
}

/// The histogram bucket of a response time, as a SQL expression over an integer column: the
/// value to two significant digits, rounded down (0–99 ms exact, then 100, 110, …, 990, 1000,
/// 1100, …); a bucket's name is its lower bound. Integer division truncates in both backends,
/// and times are never negative.
pub(crate) fn bucket_sql(column: &str) -> String {
    let mut sql = format!("CASE WHEN {column} < 100 THEN {column}");
    let mut step = 10_i64;
    while let Some(limit) = step.checked_mul(100) {
        sql.push_str(&format!(" WHEN {column} < {limit} THEN {column} / {step} * {step}"));
        step *= 10;
    }
    sql.push_str(&format!(" ELSE {column} / {step} * {step} END"));
    sql
}

/// The nearest-rank 90th percentile over histogram buckets (ascending `(bucket, count)`):
/// the lower bound of the bucket holding the ceil(0.9·n)-th value.
pub(crate) fn p90_of_buckets(buckets: &[(i64, i64)]) -> Option<i64> {
    let n: i64 = buckets.iter().map(|(_, count)| count).sum();
    if n <= 0 {
        return None;
    }
    let rank = (9 * n + 9) / 10;
    let mut seen = 0;
    for (bucket, count) in buckets {
        seen += count;
        if seen >= rank {
            return Some(*bucket);
        }
    }
    buckets.last().map(|(bucket, _)| *bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`bucket_sql`] computes.
    fn bucket(ms: i64) -> i64 {
        let mut step = 1_i64;
        while ms / step >= 100 {
            step *= 10;
        }
        ms / step * step
    }

    #[test]
    fn buckets_keep_two_significant_digits() {
        assert_eq!(
            [0, 7, 99, 100, 109, 110, 999, 1_000, 1_099, 8_000, 12_345, 987_654].map(bucket),
            [0, 7, 99, 100, 100, 110, 990, 1_000, 1_000, 8_000, 12_000, 980_000]
        );
        assert_eq!(bucket(i64::MAX), 9_200_000_000_000_000_000);
        assert!(bucket_sql("x").ends_with("ELSE x / 100000000000000000 * 100000000000000000 END"));
    }

    #[test]
    fn the_p90_is_the_nearest_rank_bucket() {
        assert_eq!(p90_of_buckets(&[]), None);
        assert_eq!(p90_of_buckets(&[(2_000, 1), (4_000, 1), (6_000, 1), (8_000, 1)]), Some(8_000));
        assert_eq!(p90_of_buckets(&[(2_000, 1), (4_000, 1), (6_000, 1)]), Some(6_000));
        // 10 values: the 9th
        assert_eq!(p90_of_buckets(&[(10, 8), (20, 1), (30, 1)]), Some(20));
        assert_eq!(p90_of_buckets(&[(10, 9), (20, 1)]), Some(10));
    }
}
