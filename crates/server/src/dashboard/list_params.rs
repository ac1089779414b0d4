//! The conversation list's filter form, as the browser sends it (a GET form: empty fields are
//! empty strings, the date range is a preset or custom dates), turned into the API's own
//! [`ListQuery`] so the list and the export filter exactly as `/api/v1/conversations` does.

use crate::http::conversations::ListQuery;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub assistant_id: Option<String>,
    pub sender_id: Option<String>,
    pub customer: Option<String>,
    pub status: Option<String>,
    /// `7`, `30`, `90` (days up to now), `custom` (`from`/`to` dates, both inclusive) or empty
    /// (any time).
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `1`: only conversations with a failed delivery.
    pub failed: Option<String>,
    pub cursor: Option<String>,
}

/// The names of the filter fields, in the order links carry them.
const FIELDS: [&str; 9] = ["type", "assistant_id", "sender_id", "customer", "status", "range", "from", "to", "failed"];

impl ListParams {
    fn value(&self, field: &str) -> &str {
        let raw = match field {
            "type" => &self.kind,
            "assistant_id" => &self.assistant_id,
            "sender_id" => &self.sender_id,
            "customer" => &self.customer,
            "status" => &self.status,
            "range" => &self.range,
            "from" => &self.from,
            "to" => &self.to,
            "failed" => &self.failed,
            "cursor" => &self.cursor,
            _ => &None,
        };
        raw.as_deref().map_or("", str::trim)
    }

    fn given(&self, field: &str) -> Option<String> {
        Some(self.value(field)).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// Whether any filter is set (the empty state then says "nothing matches").
    pub fn is_filtered(&self) -> bool {
        FIELDS.iter().any(|f| !self.value(f).is_empty())
    }

    pub fn field(&self, field: &str) -> String {
        self.value(field).to_string()
    }

    pub fn wants_failed(&self) -> bool {
        matches!(self.value("failed"), "1" | "true" | "on")
    }

    /// The API's query for these filters at `now`.
    pub fn list_query(&self, now: OffsetDateTime) -> ListQuery {
        let (from, to) = match self.value("range") {
            days @ ("7" | "30" | "90") => {
                let days: i64 = days.parse().unwrap_or(30);
                ((now - Duration::days(days)).format(&Rfc3339).ok(), None)
            }
            "custom" => (self.given("from"), self.given("to").map(|to| day_after(&to))),
            _ => (None, None),
        };
        ListQuery {
            kind: self.given("type"),
            assistant_id: self.given("assistant_id"),
            sender_id: self.given("sender_id"),
            customer: self.given("customer"),
            status: self.given("status"),
            from,
            to,
            has_failed_deliveries: self.wants_failed().then_some(true),
            cursor: self.given("cursor"),
            ..ListQuery::default()
        }
    }

    /// The filters as a query string (without the cursor), for links that keep them.
    pub fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for field in FIELDS {
            let value = self.value(field);
            if !value.is_empty() {
                out.append_pair(field, value);
            }
        }
        out.finish()
    }
}

/// A custom range's `to` date is inclusive: the list's `to` is exclusive, so it becomes the
/// next day. Anything that is not a date is passed on for the API to judge.
fn day_after(to: &str) -> String {
    match Date::parse(to, time::macros::format_description!("[year]-[month]-[day]")) {
        Ok(date) => date.next_day().map_or_else(|| to.to_string(), |d| d.to_string()),
        Err(_) => to.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_custom_dates_and_links() {
        let now = time::macros::datetime!(2026-11-25 12:00 UTC);
        let params = ListParams {
            kind: Some("whatsapp".into()),
            range: Some("7".into()),
            customer: Some("  ".into()),
            ..Default::default()
        };
        let query = params.list_query(now);
        assert_eq!(query.kind.as_deref(), Some("whatsapp"));
        assert_eq!(query.from.as_deref(), Some("2026-11-18T12:00:00Z"));
        assert_eq!(query.customer, None, "blank fields are no filter");
        assert_eq!(params.query_string(), "type=whatsapp&range=7");
        let custom = ListParams {
            range: Some("custom".into()),
            from: Some("2026-11-01".into()),
            to: Some("2026-11-24".into()),
            ..Default::default()
        };
        let query = custom.list_query(now);
        assert_eq!((query.from.as_deref(), query.to.as_deref()), (Some("2026-11-01"), Some("2026-11-25")));
        assert!(!ListParams::default().is_filtered());
    }
}
