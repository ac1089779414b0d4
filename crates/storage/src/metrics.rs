//! Conversation metrics (`GET /api/v1/metrics`, DESIGN §8): what the store aggregates, and the
//! arithmetic both backends share. Each backend computes its numbers with aggregate SQL (no
//! rows are loaded into Rust); this module only turns those totals into ratios and fills the
//! daily series.
//!
//! Definitions, for a workspace, a half-open range `[from, to)` and optional conversation type
//! and assistant filters (which apply to the conversation a message belongs to):
//!
//! - `conversations`: conversations *started* (created) in the range.
//! - `messages`, `customer_messages`: messages of every role, and customer (`user`) messages,
//!   stored in the range. `active_conversations`: conversations with at least one of them.
//! - `messages_per_conversation` = messages / active conversations.
//! - `response_rate` = answered customer messages / customer messages, where a customer message
//!   is answered when an assistant or agent (human) message follows it in the same conversation
//!   (at the same time or later, whenever that is). A burst answered by one reply counts as
//!   answered throughout; messages stored but deliberately not answered (stale replays, AI
//!   off with nobody replying) count as unanswered.
//! - response time: set by the turn worker on the first assistant message of each turn: its
//!   commit time minus when confab received the oldest customer message the turn answered.
//!   `avg_response_time_ms` is the mean, `p90_response_time_ms` the nearest-rank 90th percentile
//!   (the smallest recorded value at or above which lie at most 10% of the values: PostgreSQL's
//!   `percentile_disc(0.9)`; on SQLite the value at 0-based offset ceil(0.9·n) − 1 of the sorted
//!   list), so both backends give the same answer. Over assistant messages stored in the range.
//! - `total_cost_micros`: the cost of the messages stored in the range (LLM tokens, retries
//!   included, and channel fees), integer micro-USD; `cost_per_conversation_micros` is that
//!   over the active conversations, rounded to the nearest micro-USD.
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

/// The message aggregates one backend query returns.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MessageTotals {
    pub messages: i64,
    pub active_conversations: i64,
    pub customer_messages: i64,
    pub answered: i64,
    pub cost_micros: i64,
    pub responses_timed: i64,
    pub avg_response_time_ms: Option<f64>,
    pub avg_llm_latency_ms: Option<f64>,
    pub llm_failures: i64,
    pub timeouts: i64,
    pub failed_deliveries: i64,
}

/// One row of a per-day aggregate: the day as days since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DayTotals {
    pub day: i64,
    pub conversations: i64,
    pub messages: i64,
    pub cost_micros: i64,
}

/// The 0-based offset of the nearest-rank 90th percentile among `n` sorted values (n ≥ 1):
/// ceil(0.9·n) − 1, the row PostgreSQL's `percentile_disc(0.9)` picks.
pub(crate) fn p90_offset(n: i64) -> i64 {
    ((9 * n + 9) / 10 - 1).max(0)
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

/// Puts the totals together: ratios, and the daily series merged from the per-day
/// conversation and message aggregates.
pub(crate) fn assemble(
    filter: &MetricsFilter,
    conversations: i64,
    totals: MessageTotals,
    p90_response_time_ms: Option<i64>,
    conversation_days: &[DayTotals],
    message_days: &[DayTotals],
) -> Metrics {
    let ratio = |num: i64, den: i64| (den > 0).then(|| num as f64 / den as f64);
    let cost_per_conversation_micros = (totals.active_conversations > 0).then(|| {
        let den = i128::from(totals.active_conversations);
        let rounded = (2 * i128::from(totals.cost_micros) + den) / (2 * den);
        i64::try_from(rounded).unwrap_or(i64::MAX)
    });
    Metrics {
        conversations,
        active_conversations: totals.active_conversations,
        messages: totals.messages,
        customer_messages: totals.customer_messages,
        answered_customer_messages: totals.answered,
        messages_per_conversation: ratio(totals.messages, totals.active_conversations),
        response_rate: ratio(totals.answered, totals.customer_messages),
        responses_timed: totals.responses_timed,
        avg_response_time_ms: totals.avg_response_time_ms.filter(|_| totals.responses_timed > 0),
        p90_response_time_ms,
        total_cost_micros: totals.cost_micros,
        cost_per_conversation_micros,
        avg_llm_latency_ms: totals.avg_llm_latency_ms,
        llm_failures: totals.llm_failures,
        timeouts: totals.timeouts,
        failed_deliveries: totals.failed_deliveries,
        daily: daily_series(filter, conversation_days, message_days),
    }
}

fn daily_series(
    filter: &MetricsFilter,
    conversation_days: &[DayTotals],
    message_days: &[DayTotals],
) -> Vec<DailyMetrics> {
    let mut days = std::collections::BTreeMap::<i64, DayTotals>::new();
    let first = epoch_day(filter.from);
    // `to` is exclusive: a range ending at midnight does not reach into that day
    let last = epoch_day(filter.to - time::Duration::microseconds(1));
    if last >= first && last - first < MAX_FILLED_DAYS {
        for day in first..=last {
            days.insert(day, DayTotals { day, ..DayTotals::default() });
        }
    }
    for c in conversation_days {
        days.entry(c.day).or_insert(DayTotals { day: c.day, ..DayTotals::default() }).conversations += c.conversations;
    }
    for m in message_days {
        let entry = days.entry(m.day).or_insert(DayTotals { day: m.day, ..DayTotals::default() });
        entry.messages += m.messages;
        entry.cost_micros += m.cost_micros;
    }
    days.into_values()
        .filter_map(|d| {
            Some(DailyMetrics {
                date: date_of(d.day)?,
                conversations: d.conversations,
                messages: d.messages,
                cost_micros: d.cost_micros,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn p90_is_nearest_rank() {
        assert_eq!(p90_offset(1), 0);
        assert_eq!(p90_offset(5), 4);
        assert_eq!(p90_offset(10), 8);
        assert_eq!(p90_offset(11), 9);
        assert_eq!(p90_offset(20), 17);
    }

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
        let convs = [DayTotals { day, conversations: 2, ..Default::default() }];
        let msgs = [DayTotals { day, messages: 5, cost_micros: 700, ..Default::default() }];
        let series = daily_series(&filter, &convs, &msgs);
        assert_eq!(series.len(), 3);
        assert_eq!(series[1].date, time::macros::date!(2026 - 03 - 02));
        assert_eq!((series[1].conversations, series[1].messages, series[1].cost_micros), (2, 5, 700));
        assert_eq!((series[0].messages, series[2].messages), (0, 0));
    }
}
