//! An honest fake of Twilio's Messages API for WhatsApp, served on `127.0.0.1:0`.
//!
//! It answers the way Twilio does, so confab's `MessagesClient`, outbox and status handling
//! can be tested end to end without Twilio:
//! - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form-encoded, HTTP Basic auth
//!   `AccountSid:AuthToken`) creates a message: `201 Created` with Twilio's Message resource
//!   (`sid: "SM…"`, `status: "queued"`, `direction: "outbound-api"`, RFC 2822 dates, `uri`,
//!   `subresource_uris`…); or Twilio's error JSON `{code, message, more_info, status}`:
//!   401/20003 for missing or wrong credentials (or a path AccountSid that is not the
//!   authenticated one), 400/21604 and 21603 for a missing `To`/`From`, 400/21211 and 21212
//!   for ones that are not `whatsapp:+E164`, 400/21619 without `Body`, `MediaUrl` or
//!   `ContentSid`, 400/21617 for a `Body` over 1600 characters, 400/21655 for a malformed
//!   `ContentSid`, 400/21656 for `ContentVariables` that are not a JSON object of strings.
//!   Any other path is 404/20404.
//! - every request is recorded (path, account, whether it authenticated, the decoded form,
//!   what was answered): [`FakeTwilioApi::requests`], [`FakeTwilioApi::sent`].
//! - failures can be injected: [`FakeTwilioApi::fail_next`] with a [`Failure::Reject`]
//!   answers the next accepted request with a Twilio error (and `Retry-After` when given);
//!   [`Failure::FailLater`] accepts the message (201 queued) and then reports it `failed` or
//!   `undelivered` with the error code by status callback — as Twilio does for most WhatsApp
//!   errors (63016 outside the window, 63024 invalid recipient, 63032…).
//! - when a message has a status callback URL — its own `StatusCallback` parameter, else the
//!   fake's default (as a Messaging Service's) — signed status callbacks follow, posted in
//!   order from a background task: `queued`, `sent`, `delivered`, `read` by default
//!   ([`FakeTwilioConfig::progression`]). They are signed over that URL with the account's
//!   auth token; [`FakeTwilioConfig::deliver_callbacks_to`] sends them to another origin
//!   while keeping the signed URL, as a reverse proxy in front of confab would.
//!   [`FakeTwilioApi::wait_for_callbacks`] awaits them without sleeping;
//!   [`FakeTwilioApi::post_status`] posts one more by hand (late, repeated, out of order).
//!
//! Deliberate differences from Twilio: SIDs are sequential; only WhatsApp addresses are
//! accepted; any `From` number is accepted (Twilio refuses numbers that are not the
//! account's WhatsApp senders with 63007, which [`Failure::Reject`] can simulate).

use crate::twilio_webhook::status_callback_form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use confab_channels::twilio::{parse_address, sign, ChannelAddress, FormBody, SIGNATURE_HEADER};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What the fake serves and how it reports statuses.
#[derive(Clone, Debug)]
pub struct FakeTwilioConfig {
    /// Accounts the fake knows: AccountSid → auth token.
    pub accounts: Vec<(String, String)>,
    /// Statuses posted after an accepted send, in order.
    pub progression: Vec<String>,
    /// Status callback URL for messages sent without one (a Messaging Service's).
    pub default_status_callback: Option<String>,
    /// Post callbacks to this origin (`http://127.0.0.1:1234`) instead of the callback URL's,
    /// still signing the callback URL.
    pub deliver_callbacks_to: Option<String>,
    /// Post status callbacks at all (on by default).
    pub status_callbacks: bool,
    /// How long [`FakeTwilioApi::wait_for_callbacks`] waits; 10 seconds by default.
    pub wait_timeout: Duration,
}

impl Default for FakeTwilioConfig {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            progression: ["queued", "sent", "delivered", "read"].map(String::from).to_vec(),
            default_status_callback: None,
            deliver_callbacks_to: None,
            status_callbacks: true,
            wait_timeout: Duration::from_secs(10),
        }
    }
}

impl FakeTwilioConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `account_sid`, accepting only `auth_token` for it.
    pub fn with_account(mut self, account_sid: impl Into<String>, auth_token: impl Into<String>) -> Self {
        self.accounts.push((account_sid.into(), auth_token.into()));
        self
    }

    pub fn with_progression(mut self, statuses: &[&str]) -> Self {
        self.progression = statuses.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn with_default_status_callback(mut self, url: impl Into<String>) -> Self {
        self.default_status_callback = Some(url.into());
        self
    }

    pub fn delivering_callbacks_to(mut self, origin: impl Into<String>) -> Self {
        self.deliver_callbacks_to = Some(origin.into());
        self
    }

    pub fn without_status_callbacks(mut self) -> Self {
        self.status_callbacks = false;
        self
    }
}

/// A failure to inject into the next accepted request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Answer with Twilio's error JSON and this HTTP status (and `Retry-After`, seconds).
    Reject { http_status: u16, code: i64, message: String, retry_after: Option<u64> },
    /// Accept (201 queued), then report `status` (`failed` or `undelivered`) with this error
    /// by status callback, after `queued`.
    FailLater { status: String, code: i64, message: String },
}

impl Failure {
    pub fn reject(http_status: u16, code: i64, message: impl Into<String>) -> Self {
        Self::Reject { http_status, code, message: message.into(), retry_after: None }
    }

    pub fn fail_later(status: &str, code: i64, message: impl Into<String>) -> Self {
        Self::FailLater { status: status.to_owned(), code, message: message.into() }
    }

    /// 429/20429 "Too Many Requests" with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::Reject {
            http_status: 429,
            code: 20429,
            message: "Too Many Requests".into(),
            retry_after: Some(retry_after_secs),
        }
    }

    /// 429/63018: the WhatsApp sender's rate limit.
    pub fn channel_rate_limit() -> Self {
        Self::reject(429, 63018, "Rate limit exceeded for Channel")
    }

    /// 500/20500: Twilio's internal server error.
    pub fn server_error() -> Self {
        Self::reject(500, 20500, "Internal Server Error")
    }

    /// 63016 by status callback: free-form message outside the 24-hour window.
    pub fn outside_window() -> Self {
        Self::fail_later(
            "undelivered",
            63016,
            "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.",
        )
    }

    /// 63024 by status callback: the recipient is not a valid WhatsApp user.
    pub fn invalid_recipient() -> Self {
        Self::fail_later("failed", 63024, "Invalid message recipient")
    }
}

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub path: String,
    /// The AccountSid in the path, when the path has one.
    pub account_sid: Option<String>,
    /// Whether the Basic credentials matched the path's account.
    pub authenticated: bool,
    /// The decoded form.
    pub form: FormBody,
    /// What the fake answered.
    pub http_status: u16,
    /// The message SID given, when the message was accepted.
    pub message_sid: Option<String>,
    pub at: OffsetDateTime,
}

impl RecordedRequest {
    /// The first value of form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.get(name)
    }

    /// Every value of form field `name` (`MediaUrl` repeats).
    pub fn fields(&self, name: &str) -> Vec<&str> {
        self.form.pairs().iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// One status callback the fake posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedCallback {
    pub message_sid: String,
    pub status: String,
    /// The URL signed (the configured callback URL).
    pub url: String,
    /// What the receiver answered; `None` if the post itself failed.
    pub http_status: Option<u16>,
}

/// A message the fake accepted, kept to post its callbacks.
#[derive(Clone, Debug)]
struct Accepted {
    account_sid: String,
    from: String,
    to: String,
    status_callback: Option<String>,
}

struct Shared {
    config: FakeTwilioConfig,
    tokens: HashMap<String, String>,
    state: Mutex<FakeState>,
    http: reqwest::Client,
}

#[derive(Default)]
struct FakeState {
    requests: Vec<RecordedRequest>,
    failures: VecDeque<Failure>,
    next_sid: u64,
    accepted: HashMap<String, Accepted>,
    callbacks: Vec<PostedCallback>,
    posting: Vec<JoinHandle<()>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        // a panicking test thread must not hide the recordings from the others
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeTwilioApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _shutdown: oneshot::Sender<()>,
}

impl FakeTwilioApi {
    /// Starts the fake on `127.0.0.1:0`.
    pub async fn start(config: FakeTwilioConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            tokens: config.accounts.iter().cloned().collect(),
            config,
            state: Mutex::new(FakeState::default()),
            http,
        });
        let app = Router::new()
            .route("/2010-04-01/Accounts/{account_sid}/Messages.json", post(create_message))
            .fallback(not_found)
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                eprintln!("fake Twilio API stopped: {err}");
            }
        });
        Ok(Self { addr, shared, _shutdown: tx })
    }

    /// The base URL to give `MessagesClient` (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next accepted requests with these failures, in order.
    pub fn fail_next(&self, failure: Failure) {
        self.shared.state().failures.push_back(failure);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// The requests that created a message.
    pub fn sent(&self) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.message_sid.is_some()).collect()
    }

    /// Every status callback posted so far, in posting order.
    pub fn callbacks(&self) -> Vec<PostedCallback> {
        self.shared.state().callbacks.clone()
    }

    /// Waits until every status callback started so far has been posted (or the configured
    /// timeout passes); returns them all.
    pub async fn wait_for_callbacks(&self) -> Vec<PostedCallback> {
        let deadline = tokio::time::Instant::now() + self.shared.config.wait_timeout;
        loop {
            let posting = std::mem::take(&mut self.shared.state().posting);
            if posting.is_empty() {
                break;
            }
            for task in posting {
                let _ = tokio::time::timeout_at(deadline, task).await;
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        self.callbacks()
    }

    /// Posts one status callback for an accepted message now (for late, repeated or
    /// out-of-order statuses); `error` is `(ErrorCode, ErrorMessage)`. Returns the receiver's
    /// HTTP status, or `None` when the message had no callback URL or the post failed.
    pub async fn post_status(&self, message_sid: &str, status: &str, error: Option<(i64, &str)>) -> Option<u16> {
        let accepted = self.shared.state().accepted.get(message_sid).cloned()?;
        let url = accepted.status_callback.clone()?;
        post_callback(&self.shared, &accepted, message_sid, status, error, &url).await
    }
}

async fn not_found() -> Response {
    twilio_error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found", None)
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormBody::parse(&body);
    let authenticated = basic_auth(&headers).is_some_and(|(user, password)| {
        user == account_sid && shared.tokens.get(&user).is_some_and(|token| *token == password)
    });
    let mut record = RecordedRequest {
        path: format!("/2010-04-01/Accounts/{account_sid}/Messages.json"),
        account_sid: Some(account_sid.clone()),
        authenticated,
        form: form.clone(),
        http_status: 0,
        message_sid: None,
        at: OffsetDateTime::now_utc(),
    };
    let outcome = if authenticated { accept(&shared, &account_sid, &form) } else { Err(Rejection::Unauthenticated) };
    let response = match outcome {
        Ok((sid, resource, accepted, failure)) => {
            record.message_sid = Some(sid.clone());
            let mut state = shared.state();
            state.accepted.insert(sid.clone(), accepted.clone());
            if shared.config.status_callbacks {
                if let Some(url) = accepted.status_callback.clone() {
                    let statuses = match failure {
                        Some((status, code, message)) => {
                            vec![("queued".to_owned(), None), (status, Some((code, message)))]
                        }
                        None => shared.config.progression.iter().map(|s| (s.clone(), None)).collect(),
                    };
                    let task_shared = shared.clone();
                    state.posting.push(tokio::spawn(async move {
                        for (status, error) in statuses {
                            let error = error.as_ref().map(|(c, m): &(i64, String)| (*c, m.as_str()));
                            post_callback(&task_shared, &accepted, &sid, &status, error, &url).await;
                        }
                    }));
                }
            }
            (StatusCode::CREATED, Json(resource)).into_response()
        }
        Err(rejection) => rejection.into_response(),
    };
    record.http_status = response.status().as_u16();
    shared.state().requests.push(record);
    response
}

/// Why a request was not accepted.
enum Rejection {
    Unauthenticated,
    Error { status: StatusCode, code: i64, message: String, retry_after: Option<u64> },
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthenticated => unauthenticated(),
            Self::Error { status, code, message, retry_after } => twilio_error(status, code, &message, retry_after),
        }
    }
}

type Acceptance = (String, Value, Accepted, Option<(String, i64, String)>);

/// Validates the form and consumes an injected failure; the new message or Twilio's error.
fn accept(shared: &Shared, account_sid: &str, form: &FormBody) -> Result<Acceptance, Rejection> {
    let bad =
        |code, message: String| Rejection::Error { status: StatusCode::BAD_REQUEST, code, message, retry_after: None };
    let to = form.text("To").ok_or_else(|| bad(21604, "A 'To' phone number is required.".into()))?;
    let from = form.text("From").ok_or_else(|| bad(21603, "A 'From' phone number is required.".into()))?;
    let whatsapp_number = |raw: &str| match parse_address(raw) {
        Some(ChannelAddress::Phone { number, whatsapp: true }) => Some(number),
        _ => None,
    };
    let to_number =
        whatsapp_number(to).ok_or_else(|| bad(21211, format!("The 'To' number {to} is not a valid phone number.")))?;
    let from_number = whatsapp_number(from).ok_or_else(|| {
        bad(
            21212,
            format!("The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."),
        )
    })?;
    let body = form.get("Body").unwrap_or_default();
    let has_media = form.text("MediaUrl").is_some();
    let content_sid = form.text("ContentSid");
    if body.trim().is_empty() && !has_media && content_sid.is_none() {
        return Err(bad(21619, "A text message body or media urls must be specified.".into()));
    }
    if body.chars().count() > 1600 {
        return Err(bad(21617, "The concatenated message body exceeds the 1600 character limit.".into()));
    }
    if let Some(sid) = content_sid {
        if !(sid.len() == 34 && sid.starts_with("HX") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(bad(21655, "The ContentSid is Invalid.".into()));
        }
    }
    if let Some(variables) = form.text("ContentVariables") {
        let valid = serde_json::from_str::<Value>(variables)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.values().all(Value::is_string)))
            .unwrap_or(false);
        if !valid {
            return Err(bad(21656, "The ContentVariables Parameter is invalid.".into()));
        }
    }
    let mut state = shared.state();
    let failure = state.failures.pop_front();
    let later = match failure {
        Some(Failure::Reject { http_status, code, message, retry_after }) => {
            let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::BAD_REQUEST);
            return Err(Rejection::Error { status, code, message, retry_after });
        }
        Some(Failure::FailLater { status, code, message }) => Some((status, code, message)),
        None => None,
    };
    state.next_sid += 1;
    let sid = format!("SM{:032x}", state.next_sid);
    drop(state);
    let now = OffsetDateTime::now_utc().format(&Rfc2822).unwrap_or_default();
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}");
    let num_media = form.pairs().iter().filter(|(k, _)| k == "MediaUrl").count();
    let resource = json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": now,
        "date_sent": null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": format!("whatsapp:{from_number}"),
        "messaging_service_sid": null,
        "num_media": num_media.to_string(),
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": { "media": format!("{uri}/Media.json") },
        "to": format!("whatsapp:{to_number}"),
        "uri": format!("{uri}.json"),
    });
    let accepted = Accepted {
        account_sid: account_sid.to_owned(),
        from: from_number.to_string(),
        to: to_number.to_string(),
        status_callback: form
            .text("StatusCallback")
            .map(str::to_owned)
            .or_else(|| shared.config.default_status_callback.clone()),
    };
    Ok((sid, resource, accepted, later))
}

/// Posts one signed status callback and records it.
async fn post_callback(
    shared: &Shared,
    message: &Accepted,
    message_sid: &str,
    status: &str,
    error: Option<(i64, &str)>,
    url: &str,
) -> Option<u16> {
    let form = status_callback_form(&message.account_sid, message_sid, status, &message.from, &message.to, error);
    let token = shared.tokens.get(&message.account_sid).cloned().unwrap_or_default();
    let signature = sign(&token, url, form.pairs());
    let target = match &shared.config.deliver_callbacks_to {
        Some(origin) => with_origin(url, origin),
        None => url.to_owned(),
    };
    let result = shared
        .http
        .post(target)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, "TwilioProxy/1.1")
        .header(SIGNATURE_HEADER, signature)
        .header("I-Twilio-Idempotency-Token", format!("{message_sid}-{status}"))
        .body(form.encode())
        .send()
        .await;
    let http_status = result.ok().map(|r| r.status().as_u16());
    shared.state().callbacks.push(PostedCallback {
        message_sid: message_sid.to_owned(),
        status: status.to_owned(),
        url: url.to_owned(),
        http_status,
    });
    http_status
}

/// `url` with its scheme and authority replaced by `origin`'s.
fn with_origin(url: &str, origin: &str) -> String {
    let path_start = url.find("://").and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j)).unwrap_or(url.len());
    format!("{}{}", origin.trim_end_matches('/'), &url[path_start..])
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn unauthenticated() -> Response {
    let body = json!({
        "code": 20003,
        "detail": "Your AccountSid or AuthToken was incorrect.",
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    });
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Twilio API\""));
    response
}

/// Twilio's error body.
fn twilio_error(status: StatusCode, code: i64, message: &str, retry_after: Option<u64>) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    let mut response = (status, Json(body)).into_response();
    if let Some(seconds) = retry_after {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_swapped_keeping_path_and_query() {
        assert_eq!(
            with_origin("https://confab.example.com/webhooks/twilio/status?x=1", "http://127.0.0.1:9"),
            "http://127.0.0.1:9/webhooks/twilio/status?x=1"
        );
        assert_eq!(with_origin("https://confab.example.com", "http://127.0.0.1:9/"), "http://127.0.0.1:9");
    }

    #[test]
    fn basic_auth_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic QUMxOnRva2VuOng="));
        assert_eq!(basic_auth(&headers), Some(("AC1".into(), "token:x".into())));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_auth(&headers), None);
    }
}
