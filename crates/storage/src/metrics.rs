//! Conversation metrics (`GET /api/v1/metrics`, DESIGN §8): what the store aggregates, and the
//! arithmetic both backends share. The numbers come from the per-day rollup
//! ([`crate::rollup`], migration 0015), kept up to date by every write and read with a few
//! small aggregate queries, so a range of months costs about as much as a day; this module
//! turns the rollup's totals into ratios and fills the daily series.
//!
//! Definitions, for a workspace, a half-open range `[from, to)` and optional conversation type
//! and assistant filters (which apply to the conversation a message belongs to):
//!
//! - **Whole UTC days.** The rollup counts per UTC day, so a range counts every UTC day it
//!   touches: from the start of `from`'s day to the end of the day holding the last instant
//!   before `to`. A range of whole days (the API's dates, the dashboard's periods) is exact.
//!   (Before the rollup a range was cut at the microsecond.)
//! - `conversations`: conversations *started* (created) in the range.
//! - `messages`, `customer_messages`: messages of every role, and customer (`user`) messages,
//!   stored in the range.
//! - `active_conversations`: conversations *open during* the range: created before its end
//!   and with their last message at or after its start (read from the conversations table
//!   with an index). (Before the rollup: conversations with a message stored in the range,
//!   which is not additive over days. The two differ only for a conversation with messages
//!   both before and after the range and none inside it.)
//! - `messages_per_conversation` = messages / active conversations.
//! - `response_rate` = answered customer messages / customer messages, where a customer message
//!   is answered when an assistant or agent (human) message follows it in the same conversation
//!   (at the same time or later, whenever that is), counted on the customer message's day. A
//!   burst answered by one reply counts as answered throughout; messages stored but
//!   deliberately not answered (stale replays, AI off with nobody replying) count as
//!   unanswered.
//! - response time: set by the turn worker on the first assistant message of each turn: its
//!   commit time minus when confab received the oldest customer message the turn answered.
//!   `avg_response_time_ms` is the exact mean; `p90_response_time_ms` is the nearest-rank 90th
//!   percentile **to two significant digits**: the rollup keeps a histogram whose buckets are
//!   the times rounded down to two significant digits (0–99 ms exact, then 100, 110, …, 990,
//!   1000, 1100, …), and the p90 is the lower bound of the bucket holding the ceil(0.9·n)-th
//!   smallest time (at most 10% low; exact below 100 ms and for two-digit values). Over
//!   assistant messages stored in the range.
//! - `total_cost_micros`: the cost of the messages stored in the range (LLM tokens, retries
//!   included, and channel fees, counted on the day the message was stored), integer
//!   micro-USD; `cost_per_conversation_micros` is that over the active conversations, rounded
//!   to the nearest micro-USD.
//! - `avg_llm_latency_ms`: the mean duration of the model calls behind the messages stored in
//!   the range (each message that a model call produced carries its latency).
//! - `llm_failures`: turns in which the LLM could not be reached after its retries (the
//!   fallback message went out and the conversation was handed over); `timeouts` are those
//!   among them whose last error was a timeout. Both count the fallback messages, which record
//!   the error kind in their payload (`llm_error`).
//! - `failed_deliveries`: messages stored in the range whose delivery status is `failed`.
//! - `daily`: per UTC day of the range, conversations started, messages stored and their cost.
//!   Every day of the range is listed (zeros included) when it spans at most
//!   [`MAX_FILLED_DAYS`]; a longer range lists only the days that have data.

use crate::rollup::{p90_of_buckets, DayCounters};
use crate::Result;
use async_trait::async_trait;
use confab_domain::{AssistantId, ConversationType, WorkspaceId};
use time::{Date, OffsetDateTime};

/// The longest range whose daily series lists empty days too.
pub const MAX_FILLED_DAYS: i64 = 400;

const MICROS_PER_DAY: i64 = 86_400_000_000;

#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// The workspace's metrics over `filter`'s range (see the module docs for definitions).
    async fn metrics(&self, workspace_id: WorkspaceId, filter: &MetricsFilter) -> Result<Metrics>;

    /// Folds the appended metric deltas into the daily rollup; returns how many delta rows it
    /// folded. Idempotent and safe to run concurrently with writers (and with itself); the
    /// metrics read the same before and after.
    async fn compact_metrics(&self) -> Result<u64>;

    /// Recomputes the rollup of one workspace (or of all) from the stored conversations and
    /// messages with set-based SQL, then compacts. For upgrades and bulk loads, which bypass
    /// the per-write counting; run it while that workspace is not being written to.
    async fn rebuild_metrics_rollup(&self, workspace_id: Option<WorkspaceId>) -> Result<()>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsFilter {
    /// At or after.
    pub from: OffsetDateTime,
    /// Before.
    pub to: OffsetDateTime,
    pub kind: Option<ConversationType>,
    pub assistant_id: Option<AssistantId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub conversations: i64,
    pub active_conversations: i64,
    pub messages: i64,
    pub customer_messages: i64,
    pub answered_customer_messages: i64,
    pub messages_per_conversation: Option<f64>,
    pub response_rate: Option<f64>,
    /// How many response times were recorded in the range.
    pub responses_timed: i64,
    pub avg_response_time_ms: Option<f64>,
    pub p90_response_time_ms: Option<i64>,
    pub total_cost_micros: i64,
    pub cost_per_conversation_micros: Option<i64>,
    pub avg_llm_latency_ms: Option<f64>,
    pub llm_failures: i64,
    pub timeouts: i64,
    pub failed_deliveries: i64,
    pub daily: Vec<DailyMetrics>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyMetrics {
    /// A UTC day.
    pub date: Date,
    pub conversations: i64,
    pub messages: i64,
    pub cost_micros: i64,
}

/// The day (since the Unix epoch, UTC) a time falls on.
pub(crate) fn epoch_day(t: OffsetDateTime) -> i64 {
    let micros = i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
    micros.div_euclid(MICROS_PER_DAY)
}

fn date_of(day: i64) -> Option<Date> {
    let epoch = i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day());
    Date::from_julian_day(i32::try_from(day.checked_add(epoch)?).ok()?).ok()
}

/// The days a range counts: the UTC days it touches, first and last inclusive (see the
/// module docs). Empty (last < first) never happens for a valid range.
pub(crate) fn day_range(filter: &MetricsFilter) -> (i64, i64) {
    // `to` is exclusive: a range ending at midnight does not reach into that day
    (epoch_day(filter.from), epoch_day(filter.to - time::Duration::microseconds(1)))
}

/// The start of a day (since the Unix epoch) as a time.
pub(crate) fn day_start(day: i64) -> OffsetDateTime {
    let micros = i128::from(day.clamp(-100_000, 3_000_000)) * i128::from(MICROS_PER_DAY);
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Puts the rollup together: totals and ratios over the days, the p90 from the response-time
/// histogram (ascending `(bucket, count)`), and the daily series.
pub(crate) fn assemble(
    filter: &MetricsFilter,
    days: &[DayCounters],
    response_time_buckets: &[(i64, i64)],
    active_conversations: i64,
) -> Metrics {
    let mut t = DayCounters::default();
    for day in days {
        t.add(day);
    }
    let ratio = |num: i64, den: i64| (den > 0).then(|| num as f64 / den as f64);
    let cost_per_conversation_micros = (active_conversations > 0).then(|| {
        let den = i128::from(active_conversations);
        let rounded = (2 * i128::from(t.cost_micros) + den) / (2 * den);
        i64::try_from(rounded).unwrap_or(i64::MAX)
    });
    Metrics {
        conversations: t.conversations_started,
        active_conversations,
        messages: t.messages,
        customer_messages: t.customer_messages,
        answered_customer_messages: t.answered_customer_messages,
        messages_per_conversation: ratio(t.messages, active_conversations),
        response_rate: ratio(t.answered_customer_messages, t.customer_messages),
        responses_timed: t.responses_timed,
        avg_response_time_ms: ratio(t.response_time_sum_ms, t.responses_timed),
        p90_response_time_ms: p90_of_buckets(response_time_buckets),
        total_cost_micros: t.cost_micros,
        cost_per_conversation_micros,
        avg_llm_latency_ms: ratio(t.llm_latency_sum_ms, t.llm_latency_count),
        llm_failures: t.llm_failures,
        timeouts: t.timeouts,
        failed_deliveries: t.failed_deliveries,
        daily: daily_series(filter, days),
    }
}

fn daily_series(filter: &MetricsFilter, days: &[DayCounters]) -> Vec<DailyMetrics> {
    let mut series = std::collections::BTreeMap::<i64, DailyMetrics>::new();
    let (first, last) = day_range(filter);
    let empty = |day| date_of(day).map(|date| DailyMetrics { date, conversations: 0, messages: 0, cost_micros: 0 });
    if last >= first && last - first < MAX_FILLED_DAYS {
        series.extend((first..=last).filter_map(|day| Some((day, empty(day)?))));
    }
    for d in days {
        let Some(fresh) = empty(d.day) else { continue };
        let entry = series.entry(d.day).or_insert(fresh);
        entry.conversations += d.conversations_started;
        entry.messages += d.messages;
        entry.cost_micros += d.cost_micros;
    }
    series.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn days_count_from_the_unix_epoch() {
        assert_eq!(epoch_day(datetime!(1970-01-01 23:59 UTC)), 0);
        assert_eq!(epoch_day(datetime!(1969-12-31 23:59 UTC)), -1);
        assert_eq!(date_of(epoch_day(datetime!(2026-11-25 13:00 UTC))), Some(time::macros::date!(2026 - 11 - 25)));
    }

    #[test]
    fn the_series_lists_every_day_of_a_short_range() {
        let filter = MetricsFilter {
            from: datetime!(2026-03-01 00:00 UTC),
            to: datetime!(2026-03-04 00:00 UTC),
            kind: None,
            assistant_id: None,
        };
        let day = epoch_day(datetime!(2026-03-02 10:00 UTC));
        let days = [
            DayCounters { day, conversations_started: 2, ..Default::default() },
            DayCounters { day, messages: 5, cost_micros: 700, ..Default::default() },
        ];
        let series = daily_series(&filter, &days);
        assert_eq!(series.len(), 3);
        assert_eq!(series[1].date, time::macros::date!(2026 - 03 - 02));
        assert_eq!((series[1].conversations, series[1].messages, series[1].cost_micros), (2, 5, 700));
        assert_eq!((series[0].messages, series[2].messages), (0, 0));
    }
}
