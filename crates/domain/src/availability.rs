//! When an assistant takes appointments: its `availability` setting (working hours per
//! weekday, slot length, time zone, booking horizon) and the slots that follow from it.
//!
//! Slots are a fixed grid: each working interval is cut into slots of `slot_minutes` from its
//! opening time. Because the grid is fixed, two bookings of one assistant overlap exactly when
//! they start at the same instant, which is what lets the database refuse double bookings with
//! a unique index on the start (see migration 0010).
//!
//! Clock changes: a local time that does not exist (the hour skipped in spring) has no slot;
//! a local time that happens twice (autumn) has one slot, at its first occurrence; and a slot
//! that a clock change would cut short or stretch is not offered. Every slot offered therefore
//! lasts exactly `slot_minutes` of real time and lies inside the working hours on the wall
//! clock, and no two slots overlap.

use crate::timezone::{parse_timezone, to_offset_date_time};
use crate::ValidationError;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The weekday keys of `working_hours`, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An assistant's bookable time. Build it with [`Availability::parse`] (or deserialize it):
/// the rules are checked on the way in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AvailabilityWire", into = "AvailabilityWire")]
pub struct Availability {
    /// Per weekday (Monday first), the working intervals as minutes after local midnight:
    /// sorted, not overlapping, each at least one slot long.
    hours: [Vec<(u16, u16)>; 7],
    /// 5 to 480.
    pub slot_minutes: u16,
    /// An IANA name; `None` means the assistant's own time zone.
    pub timezone: Option<String>,
    /// How many days ahead customers may book (1 to 730); `None` means no limit.
    pub horizon_days: Option<u16>,
}

/// The setting as written: `{"working_hours": {"mon": [["09:00", "17:00"]], ...},
/// "slot_minutes": 30, "timezone": "Europe/Madrid", "horizon_days": 60}`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityWire {
    working_hours: BTreeMap<String, Vec<[String; 2]>>,
    #[serde(default = "default_slot_minutes")]
    slot_minutes: i64,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    horizon_days: Option<i64>,
}

fn default_slot_minutes() -> i64 {
    30
}

impl TryFrom<AvailabilityWire> for Availability {
    type Error = String;

    fn try_from(w: AvailabilityWire) -> Result<Self, String> {
        if !(5..=480).contains(&w.slot_minutes) {
            return Err("slot_minutes must be between 5 and 480".into());
        }
        let slot = w.slot_minutes as u16;
        if let Some(days) = w.horizon_days {
            if !(1..=730).contains(&days) {
                return Err("horizon_days must be between 1 and 730".into());
            }
        }
        if let Some(tz) = &w.timezone {
            parse_timezone("availability", tz).map_err(|e| format!("timezone: {}", e.message))?;
        }
        let mut hours: [Vec<(u16, u16)>; 7] = Default::default();
        for (day, intervals) in &w.working_hours {
            let Some(index) = WEEKDAYS.iter().position(|d| d == day) else {
                return Err(format!("working_hours: `{day}` is not a weekday: use mon, tue, wed, thu, fri, sat, sun"));
            };
            let mut parsed = Vec::with_capacity(intervals.len());
            for [open, close] in intervals {
                let (Some(from), Some(to)) = (minutes_of(open, false), minutes_of(close, true)) else {
                    return Err(format!(
                        "working_hours.{day}: `{open}`–`{close}` must be times as HH:MM (00:00 to 24:00)"
                    ));
                };
                if to < from + slot {
                    return Err(format!(
                        "working_hours.{day}: {open}–{close} must end after it opens and hold at least one {slot}-minute slot"
                    ));
                }
                parsed.push((from, to));
            }
            parsed.sort_unstable();
            if parsed.windows(2).any(|pair| pair[1].0 < pair[0].1) {
                return Err(format!("working_hours.{day}: the intervals overlap"));
            }
            hours[index] = parsed;
        }
        Ok(Self { hours, slot_minutes: slot, timezone: w.timezone, horizon_days: w.horizon_days.map(|d| d as u16) })
    }
}

impl From<Availability> for AvailabilityWire {
    fn from(a: Availability) -> Self {
        let working_hours = WEEKDAYS
            .iter()
            .zip(&a.hours)
            .filter(|(_, intervals)| !intervals.is_empty())
            .map(|(day, intervals)| {
                (day.to_string(), intervals.iter().map(|&(from, to)| [hhmm(from), hhmm(to)]).collect())
            })
            .collect();
        Self {
            working_hours,
            slot_minutes: i64::from(a.slot_minutes),
            timezone: a.timezone,
            horizon_days: a.horizon_days.map(i64::from),
        }
    }
}

/// `HH:MM` as minutes after midnight; `24:00` only where `end_of_day` allows it.
fn minutes_of(text: &str, end_of_day: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    (m < 60 && (minutes < 24 * 60 || (end_of_day && minutes == 24 * 60))).then_some(minutes)
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// One bookable slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    /// The start on the wall clock of the availability's time zone.
    pub local_start: DateTime,
}

impl Availability {
    /// Checks the `availability` setting; the error names the rule broken.
    pub fn parse(value: &serde_json::Value) -> Result<Self, ValidationError> {
        serde_json::from_value(value.clone()).map_err(|e| {
            ValidationError::new(
                "availability",
                format!(
                    "{e} (expected {{\"working_hours\": {{\"mon\": [[\"09:00\", \"17:00\"]]}}, \"slot_minutes\": 30}})"
                ),
            )
        })
    }

    /// The working intervals of a weekday (0 = Monday) as minutes after midnight.
    pub fn hours_of(&self, weekday: usize) -> &[(u16, u16)] {
        self.hours.get(weekday).map_or(&[], Vec::as_slice)
    }

    /// The time-zone name slots are read in: the availability's own, else `assistant_timezone`.
    pub fn timezone_name<'a>(&'a self, assistant_timezone: &'a str) -> &'a str {
        self.timezone.as_deref().unwrap_or(assistant_timezone)
    }

    /// The slots of one local date, in order.
    pub fn slots_on(&self, date: Date, zone: &TimeZone) -> Vec<Slot> {
        let weekday = date.weekday().to_monday_zero_offset() as usize;
        let slot = self.slot_minutes;
        let mut slots = Vec::new();
        for &(open, close) in self.hours_of(weekday) {
            let mut start = open;
            while start + slot <= close {
                slots.extend(self.slot_at(date, start, zone));
                start += slot;
            }
        }
        slots
    }

    /// The slots from `from` to `to` (local dates, both included), in order.
    pub fn slots_between(&self, from: Date, to: Date, zone: &TimeZone) -> Vec<Slot> {
        let mut slots = Vec::new();
        let mut date = from;
        while date <= to {
            slots.extend(self.slots_on(date, zone));
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        slots
    }

    /// The slot that starts at this wall-clock time, if one does.
    pub fn slot_starting_at(&self, local: DateTime, zone: &TimeZone) -> Option<Slot> {
        if local.second() != 0 || local.subsec_nanosecond() != 0 {
            return None;
        }
        let minutes = local.hour() as u16 * 60 + local.minute() as u16;
        let weekday = local.date().weekday().to_monday_zero_offset() as usize;
        let on_grid = self.hours_of(weekday).iter().any(|&(open, close)| {
            open <= minutes && minutes + self.slot_minutes <= close && (minutes - open) % self.slot_minutes == 0
        });
        on_grid.then(|| self.slot_at(local.date(), minutes, zone)).flatten()
    }

    /// The slot starting `minutes` after local midnight of `date`, unless a clock change
    /// removes, repeats into, or cuts it.
    fn slot_at(&self, date: Date, minutes: u16, zone: &TimeZone) -> Option<Slot> {
        let local = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
        let offset = match zone.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            // the first of the two occurrences
            AmbiguousOffset::Fold { before, .. } => before,
            AmbiguousOffset::Gap { .. } => return None,
        };
        let length = SignedDuration::from_mins(i64::from(self.slot_minutes));
        let start = offset.to_timestamp(local).ok()?;
        let end = start.checked_add(length).ok()?;
        // the wall clock must move exactly as far as real time does
        if zone.to_datetime(end) != local.checked_add(length).ok()? {
            return None;
        }
        Some(Slot { starts_at: to_offset_date_time(start), ends_at: to_offset_date_time(end), local_start: local })
    }

    /// The last local date a customer may book on, counting from `today`.
    pub fn last_bookable_date(&self, today: Date) -> Option<Date> {
        self.horizon_days.and_then(|days| today.checked_add(Span::new().days(i64::from(days))).ok())
    }
}

/// A start the model wrote: a wall-clock time in `zone` (`2026-03-30T10:00`, `2026-03-30 10:00`)
/// or an instant with an offset (`2026-03-30T10:00:00+02:00`), read on `zone`'s wall clock.
pub fn parse_local_start(text: &str, zone: &TimeZone) -> Option<DateTime> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Some(zone.to_datetime(instant));
    }
    text.parse::<DateTime>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use time::macros::datetime;

    fn madrid() -> TimeZone {
        TimeZone::get("Europe/Madrid").unwrap()
    }

    fn availability(value: serde_json::Value) -> Availability {
        Availability::parse(&value).unwrap()
    }

    #[test]
    fn settings_are_checked() {
        let ok = availability(json!({
            "working_hours": {"mon": [["14:00", "18:00"], ["09:00", "13:00"]], "sat": [["10:00", "24:00"]]},
            "slot_minutes": 60, "timezone": "Europe/Madrid", "horizon_days": 30,
        }));
        assert_eq!(ok.hours_of(0), &[(540, 780), (840, 1080)]);
        assert_eq!(ok.hours_of(5), &[(600, 1440)]);
        for (bad, expected) in [
            (json!({"working_hours": {}, "slot_minutes": 4}), "between 5 and 480"),
            (json!({"working_hours": {}, "slot_minutes": 481}), "between 5 and 480"),
            (json!({"working_hours": {"monday": [["09:00", "17:00"]]}}), "not a weekday"),
            (json!({"working_hours": {"mon": [["9:00", "17:00"]]}}), "HH:MM"),
            (json!({"working_hours": {"mon": [["24:00", "24:00"]]}}), "HH:MM"),
            (json!({"working_hours": {"mon": [["17:00", "09:00"]]}}), "at least one"),
            (json!({"working_hours": {"mon": [["09:00", "09:20"]]}, "slot_minutes": 30}), "at least one"),
            (json!({"working_hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}), "overlap"),
            (json!({"working_hours": {}, "timezone": "Mars/Olympus"}), "not a known time zone"),
            (json!({"working_hours": {}, "horizon_days": 0}), "horizon_days"),
            (json!({"hours": {}}), "unknown field"),
        ] {
            let err = Availability::parse(&bad).unwrap_err();
            assert_eq!(err.field, "availability");
            assert!(err.message.contains(expected), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn round_trips_through_json() {
        let a = availability(json!({"working_hours": {"fri": [["09:00", "12:30"]]}, "slot_minutes": 45}));
        let stored = serde_json::to_value(&a).unwrap();
        assert_eq!(stored["working_hours"], json!({"fri": [["09:00", "12:30"]]}));
        assert_eq!(Availability::parse(&stored).unwrap(), a);
    }

    #[test]
    fn slots_follow_the_grid_in_local_time() {
        let a = availability(
            json!({"working_hours": {"mon": [["09:00", "10:30"], ["15:00", "16:00"]]}, "slot_minutes": 30}),
        );
        let monday = jiff::civil::date(2026, 3, 30);
        let slots = a.slots_on(monday, &madrid());
        let starts: Vec<String> = slots.iter().map(|s| s.local_start.time().to_string()).collect();
        assert_eq!(starts, ["09:00:00", "09:30:00", "10:00:00", "15:00:00", "15:30:00"]);
        // CEST: UTC+2
        assert_eq!(slots[0].starts_at, datetime!(2026-03-30 07:00 UTC));
        assert_eq!(slots[0].ends_at, datetime!(2026-03-30 07:30 UTC));
        assert!(a.slots_on(jiff::civil::date(2026, 3, 31), &madrid()).is_empty());
        assert!(a.slot_starting_at(monday.at(9, 30, 0, 0), &madrid()).is_some());
        assert!(a.slot_starting_at(monday.at(9, 15, 0, 0), &madrid()).is_none(), "off the grid");
        assert!(a.slot_starting_at(monday.at(10, 30, 0, 0), &madrid()).is_none(), "would end after closing");
        assert!(a.slot_starting_at(monday.at(8, 30, 0, 0), &madrid()).is_none(), "before opening");
    }

    #[test]
    fn the_skipped_hour_has_no_slots() {
        // 2026-03-29 (a Sunday): Madrid's clocks jump from 02:00 to 03:00
        let a = availability(json!({"working_hours": {"sun": [["00:00", "06:00"]]}, "slot_minutes": 60}));
        let slots = a.slots_on(jiff::civil::date(2026, 3, 29), &madrid());
        let starts: Vec<i8> = slots.iter().map(|s| s.local_start.hour()).collect();
        assert_eq!(
            starts,
            [0, 3, 4, 5],
            "01:00 would end at a 03:00 that is only 1 hour later... and 02:00 does not exist"
        );
        for s in &slots {
            assert_eq!(s.ends_at - s.starts_at, time::Duration::hours(1));
        }
        assert_eq!(slots[1].starts_at, datetime!(2026-03-29 01:00 UTC));
    }

    #[test]
    fn the_repeated_hour_has_one_slot() {
        // 2026-10-25 (a Sunday): Madrid's clocks go back from 03:00 to 02:00
        let a = availability(json!({"working_hours": {"sun": [["01:00", "04:00"]]}, "slot_minutes": 30}));
        let slots = a.slots_on(jiff::civil::date(2026, 10, 25), &madrid());
        let starts: Vec<String> = slots.iter().map(|s| s.local_start.time().to_string()[..5].to_string()).collect();
        // 02:30 (first occurrence, +02) would end at 03:00, which is 90 real minutes later
        assert_eq!(starts, ["01:00", "01:30", "02:00", "03:00", "03:30"]);
        assert_eq!(slots[2].starts_at, datetime!(2026-10-25 00:00 UTC), "the first 02:00");
        assert_eq!(slots[3].starts_at, datetime!(2026-10-25 02:00 UTC));
    }

    #[test]
    fn starts_are_read_on_the_wall_clock() {
        let zone = madrid();
        assert_eq!(parse_local_start("2026-03-30T10:00", &zone), Some(jiff::civil::date(2026, 3, 30).at(10, 0, 0, 0)));
        assert_eq!(parse_local_start("2026-03-30 10:00", &zone), Some(jiff::civil::date(2026, 3, 30).at(10, 0, 0, 0)));
        assert_eq!(
            parse_local_start("2026-03-30T08:00:00Z", &zone),
            Some(jiff::civil::date(2026, 3, 30).at(10, 0, 0, 0))
        );
        assert_eq!(parse_local_start("tomorrow at ten", &zone), None);
    }

    const ZONES: [&str; 6] =
        ["Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "UTC"];

    fn interval() -> impl Strategy<Value = (u16, u16)> {
        (0u16..1440, 5u16..1440).prop_map(|(open, len)| (open, (open + len).min(1440)))
    }

    proptest! {
        /// Whatever the hours, zone and day (DST days included): slots are in order, never
        /// overlap, last exactly their length, and lie inside the working hours.
        #[test]
        fn slots_never_overlap_nor_leave_the_working_hours(
            raw in proptest::collection::vec(interval(), 0..4),
            slot_minutes in 5u16..=480,
            zone in 0usize..ZONES.len(),
            day in 0i16..365,
        ) {
            let mut intervals: Vec<[String; 2]> = Vec::new();
            let mut sorted = raw.clone();
            sorted.sort_unstable();
            let mut last_end = 0;
            for (open, close) in sorted {
                if open >= last_end && close >= open + slot_minutes {
                    intervals.push([hhmm(open), hhmm(close)]);
                    last_end = close;
                }
            }
            let hours: serde_json::Map<String, serde_json::Value> =
                WEEKDAYS.iter().map(|d| (d.to_string(), json!(intervals))).collect();
            let a = availability(json!({"working_hours": hours, "slot_minutes": slot_minutes}));
            let tz = TimeZone::get(ZONES[zone]).unwrap();
            let date = jiff::civil::date(2026, 1, 1).checked_add(Span::new().days(day)).unwrap();
            let slots = a.slots_between(date, date.tomorrow().unwrap(), &tz);
            for pair in slots.windows(2) {
                prop_assert!(pair[0].ends_at <= pair[1].starts_at, "{:?} overlaps {:?}", pair[0], pair[1]);
            }
            for s in &slots {
                prop_assert_eq!(s.ends_at - s.starts_at, time::Duration::minutes(i64::from(slot_minutes)));
                let start = s.local_start.hour() as u16 * 60 + s.local_start.minute() as u16;
                let weekday = s.local_start.date().weekday().to_monday_zero_offset() as usize;
                prop_assert!(a.hours_of(weekday).iter().any(|&(open, close)| open <= start && start + slot_minutes <= close));
                let local_end = tz.to_datetime(crate::timezone::to_timestamp(s.ends_at));
                prop_assert_eq!(local_end, s.local_start.checked_add(SignedDuration::from_mins(i64::from(slot_minutes))).unwrap());
                prop_assert_eq!(a.slot_starting_at(s.local_start, &tz), Some(*s));
            }
        }
    }
}
