//! The HTTP client for Twilio's Messages API.
//!
//! This module owns the one call confab makes as a Twilio WhatsApp sender: creating a Message
//! (`POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP Basic
//! auth with `AccountSid:AuthToken`), and reading Twilio's answer — the Message resource
//! (`sid`, `status: "queued"`, …) on `201 Created`, or Twilio's error JSON. Each call is made
//! once: there are no retries here, because only the outbox knows how many attempts a message
//! has had; it decides with `error_class::classify`.
//!
//! The auth token goes into the `Authorization` header and nowhere else: not into URLs,
//! errors, logs or `Debug`. Logs carry the HTTP status and Twilio's code; never the recipient
//! or the text. The base URL is configurable so tests and demos can point it at
//! `confab_sim::fake_twilio_api`.

use super::api_error::{retry_after_header, TransportFailure, TwilioApiError};
use super::credentials::TwilioCredentials;
use super::outbound_message::OutgoingMessage;
use serde::Deserialize;
use std::time::Duration;

/// Twilio's REST API.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

/// The Message resource Twilio answers with (fields it may leave out or null are `Option`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MessageResource {
    /// `SM…` (or `MM…`): status callbacks refer to it.
    pub sid: String,
    /// `queued`, `accepted`, `scheduled`… on creation.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub account_sid: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub num_media: Option<String>,
    #[serde(default)]
    pub num_segments: Option<String>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub date_created: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
}

/// Why a [`MessagesClient`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MessagesClientBuildError {
    #[error("the Twilio API base URL {0:?} is not an absolute http(s) URL")]
    BadBaseUrl(String),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// A client for one Twilio API base URL, shared by every Twilio sender.
#[derive(Clone, Debug)]
pub struct MessagesClient {
    http: reqwest::Client,
    base_url: String,
}

impl MessagesClient {
    /// A client for `base_url` (e.g. [`DEFAULT_API_BASE`], or a fake's URL); each call fails
    /// with a timeout after `request_timeout`.
    pub fn new(base_url: &str, request_timeout: Duration) -> Result<Self, MessagesClientBuildError> {
        let http = reqwest::Client::builder().timeout(request_timeout).build()?;
        Self::with_http_client(http, base_url)
    }

    /// A client that uses `http` (its timeouts and pool) for `base_url`.
    pub fn with_http_client(http: reqwest::Client, base_url: &str) -> Result<Self, MessagesClientBuildError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let valid = reqwest::Url::parse(trimmed).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !valid {
            return Err(MessagesClientBuildError::BadBaseUrl(base_url.to_owned()));
        }
        Ok(Self { http, base_url: trimmed.to_owned() })
    }

    /// `{base}/2010-04-01/Accounts/{AccountSid}/Messages.json`.
    pub fn messages_url(&self, account_sid: &str) -> String {
        format!("{}/2010-04-01/Accounts/{account_sid}/Messages.json", self.base_url)
    }

    /// Creates the message; Twilio's resource on success. Validates first: a message that
    /// breaks Twilio's limits is refused without a call.
    pub async fn send(
        &self,
        credentials: &TwilioCredentials,
        message: &OutgoingMessage,
    ) -> Result<MessageResource, TwilioApiError> {
        message.validate().map_err(|e| TwilioApiError::refused(e.to_string()))?;
        let response = self
            .http
            .post(self.messages_url(credentials.account_sid()))
            .basic_auth(credentials.account_sid(), Some(credentials.auth_token().expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&message.form_fields())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after =
            retry_after_header(response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()));
        let body = response.bytes().await.map_err(transport_error)?;
        if !status.is_success() {
            let error = TwilioApiError::from_response(status.as_u16(), &body, retry_after);
            tracing::debug!(http_status = status.as_u16(), code = ?error.code, "Twilio refused a message");
            return Err(error);
        }
        serde_json::from_slice::<MessageResource>(&body)
            .ok()
            .filter(|m| !m.sid.trim().is_empty())
            .ok_or_else(|| TwilioApiError::unexpected_success(status.as_u16(), &body))
    }
}

fn transport_error(error: reqwest::Error) -> TwilioApiError {
    let failure = if error.is_timeout() {
        TransportFailure::Timeout
    } else if error.is_connect() {
        TransportFailure::Connect
    } else {
        TransportFailure::Other
    };
    // reqwest's message names the URL (base, API version, AccountSid), never the credentials
    TwilioApiError::transport(failure, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        let client = MessagesClient::new("http://127.0.0.1:9/", Duration::from_secs(1)).expect("valid");
        assert_eq!(
            client.messages_url("AC0123456789abcdef0123456789abcdef"),
            "http://127.0.0.1:9/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        );
        for bad in ["", "api.twilio.com", "ftp://api.twilio.com", "https://"] {
            assert!(matches!(
                MessagesClient::new(bad, Duration::from_secs(1)),
                Err(MessagesClientBuildError::BadBaseUrl(_))
            ));
        }
    }

    #[test]
    fn reads_twilio_message_resources() {
        let body = br#"{"account_sid": "AC0123456789abcdef0123456789abcdef", "api_version": "2010-04-01",
            "body": "Hello", "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": null,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api", "error_code": null,
            "error_message": null, "from": "whatsapp:+14155238886", "num_media": "0", "num_segments": "1",
            "price": null, "price_unit": null, "messaging_service_sid": null,
            "sid": "SM0123456789abcdef0123456789abcdef", "status": "queued",
            "subresource_uris": {"media": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM0123456789abcdef0123456789abcdef/Media.json"},
            "to": "whatsapp:+5511987654321",
            "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM0123456789abcdef0123456789abcdef.json"}"#;
        let m: MessageResource = serde_json::from_slice(body).expect("parses");
        assert_eq!((m.sid.as_str(), m.status.as_deref()), ("SM0123456789abcdef0123456789abcdef", Some("queued")));
        assert_eq!(m.direction.as_deref(), Some("outbound-api"));
    }
}
