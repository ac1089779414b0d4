//! A failed LLM call, as the provider answered it or as the network failed it.
//!
//! This module owns [`LlmError`]: what kind of failure it was, how many attempts were made, the
//! last HTTP status, the provider's request id, whether trying again could help (and when), a
//! message that is safe to show an operator, and the tokens billed by attempts that got an
//! answer we could not use. It also owns [`ClientBuildError`], for clients that cannot be made.
//!
//! Messages never contain the API key: clients pass every provider text through
//! [`redact_secret`] before it gets here, and transport errors are described without URLs.

use super::response::BilledAttempt;
use std::fmt;
use std::time::Duration;

/// What went wrong, in the terms a caller acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LlmErrorKind {
    /// No answer within the request timeout (or HTTP 408).
    Timeout,
    /// No connection could be made (refused, unreachable, DNS, TLS).
    Connect,
    /// The connection failed some other way (reset, truncated body).
    Transport,
    /// HTTP 429: too many requests or tokens for now.
    RateLimited,
    /// Out of credit or over a spending limit (OpenAI 429 `insufficient_quota`, Anthropic's
    /// spend limit or "credit balance is too low"): waiting will not help.
    QuotaExceeded,
    /// HTTP 5xx, Anthropic's 529 `overloaded_error`, or a 409 the provider asks us to retry.
    Server,
    /// HTTP 401 or 403: the API key is missing, wrong, or lacks permission.
    Unauthorized,
    /// HTTP 404: usually a model name the provider does not know.
    NotFound,
    /// The prompt is longer than the model's context window.
    ContextTooLong,
    /// Any other 4xx: the request itself is wrong.
    BadRequest,
    /// A 2xx answer whose body we could not read.
    MalformedResponse,
    /// The model's tool-call arguments are not valid JSON.
    MalformedToolArguments,
}

impl LlmErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Transport => "transport",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::Server => "server",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::ContextTooLong => "context_too_long",
            Self::BadRequest => "bad_request",
            Self::MalformedResponse => "malformed_response",
            Self::MalformedToolArguments => "malformed_tool_arguments",
        }
    }

    /// Whether the same request may succeed if sent again, absent other hints.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Timeout | Self::Connect | Self::Transport | Self::RateLimited | Self::Server)
    }
}

/// A chat call that did not produce a usable answer.
///
/// Boxed inside so `Result<ChatResponse, LlmError>` stays small.
#[derive(Clone, PartialEq)]
pub struct LlmError {
    inner: Box<Details>,
}

#[derive(Clone, Debug, PartialEq)]
struct Details {
    provider: &'static str,
    kind: LlmErrorKind,
    message: String,
    http_status: Option<u16>,
    attempts: u32,
    retryable: bool,
    retry_after: Option<Duration>,
    request_id: Option<String>,
    provider_code: Option<String>,
    billed: Vec<BilledAttempt>,
}

impl LlmError {
    /// One failed attempt at `provider` (e.g. `"openai"`). `message` must be safe to show: no
    /// secrets. Retryable when `kind` is transient.
    pub fn new(provider: &'static str, kind: LlmErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Details {
                provider,
                kind,
                message: message.into(),
                http_status: None,
                attempts: 1,
                retryable: kind.is_transient(),
                retry_after: None,
                request_id: None,
                provider_code: None,
                billed: Vec::new(),
            }),
        }
    }

    pub fn with_http_status(mut self, status: u16) -> Self {
        self.inner.http_status = Some(status);
        self
    }

    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = retryable;
        self
    }

    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.inner.retry_after = wait;
        self
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.inner.request_id = request_id;
        self
    }

    /// The provider's own error code or type, e.g. `rate_limit_exceeded`, `overloaded_error`.
    pub fn with_provider_code(mut self, code: Option<String>) -> Self {
        self.inner.provider_code = code;
        self
    }

    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// Adds tokens billed by an attempt whose answer was not used.
    pub fn with_billed(mut self, billed: impl IntoIterator<Item = BilledAttempt>) -> Self {
        self.inner.billed.extend(billed);
        self
    }

    /// Puts `earlier` (attempts before this one) ahead of this error's own billed attempts.
    pub(crate) fn with_earlier_billed(mut self, mut earlier: Vec<BilledAttempt>) -> Self {
        earlier.append(&mut self.inner.billed);
        self.inner.billed = earlier;
        self
    }

    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    pub fn kind(&self) -> LlmErrorKind {
        self.inner.kind
    }

    /// What went wrong, safe to show an operator (never the API key).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The last HTTP status received; `None` when no response arrived.
    pub fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// How many requests were sent, retries included.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Whether trying again later could succeed (the client's own retries are spent).
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// How long the provider asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The provider's id for the failed request, to quote to its support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    pub fn provider_code(&self) -> Option<&str> {
        self.inner.provider_code.as_deref()
    }

    /// Tokens billed by attempts that got an answer we could not use: record their cost.
    pub fn billed(&self) -> &[BilledAttempt] {
        &self.inner.billed
    }
}

impl fmt::Debug for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl fmt::Display for LlmError {
    /// `openai rate_limited (HTTP 429, 3 attempts): Rate limit reached… [request id req_1]`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.inner;
        write!(f, "{} {}", d.provider, d.kind.as_str())?;
        let attempts = if d.attempts == 1 { "1 attempt".to_owned() } else { format!("{} attempts", d.attempts) };
        match d.http_status {
            Some(status) => write!(f, " (HTTP {status}, {attempts})")?,
            None => write!(f, " ({attempts})")?,
        }
        write!(f, ": {}", d.message)?;
        if let Some(id) = &d.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for LlmError {}

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("the LLM base URL {0:?} is not an absolute http(s) URL")]
    BadBaseUrl(String),
    #[error("{0} needs an API key")]
    MissingApiKey(&'static str),
    #[error("the {0} API key contains characters an HTTP header cannot carry")]
    InvalidApiKey(&'static str),
    #[error("unknown LLM provider {0:?}: use `openai` (any OpenAI-compatible server) or `anthropic`")]
    UnknownProvider(String),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// `text` with every occurrence of `secret` replaced, and anything that looks like an API key
/// (`sk-…`, as OpenAI quotes a wrong key back in its 401 message) masked.
pub fn redact_secret(text: &str, secret: Option<&str>) -> String {
    let mut text = match secret.filter(|s| s.len() >= 4) {
        Some(secret) => text.replace(secret, "[redacted]"),
        None => text.to_owned(),
    };
    while let Some(start) = find_key_like(&text) {
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*')))
            .map_or(text.len(), |n| start + n);
        text.replace_range(start..end, "sk-[redacted]");
    }
    text
}

/// The start of an `sk-…` token longer than `sk-` itself that is not already masked.
fn find_key_like(text: &str) -> Option<usize> {
    text.match_indices("sk-").map(|(i, _)| i).find(|&i| {
        let before_ok = text[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
        let rest = &text[i + 3..];
        before_ok
            && !rest.starts_with("[redacted]")
            && rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '*')
    })
}

/// The start of a body that was not the provider's error JSON, on one line, for the record.
pub(crate) fn body_excerpt(body: &[u8]) -> Option<String> {
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
    use confab_domain::Usage;

    #[test]
    fn displays_everything_a_reader_needs() {
        let e = LlmError::new("openai", LlmErrorKind::RateLimited, "Rate limit reached")
            .with_http_status(429)
            .with_attempts(3)
            .with_request_id(Some("req_1".into()));
        assert_eq!(e.to_string(), "openai rate_limited (HTTP 429, 3 attempts): Rate limit reached [request id req_1]");
        assert!(e.is_retryable());
        let t = LlmError::new("anthropic", LlmErrorKind::Timeout, "timed out after 5s");
        assert_eq!(t.to_string(), "anthropic timeout (1 attempt): timed out after 5s");
        assert!(!LlmError::new("x", LlmErrorKind::BadRequest, "no").is_retryable());
        assert!(!LlmError::new("x", LlmErrorKind::QuotaExceeded, "no").is_retryable());
    }

    #[test]
    fn carries_billed_attempts() {
        let usage = Usage { input_tokens: 5, output_tokens: 7, cached_input_tokens: 0 };
        let e = LlmError::new("openai", LlmErrorKind::MalformedToolArguments, "bad")
            .with_billed([BilledAttempt { model: "m".into(), usage }]);
        assert_eq!(e.billed(), &[BilledAttempt { model: "m".into(), usage }]);
    }

    #[test]
    fn stays_small_enough_to_return_in_results() {
        assert_eq!(std::mem::size_of::<LlmError>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn redacts_keys() {
        assert_eq!(redact_secret("key abcdef123 is wrong", Some("abcdef123")), "key [redacted] is wrong");
        assert_eq!(
            redact_secret("Incorrect API key provided: sk-proj-abc***********************xyz1. You can find", None),
            "Incorrect API key provided: sk-[redacted]. You can find"
        );
        assert_eq!(redact_secret("task-force sk- alone", None), "task-force sk- alone");
        assert_eq!(redact_secret("short", Some("ab")), "short");
    }

    #[test]
    fn excerpts_odd_bodies() {
        assert_eq!(body_excerpt(b"<html>\n 502 </html>").as_deref(), Some("<html> 502 </html>"));
        assert_eq!(body_excerpt(b"  "), None);
        assert_eq!(body_excerpt("x".repeat(300).as_bytes()).map(|e| e.chars().count()), Some(201));
    }
}
