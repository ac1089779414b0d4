//! Both backends keep times to the microsecond (PostgreSQL's timestamptz resolution), so a
//! value a store returns from a write equals what a later read returns.

use time::OffsetDateTime;

/// `t` truncated to whole microseconds.
pub fn to_stored_precision(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}

/// The current time at stored precision.
pub(crate) fn now() -> OffsetDateTime {
    to_stored_precision(OffsetDateTime::now_utc())
}
