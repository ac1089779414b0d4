//! A failed call to Twilio's REST API, as Twilio answered it or as the network failed it.
//!
//! Twilio's error body is `{"code": 21211, "message": "...", "more_info":
//! "https://www.twilio.com/docs/errors/21211", "status": 400}`, sometimes with a `detail`
//! (`"Your AccountSid or AuthToken was incorrect."` on a 401). This module owns reading such a
//! response (or a body that is not JSON at all, as a proxy's 502 page is) into a
//! [`TwilioApiError`], the `Retry-After` hint, describing transport failures (timeouts, refused
//! connections) and local refusals (a message that fails validation) the same way, and
//! handing the error on as a [`DeliveryError`] for the message record.
//!
//! Whether to retry is decided by `error_class::classify`, not here.

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
    /// Anything else between us and Twilio (a reset connection, a truncated body).
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

/// Where the failure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// Twilio (or something in front of it) answered with a non-success status.
    Response,
    /// No response arrived.
    Transport(TransportFailure),
    /// The message was refused before any call: it fails validation.
    Refused,
}

/// A Twilio API call that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioApiError {
    pub kind: ApiErrorKind,
    /// The HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// Twilio's error `code`, e.g. `21211`.
    pub code: Option<i64>,
    /// Twilio's `message`, or what went wrong.
    pub message: String,
    /// Twilio's `detail`, or the start of a body that was not Twilio's error JSON.
    pub detail: Option<String>,
    /// Twilio's `more_info` link.
    pub more_info: Option<String>,
    /// How long Twilio asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl TwilioApiError {
    /// Reads an unsuccessful response. Never fails: a body that is not Twilio's error JSON
    /// still gives an error that says what arrived.
    pub fn from_response(http_status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let Some(error) =
            parsed.as_ref().and_then(Value::as_object).filter(|o| o.contains_key("code") || o.contains_key("message"))
        else {
            return Self {
                kind: ApiErrorKind::Response,
                http_status: Some(http_status),
                code: None,
                message: format!("the Twilio API answered HTTP {http_status} without an error object"),
                detail: body_excerpt(body),
                more_info: None,
                retry_after,
            };
        };
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        let code = match error.get("code") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let message = match (text("message"), code) {
            (Some(m), _) => m.to_owned(),
            (None, Some(code)) => format!("Twilio error {code}"),
            (None, None) => format!("the Twilio API answered HTTP {http_status}"),
        };
        Self {
            kind: ApiErrorKind::Response,
            http_status: Some(http_status),
            code,
            detail: text("detail").filter(|d| *d != message).map(str::to_owned),
            more_info: text("more_info").map(str::to_owned),
            message,
            retry_after,
        }
    }

    /// A call that got no response. `what` is the transport's own description (it must not
    /// contain the auth token; reqwest's errors name the URL, which holds only the AccountSid).
    pub fn transport(failure: TransportFailure, what: impl Into<String>) -> Self {
        Self {
            kind: ApiErrorKind::Transport(failure),
            http_status: None,
            code: None,
            message: format!("the Twilio API {}", failure.as_str()),
            detail: Some(what.into()).filter(|w| !w.is_empty()),
            more_info: None,
            retry_after: None,
        }
    }

    /// A 2xx answer we could not use (no `sid`): the message may well have been sent.
    pub fn unexpected_success(http_status: u16, body: &[u8]) -> Self {
        Self {
            kind: ApiErrorKind::Response,
            http_status: Some(http_status),
            code: None,
            message: format!("the Twilio API answered HTTP {http_status} but its body has no message sid"),
            detail: body_excerpt(body),
            more_info: None,
            retry_after: None,
        }
    }

    /// A message refused before sending, with the reason.
    pub fn refused(reason: impl Into<String>) -> Self {
        Self {
            kind: ApiErrorKind::Refused,
            http_status: None,
            code: None,
            message: reason.into(),
            detail: None,
            more_info: None,
            retry_after: None,
        }
    }
}

impl fmt::Display for TwilioApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.http_status) {
            (Some(code), Some(status)) => write!(f, "Twilio error {code} (HTTP {status}): {}", self.message)?,
            (None, Some(status)) if self.kind == ApiErrorKind::Response && !self.message.contains("HTTP") => {
                write!(f, "{} (HTTP {status})", self.message)?;
            }
            _ => f.write_str(&self.message)?,
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TwilioApiError {}

impl From<&TwilioApiError> for DeliveryError {
    fn from(e: &TwilioApiError) -> Self {
        let details = match (&e.detail, e.code, e.http_status) {
            (Some(d), _, _) => Some(d.clone()),
            (None, None, Some(status)) => Some(format!("HTTP {status}")),
            _ => None,
        };
        DeliveryError { code: e.code, title: e.message.clone(), details }
    }
}

/// `Retry-After` in seconds (Twilio does not send the HTTP-date form).
pub(crate) fn retry_after_header(value: Option<&str>) -> Option<Duration> {
    value.and_then(|s| s.trim().parse::<u64>().ok()).filter(|s| *s > 0).map(Duration::from_secs)
}

/// The start of a body that was not Twilio's error JSON, for the record.
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

    fn parse(status: u16, body: Value) -> TwilioApiError {
        TwilioApiError::from_response(status, &serde_json::to_vec(&body).expect("serialises"), None)
    }

    #[test]
    fn reads_twilio_error_bodies() {
        let e = parse(
            400,
            json!({"code": 21211, "message": "The 'To' number whatsapp:+1555 is not a valid phone number.",
                   "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
        );
        assert_eq!((e.kind, e.http_status, e.code), (ApiErrorKind::Response, Some(400), Some(21211)));
        assert_eq!(e.more_info.as_deref(), Some("https://www.twilio.com/docs/errors/21211"));
        assert!(e.to_string().starts_with("Twilio error 21211 (HTTP 400): The 'To' number"), "{e}");
        let auth = parse(
            401,
            json!({"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.", "message": "Authenticate",
                   "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
        );
        assert_eq!((auth.code, auth.message.as_str()), (Some(20003), "Authenticate"));
        assert_eq!(auth.detail.as_deref(), Some("Your AccountSid or AuthToken was incorrect."));
        let d = DeliveryError::from(&auth);
        assert_eq!(
            (d.code, d.title.as_str(), d.details.as_deref()),
            (Some(20003), "Authenticate", Some("Your AccountSid or AuthToken was incorrect."))
        );
        assert_eq!(parse(400, json!({"code": "63016"})).message, "Twilio error 63016");
    }

    #[test]
    fn survives_bodies_that_are_not_twilio_errors() {
        let html = TwilioApiError::from_response(
            502,
            b"<html>\n<h1>502 Bad Gateway</h1></html>",
            Some(Duration::from_secs(2)),
        );
        assert_eq!((html.code, html.retry_after), (None, Some(Duration::from_secs(2))));
        assert_eq!(html.detail.as_deref(), Some("<html> <h1>502 Bad Gateway</h1></html>"));
        assert_eq!(
            DeliveryError::from(&TwilioApiError::from_response(503, b"", None)).details.as_deref(),
            Some("HTTP 503")
        );
        for odd in [json!([1]), json!({"error": "nope"}), json!("text")] {
            let e = parse(400, odd);
            assert_eq!(e.code, None);
            assert!(e.message.contains("HTTP 400"), "{}", e.message);
        }
        let long = TwilioApiError::from_response(500, "x".repeat(1000).as_bytes(), None);
        assert_eq!(long.detail.map(|d| d.chars().count()), Some(201));
    }

    #[test]
    fn transport_refusals_and_headers() {
        let t = TwilioApiError::transport(TransportFailure::Timeout, "operation timed out");
        assert_eq!(t.to_string(), "the Twilio API timed out: operation timed out");
        assert_eq!(DeliveryError::from(&t).details.as_deref(), Some("operation timed out"));
        let r = TwilioApiError::refused("the body is longer than 1600 characters");
        assert_eq!((r.kind, r.http_status), (ApiErrorKind::Refused, None));
        let odd = TwilioApiError::unexpected_success(201, b"{}");
        assert!(odd.to_string().contains("no message sid"), "{odd}");
        assert_eq!(retry_after_header(Some(" 30 ")), Some(Duration::from_secs(30)));
        assert_eq!(retry_after_header(Some("0")), None);
        assert_eq!(retry_after_header(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after_header(None), None);
    }
}
