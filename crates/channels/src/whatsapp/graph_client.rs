//! The HTTP client for Meta's WhatsApp Cloud API (the Graph API's `/messages` edge).
//!
//! This module owns the calls confab makes as a WhatsApp business number: sending an
//! [`OutboundMessage`] (`POST {base}/{version}/{phone_number_id}/messages` with
//! `Authorization: Bearer`), and marking a customer's message read, optionally with a typing
//! indicator. Each call is made once: there are no retries here, because only the outbox knows
//! how many attempts a message has had; it decides with `error_class::classify`.
//!
//! The access token goes into the `Authorization` header (marked sensitive) and nowhere else:
//! not into URLs, errors, logs or `Debug`. Logs carry the phone-number id, the message type,
//! the HTTP status, Meta's code and trace id; never the recipient or the text.
//!
//! It does not validate messages (call `OutboundMessage::validate` before queueing), check the
//! 24-hour window, or upload media.

use super::graph_error::{retry_after_from_headers, GraphError, TransportFailure};
use super::outbound_message::OutboundMessage;
use confab_domain::Secret;
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};
use std::time::Duration;

/// What Meta answers when it accepts a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// The new message's id (`messages[0].id`): status webhooks refer to it.
    pub wamid: String,
    /// The recipient's WhatsApp id (`contacts[0].wa_id`), when Meta returns one.
    pub wa_id: Option<String>,
    /// `messages[0].message_status` for templates: `accepted`, `held_for_quality_assessment`
    /// or `paused`.
    pub message_status: Option<String>,
}

/// Why a [`GraphClient`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GraphClientBuildError {
    #[error("the Graph API base URL {0:?} is not an absolute http(s) URL")]
    BadBaseUrl(String),
    #[error("the Graph API version {0:?} must look like v23.0")]
    BadVersion(String),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// A client for one Graph API base URL and version, shared by every sender.
#[derive(Clone, Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    base_url: Url,
    version: String,
}

impl GraphClient {
    /// A client for `base_url` (e.g. `https://graph.facebook.com`, or a fake's URL) and
    /// `version` (e.g. `v23.0`); each call fails with a timeout after `request_timeout`.
    pub fn new(base_url: &str, version: &str, request_timeout: Duration) -> Result<Self, GraphClientBuildError> {
        let parsed = Url::parse(base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| GraphClientBuildError::BadBaseUrl(base_url.to_owned()))?;
        let version = version.trim();
        if !version.starts_with('v') || version.len() < 2 || version.contains('/') {
            return Err(GraphClientBuildError::BadVersion(version.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, base_url: parsed, version: version.to_owned() })
    }

    /// `{base}/{version}/{phone_number_id}/messages`, with the id as one escaped path segment.
    pub fn messages_url(&self, phone_number_id: &str) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&self.version).push(phone_number_id).push("messages");
        }
        url
    }

    /// Sends `message` from the business number `phone_number_id`.
    pub async fn send(
        &self,
        phone_number_id: &str,
        access_token: &Secret,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, GraphError> {
        let body = message.to_request_body();
        let (status, bytes) = self.post(phone_number_id, access_token, &body).await.inspect_err(|e| {
            log_failure(phone_number_id, message.type_name(), e);
        })?;
        let receipt = parse_send_success(status, &bytes);
        match &receipt {
            Ok(r) => {
                tracing::debug!(phone_number_id, kind = message.type_name(), wamid = %r.wamid, "whatsapp message accepted")
            }
            Err(e) => log_failure(phone_number_id, message.type_name(), e),
        }
        receipt
    }

    /// Marks the customer's message `wamid` (and those before it) read: blue ticks. With
    /// `typing_indicator`, also shows "typing…" until we reply or 25 seconds pass.
    pub async fn mark_read(
        &self,
        phone_number_id: &str,
        access_token: &Secret,
        wamid: &str,
        typing_indicator: bool,
    ) -> Result<(), GraphError> {
        let body = mark_read_body(wamid, typing_indicator);
        let result = self.post(phone_number_id, access_token, &body).await.map(|_| ());
        if let Err(e) = &result {
            log_failure(phone_number_id, "read", e);
        }
        result
    }

    /// One POST; a 2xx gives its status and body, anything else a [`GraphError`].
    async fn post(
        &self,
        phone_number_id: &str,
        access_token: &Secret,
        body: &Value,
    ) -> Result<(StatusCode, Vec<u8>), GraphError> {
        let response = self
            .http
            .post(self.messages_url(phone_number_id))
            .bearer_auth(access_token.expose())
            .json(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after =
            retry_after_from_headers(header("retry-after").as_deref(), header("x-business-use-case-usage").as_deref());
        let bytes = response.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            Ok((status, bytes.to_vec()))
        } else {
            Err(GraphError::from_response(status.as_u16(), &bytes, retry_after))
        }
    }
}

/// The body of a "mark as read" request.
pub fn mark_read_body(wamid: &str, typing_indicator: bool) -> Value {
    let mut body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": wamid });
    if typing_indicator {
        body["typing_indicator"] = json!({ "type": "text" });
    }
    body
}

/// Meta's answer to an accepted send: `{"messaging_product", "contacts": [{"input",
/// "wa_id"}], "messages": [{"id", "message_status"?}]}`.
fn parse_send_success(status: StatusCode, body: &[u8]) -> Result<SendReceipt, GraphError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let first = |key: &str| parsed.as_ref().and_then(|v| v.get(key)?.get(0)).and_then(Value::as_object);
    let text = |obj: Option<&serde_json::Map<String, Value>>, key: &str| {
        obj.and_then(|o| o.get(key)?.as_str()).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let message = first("messages");
    let wamid = text(message, "id").ok_or_else(|| GraphError::unexpected_success(status.as_u16(), body))?;
    Ok(SendReceipt { wamid, wa_id: text(first("contacts"), "wa_id"), message_status: text(message, "message_status") })
}

fn transport_error(e: reqwest::Error) -> GraphError {
    let failure = if e.is_timeout() {
        TransportFailure::Timeout
    } else if e.is_connect() {
        TransportFailure::Connect
    } else {
        TransportFailure::Other
    };
    GraphError::transport(failure, e.to_string())
}

fn log_failure(phone_number_id: &str, kind: &str, e: &GraphError) {
    tracing::warn!(
        phone_number_id,
        kind,
        http_status = e.http_status,
        code = e.code,
        fbtrace_id = e.fbtrace_id.as_deref(),
        "whatsapp graph call failed: {}",
        e.title
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> GraphClient {
        GraphClient::new(base, "v23.0", Duration::from_secs(5)).expect("builds")
    }

    #[test]
    fn builds_the_messages_url() {
        assert_eq!(
            client("https://graph.facebook.com").messages_url("106540352242922").as_str(),
            "https://graph.facebook.com/v23.0/106540352242922/messages"
        );
        assert_eq!(
            client("http://127.0.0.1:4000/graph/").messages_url("1").as_str(),
            "http://127.0.0.1:4000/graph/v23.0/1/messages"
        );
        // an odd id cannot reach another endpoint
        assert_eq!(
            client("http://127.0.0.1:4000").messages_url("1/../../x?y").as_str(),
            "http://127.0.0.1:4000/v23.0/1%2F..%2F..%2Fx%3Fy/messages"
        );
    }

    #[test]
    fn refuses_bad_configuration() {
        for base in ["graph.facebook.com", "ftp://x", "", "http://"] {
            assert!(matches!(
                GraphClient::new(base, "v23.0", Duration::from_secs(1)),
                Err(GraphClientBuildError::BadBaseUrl(_))
            ));
        }
        for version in ["23.0", "v", "v1/x"] {
            assert!(matches!(
                GraphClient::new("https://graph.facebook.com", version, Duration::from_secs(1)),
                Err(GraphClientBuildError::BadVersion(_))
            ));
        }
    }

    #[test]
    fn reads_meta_success_bodies() {
        let ok = br#"{"messaging_product":"whatsapp","contacts":[{"input":"+1 650-555-1234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA"}]}"#;
        let receipt = parse_send_success(StatusCode::OK, ok).expect("parses");
        assert_eq!(receipt.wamid, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA");
        assert_eq!(receipt.wa_id.as_deref(), Some("16505551234"));
        assert_eq!(receipt.message_status, None);
        let template = br#"{"messaging_product":"whatsapp","contacts":[],"messages":[{"id":"wamid.T","message_status":"accepted"}]}"#;
        let receipt = parse_send_success(StatusCode::OK, template).expect("parses");
        assert_eq!((receipt.wa_id, receipt.message_status.as_deref()), (None, Some("accepted")));
        for odd in [&b""[..], b"{}", br#"{"messages":[]}"#, br#"{"messages":[{"id":""}]}"#, b"<html>"] {
            let e = parse_send_success(StatusCode::OK, odd).expect_err("no wamid");
            assert_eq!((e.http_status, e.code), (200, None));
        }
    }

    #[test]
    fn mark_read_bodies() {
        assert_eq!(
            mark_read_body("wamid.A", false),
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.A"})
        );
        assert_eq!(
            mark_read_body("wamid.A", true),
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.A", "typing_indicator": {"type": "text"}})
        );
    }

    #[test]
    fn debug_shows_no_secrets() {
        let c = client("https://graph.facebook.com");
        let shown = format!("{c:?}");
        assert!(shown.contains("v23.0"));
        assert!(!shown.to_lowercase().contains("bearer"));
    }
}
