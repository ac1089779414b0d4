//! A failed Graph API call, as Meta answered it or as the network failed it.
//!
//! Meta's error body is `{"error": {"message", "type", "code", "error_subcode", "error_data":
//! {"messaging_product", "details"}, "error_user_msg", "fbtrace_id"}}`, where `message` is
//! usually `"(#<code>) <title>"`. This module owns reading such a response (or a body that is
//! not JSON at all, as a proxy's 502 page is) into a [`GraphError`], the retry hint Meta gives
//! in headers (`Retry-After`, and `estimated_time_to_regain_access` in
//! `X-Business-Use-Case-Usage`), describing transport failures (timeouts, refused connections)
//! the same way, and handing the error on as a [`DeliveryError`] for the message record.
//!
//! Whether to retry is decided by `error_class::classify`, not here.

use super::json_fields::{id_field, str_field};
use confab_domain::DeliveryError;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// How a call failed before any HTTP response arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    /// The request or the response took longer than the client's timeout.
    Timeout,
    /// No connection could be made (refused, unreachable, DNS, TLS).
    Connect,
    /// Anything else between us and Meta (a reset connection, a truncated body).
    Other,
}

impl TransportFailure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timed out",
            Self::Connect => "could not connect",
            Self::Other => "connection failed",
        }
    }
}

/// A Graph API call that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    /// The HTTP status; `0` when no response arrived (see [`Self::transport`]).
    pub http_status: u16,
    /// Meta's `error.code`, e.g. `131047`.
    pub code: Option<i64>,
    /// `error.error_subcode` (deprecated by Meta for WhatsApp errors, still sent for Graph ones
    /// such as 190/463 "session has expired"). An `i32` keeps the error under clippy's
    /// `result_large_err` size for every `Result<_, GraphError>`.
    pub subcode: Option<i32>,
    /// A short description: `message` without its `(#code)` prefix, or what went wrong.
    pub title: String,
    /// `error.error_data.details` (else `error_user_msg`): Meta's explanation, when given.
    pub details: Option<String>,
    /// Meta's trace id, to quote to Meta support.
    pub fbtrace_id: Option<String>,
    /// How long Meta asked us to wait, from the response headers.
    pub retry_after: Option<Duration>,
    /// Set when no HTTP response arrived at all.
    pub transport: Option<TransportFailure>,
}

impl GraphError {
    /// Reads an unsuccessful response. Never fails: a body that is not Meta's error JSON still
    /// gives an error that says what arrived.
    pub fn from_response(http_status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error")).and_then(Value::as_object);
        let Some(error) = error else {
            return Self {
                http_status,
                code: None,
                subcode: None,
                title: format!("the Graph API answered HTTP {http_status} without an error object"),
                details: body_excerpt(body),
                fbtrace_id: None,
                retry_after,
                transport: None,
            };
        };
        let code = integer(error.get("code"));
        let message = str_field(error, "message").map(str::trim).filter(|m| !m.is_empty());
        let title = match (message, code) {
            (Some(m), _) => strip_code_prefix(m).to_owned(),
            (None, Some(code)) => format!("WhatsApp error {code}"),
            (None, None) => format!("the Graph API answered HTTP {http_status}"),
        };
        let details = error_data_details(error.get("error_data"))
            .or_else(|| str_field(error, "error_user_msg").map(str::to_owned))
            .filter(|d| !d.trim().is_empty() && *d != title);
        Self {
            http_status,
            code,
            subcode: integer(error.get("error_subcode")).and_then(|s| i32::try_from(s).ok()),
            title,
            details,
            fbtrace_id: id_field(error, "fbtrace_id"),
            retry_after,
            transport: None,
        }
    }

    /// A call that got no response. `what` is the transport's own description (it must not
    /// contain the access token; reqwest's errors name the URL, which holds none).
    pub fn transport(failure: TransportFailure, what: impl Into<String>) -> Self {
        Self {
            http_status: 0,
            code: None,
            subcode: None,
            title: format!("the WhatsApp Graph API {}", failure.as_str()),
            details: Some(what.into()).filter(|w| !w.is_empty()),
            fbtrace_id: None,
            retry_after: None,
            transport: Some(failure),
        }
    }

    /// A 2xx answer we could not use (no message id): the message may well have been sent.
    pub fn unexpected_success(http_status: u16, body: &[u8]) -> Self {
        Self {
            http_status,
            code: None,
            subcode: None,
            title: format!("the Graph API answered HTTP {http_status} but its body has no message id"),
            details: body_excerpt(body),
            fbtrace_id: None,
            retry_after: None,
            transport: None,
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.transport) {
            (_, Some(_)) => f.write_str(&self.title)?,
            (Some(code), None) => write!(f, "WhatsApp error {code} (HTTP {}): {}", self.http_status, self.title)?,
            (None, None) => write!(f, "{} (HTTP {})", self.title, self.http_status)?,
        }
        if let Some(details) = &self.details {
            write!(f, ": {details}")?;
        }
        if let Some(trace) = &self.fbtrace_id {
            write!(f, " [fbtrace_id {trace}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {}

impl From<&GraphError> for DeliveryError {
    fn from(e: &GraphError) -> Self {
        let details = match (&e.details, e.code, e.transport) {
            (Some(d), _, _) => Some(d.clone()),
            (None, None, None) => Some(format!("HTTP {}", e.http_status)),
            _ => None,
        };
        DeliveryError { code: e.code, title: e.title.clone(), details }
    }
}

/// The wait Meta asks for in the response headers: `Retry-After` (seconds), or the
/// `estimated_time_to_regain_access` (minutes) of `X-Business-Use-Case-Usage`, whichever is
/// longer.
pub fn retry_after_from_headers(retry_after: Option<&str>, business_use_case_usage: Option<&str>) -> Option<Duration> {
    let header = retry_after.and_then(|s| s.trim().parse::<u64>().ok()).map(Duration::from_secs);
    let usage = business_use_case_usage.and_then(|raw| {
        let usage: Value = serde_json::from_str(raw).ok()?;
        let minutes = usage
            .as_object()?
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|entry| integer(entry.get("estimated_time_to_regain_access")))
            .max()?;
        u64::try_from(minutes).ok().filter(|m| *m > 0).map(|m| Duration::from_secs(m * 60))
    });
    header.max(usage)
}

/// `(#131047) Re-engagement message` → `Re-engagement message`.
fn strip_code_prefix(message: &str) -> &str {
    message
        .strip_prefix("(#")
        .and_then(|rest| rest.split_once(')'))
        .filter(|(code, _)| !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()))
        .map_or(message, |(_, title)| title.trim_start())
}

/// `error_data.details`; Graph sometimes sends `error_data` as a JSON-encoded string.
fn error_data_details(error_data: Option<&Value>) -> Option<String> {
    match error_data? {
        Value::Object(data) => str_field(data, "details").map(str::to_owned),
        Value::String(encoded) => {
            serde_json::from_str::<Value>(encoded).ok()?.get("details")?.as_str().map(str::to_owned)
        }
        _ => None,
    }
}

fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The start of a body that was not Meta's error JSON, for the record.
fn body_excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return None;
    }
    let mut excerpt: String = text.chars().take(200).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    Some(excerpt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(status: u16, body: Value) -> GraphError {
        GraphError::from_response(status, &serde_json::to_vec(&body).expect("serialises"), None)
    }

    #[test]
    fn reads_meta_error_bodies() {
        // the shape of Meta's "Error response syntax", with a pair-rate-limit error
        let e = parse(
            400,
            json!({"error": {
                "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                "type": "OAuthException",
                "code": 131056,
                "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."},
                "fbtrace_id": "A4O5a8RAgePwbcGSu"
            }}),
        );
        assert_eq!(e.http_status, 400);
        assert_eq!(e.code, Some(131056));
        assert_eq!(e.subcode, None);
        assert_eq!(e.title, "(Business Account, Consumer Account) pair rate limit hit");
        assert!(e.details.as_deref().is_some_and(|d| d.starts_with("Message failed to send")));
        assert_eq!(e.fbtrace_id.as_deref(), Some("A4O5a8RAgePwbcGSu"));
        assert_eq!(e.transport, None);
        let shown = e.to_string();
        assert!(shown.starts_with("WhatsApp error 131056 (HTTP 400): (Business Account"), "{shown}");
        assert!(shown.ends_with("[fbtrace_id A4O5a8RAgePwbcGSu]"), "{shown}");
    }

    #[test]
    fn reads_graph_token_errors_with_subcodes() {
        let e = parse(
            401,
            json!({"error": {"message": "Error validating access token: Session has expired on Friday, 13-Jun-25 09:00:00 PDT.",
                   "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "AbC"}}),
        );
        assert_eq!((e.code, e.subcode), (Some(190), Some(463)));
        assert!(e.title.starts_with("Error validating access token"));
        assert_eq!(e.details, None);
        let user_msg = parse(
            400,
            json!({"error": {"message": "Invalid parameter", "code": "100", "error_user_msg": "Pick a template"}}),
        );
        assert_eq!((user_msg.code, user_msg.details.as_deref()), (Some(100), Some("Pick a template")));
        let encoded =
            parse(400, json!({"error": {"message": "(#100) x", "code": 100, "error_data": "{\"details\":\"why\"}"}}));
        assert_eq!(encoded.details.as_deref(), Some("why"));
    }

    #[test]
    fn survives_bodies_that_are_not_meta_errors() {
        let html = GraphError::from_response(502, b"<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>", None);
        assert_eq!((html.http_status, html.code), (502, None));
        assert!(html.title.contains("HTTP 502"));
        assert_eq!(html.details.as_deref(), Some("<html><body> <h1>502 Bad Gateway</h1> </body></html>"));
        let empty = GraphError::from_response(503, b"", Some(Duration::from_secs(3)));
        assert_eq!((empty.details, empty.retry_after), (None, Some(Duration::from_secs(3))));
        let long = GraphError::from_response(500, "x".repeat(1000).as_bytes(), None);
        assert_eq!(long.details.map(|d| d.chars().count()), Some(201));
        for odd in [json!({"error": "nope"}), json!([1]), json!({"error": {}})] {
            let e = parse(400, odd);
            assert_eq!(e.code, None);
            assert!(!e.title.is_empty());
        }
        assert_eq!(parse(400, json!({"error": {"code": 4}})).title, "WhatsApp error 4");
    }

    #[test]
    fn strips_only_numeric_code_prefixes() {
        assert_eq!(strip_code_prefix("(#130429) Rate limit hit"), "Rate limit hit");
        assert_eq!(strip_code_prefix("(#abc) kept"), "(#abc) kept");
        assert_eq!(strip_code_prefix("(#) kept"), "(#) kept");
        assert_eq!(strip_code_prefix("plain"), "plain");
    }

    #[test]
    fn transport_failures_and_delivery_errors() {
        let t = GraphError::transport(TransportFailure::Timeout, "operation timed out");
        assert_eq!((t.http_status, t.transport), (0, Some(TransportFailure::Timeout)));
        assert_eq!(t.to_string(), "the WhatsApp Graph API timed out: operation timed out");
        let d = DeliveryError::from(&t);
        assert_eq!((d.code, d.details.as_deref()), (None, Some("operation timed out")));

        let meta = parse(
            400,
            json!({"error": {"message": "(#131047) Re-engagement message", "code": 131047,
            "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}),
        );
        let d = DeliveryError::from(&meta);
        assert_eq!(d.code, Some(131047));
        assert_eq!(d.title, "Re-engagement message");
        assert!(d.details.is_some_and(|s| s.contains("24 hours")));

        let bare = GraphError::from_response(503, b"", None);
        assert_eq!(DeliveryError::from(&bare).details.as_deref(), Some("HTTP 503"));
    }

    #[test]
    fn stays_small_enough_to_return_in_results() {
        assert!(std::mem::size_of::<GraphError>() < 128, "{}", std::mem::size_of::<GraphError>());
    }

    #[test]
    fn retry_hints_from_headers() {
        assert_eq!(retry_after_from_headers(Some("7"), None), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_from_headers(Some("soon"), None), None);
        let usage = r#"{"102290129340398": [{"type": "whatsapp_business_management", "call_count": 100, "total_cputime": 1, "total_time": 1, "estimated_time_to_regain_access": 2}]}"#;
        assert_eq!(retry_after_from_headers(None, Some(usage)), Some(Duration::from_secs(120)));
        assert_eq!(retry_after_from_headers(Some("300"), Some(usage)), Some(Duration::from_secs(300)));
        let zero = r#"{"1": [{"estimated_time_to_regain_access": 0}]}"#;
        assert_eq!(retry_after_from_headers(None, Some(zero)), None);
        assert_eq!(retry_after_from_headers(None, Some("not json")), None);
        assert_eq!(retry_after_from_headers(None, None), None);
    }
}
