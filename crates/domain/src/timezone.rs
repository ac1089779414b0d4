//! Time zones: checking an IANA name (`Europe/Madrid`) against the bundled tz database, and
//! reading an instant as local date and time there. Daylight-saving rules come from that
//! database; nothing here reads the machine's own zone files or clock.

use crate::ValidationError;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// The zone with this IANA name, or a validation error on `field` naming what to write.
pub fn parse_timezone(field: &'static str, name: &str) -> Result<TimeZone, ValidationError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return Err(unknown(field, name));
    }
    TimeZone::get(name).map_err(|_| unknown(field, name))
}

fn unknown(field: &'static str, name: &str) -> ValidationError {
    ValidationError::new(
        field,
        format!("`{name}` is not a known time zone: use an IANA name such as Europe/Madrid, America/New_York or UTC"),
    )
}

/// The zone named `name`, or UTC if the name is unknown (stored names were checked when they
/// were saved; this only guards against a tz database that dropped one).
pub fn zone_or_utc(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// `time` → `jiff` for the same instant.
pub fn to_timestamp(at: OffsetDateTime) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// `jiff` → `time` for the same instant.
pub fn to_offset_date_time(at: jiff::Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `at` as a local date (`2026-03-29`) and time (`03:05`) in `zone`.
pub fn local_date_and_time(at: OffsetDateTime, zone: &TimeZone) -> (String, String) {
    let local = zone.to_datetime(to_timestamp(at));
    (local.date().to_string(), format!("{:02}:{:02}", local.hour(), local.minute()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn known_and_unknown_zones() {
        assert!(parse_timezone("timezone", "Europe/Madrid").is_ok());
        assert!(parse_timezone("timezone", "UTC").is_ok());
        assert!(parse_timezone("timezone", "America/Argentina/Buenos_Aires").is_ok());
        let err = parse_timezone("timezone", "Europe/Atlantis").unwrap_err();
        assert_eq!(err.field, "timezone");
        assert!(err.message.contains("Europe/Atlantis"), "{}", err.message);
        assert!(parse_timezone("timezone", "").is_err());
        assert!(parse_timezone("timezone", "../../etc/passwd").is_err());
    }

    #[test]
    fn madrid_across_the_spring_change() {
        let madrid = parse_timezone("timezone", "Europe/Madrid").unwrap();
        // 2026-03-29: at 01:00 UTC clocks go from 02:00 CET to 03:00 CEST
        assert_eq!(
            local_date_and_time(datetime!(2026-03-29 00:59 UTC), &madrid),
            ("2026-03-29".into(), "01:59".into())
        );
        assert_eq!(
            local_date_and_time(datetime!(2026-03-29 01:00 UTC), &madrid),
            ("2026-03-29".into(), "03:00".into())
        );
        // the local date turns before UTC's does
        assert_eq!(
            local_date_and_time(datetime!(2026-03-28 23:30 UTC), &madrid),
            ("2026-03-29".into(), "00:30".into())
        );
    }

    #[test]
    fn instants_round_trip() {
        let at = datetime!(2026-03-29 01:00:00.123456 UTC);
        assert_eq!(to_offset_date_time(to_timestamp(at)), at);
    }
}
