//! One HTTP attempt of a chat call, shared by the provider clients.
//!
//! This module owns what is the same for every provider: building the `reqwest` client and the
//! endpoint URL, sending one POST, describing a transport failure (without the URL, which could
//! carry credentials, and with the underlying cause), and turning an unsuccessful HTTP answer
//! into an [`LlmError`] of the right kind with its retry hints and request id. The
//! provider-specific part, reading the error body, arrives as a [`ProviderErrorBody`].
//!
//! Which statuses are worth retrying follows the official OpenAI and Anthropic SDKs: 408, 409,
//! 429 and every 5xx (Anthropic's 529 "overloaded" included), unless the provider says
//! otherwise with `x-should-retry`. A 429 that means "out of credit" is not retried.

use super::error::{body_excerpt, redact_secret, ClientBuildError, LlmError, LlmErrorKind};
use super::retry_hint::RetryHint;
use reqwest::header::HeaderMap;
use reqwest::Url;
use std::time::Duration;
use time::OffsetDateTime;

/// An HTTP answer, read in full.
pub(crate) struct HttpAnswer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What a provider's error body says, as its wire module read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderErrorBody {
    /// The human-readable message.
    pub message: Option<String>,
    /// The error's type (`invalid_request_error`, `overloaded_error`…).
    pub error_type: Option<String>,
    /// A finer code when the provider has one (OpenAI `code`, Anthropic `details.error_code`).
    pub code: Option<String>,
    /// A request id given in the body (Anthropic's `request_id`).
    pub request_id: Option<String>,
}

/// Parses and checks a base URL: absolute, `http` or `https`, with a host.
pub(crate) fn parse_base_url(base_url: &str) -> Result<Url, ClientBuildError> {
    Url::parse(base_url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| ClientBuildError::BadBaseUrl(base_url.to_owned()))
}

/// `base` with `segments` appended as path segments (a trailing slash on `base` is dropped).
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// The HTTP client for one provider: each attempt times out after `request_timeout`.
pub(crate) fn http_client(request_timeout: Duration) -> Result<reqwest::Client, ClientBuildError> {
    Ok(reqwest::Client::builder()
        .timeout(request_timeout)
        .connect_timeout(request_timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("confab/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Sends `request` and reads the whole answer, whatever its status.
pub(crate) async fn send(
    provider: &'static str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<HttpAnswer, LlmError> {
    let response = request.send().await.map_err(|e| transport_error(provider, &e, timeout))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| transport_error(provider, &e, timeout))?;
    Ok(HttpAnswer { status, headers, body: body.to_vec() })
}

/// A request that got no (complete) answer.
fn transport_error(provider: &'static str, error: &reqwest::Error, timeout: Duration) -> LlmError {
    let (kind, what) = if error.is_timeout() {
        (LlmErrorKind::Timeout, format!("no answer within {timeout:?}"))
    } else if error.is_connect() {
        (LlmErrorKind::Connect, "could not connect".to_owned())
    } else {
        (LlmErrorKind::Transport, "the connection failed".to_owned())
    };
    // reqwest's own text names the URL; the causes below it do not
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let message = if causes.is_empty() { what } else { format!("{what}: {}", causes.join(": ")) };
    LlmError::new(provider, kind, message)
}

/// Reads an unsuccessful answer into an error. `secret` is masked out of every text.
pub(crate) fn status_error(
    provider: &'static str,
    answer: &HttpAnswer,
    body: ProviderErrorBody,
    secret: Option<&str>,
) -> LlmError {
    let status = answer.status;
    let hint = RetryHint::from_headers(&answer.headers, OffsetDateTime::now_utc());
    let kind = kind_of(status, &body);
    let message = match &body.message {
        Some(message) => redact_secret(message.trim(), secret),
        None => match body_excerpt(&answer.body) {
            Some(excerpt) => format!("no error object in the body: {}", redact_secret(&excerpt, secret)),
            None => "no error object in the body (it is empty)".to_owned(),
        },
    };
    let header = |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request_id = body.request_id.clone().or_else(|| header("x-request-id")).or_else(|| header("request-id"));
    let retryable = hint.should_retry.unwrap_or(kind.is_transient()) && kind != LlmErrorKind::QuotaExceeded;
    LlmError::new(provider, kind, message)
        .with_http_status(status)
        .with_retryable(retryable)
        .with_retry_after(hint.after)
        .with_request_id(request_id)
        .with_provider_code(body.code.or(body.error_type))
}

fn kind_of(status: u16, body: &ProviderErrorBody) -> LlmErrorKind {
    let text = body.message.as_deref().unwrap_or_default().to_ascii_lowercase();
    let is = |value: &str| body.code.as_deref() == Some(value) || body.error_type.as_deref() == Some(value);
    let out_of_credit = is("insufficient_quota")
        || is("enforced_spend_limit_reached")
        || text.contains("credit balance is too low")
        || text.contains("exceeded your current quota");
    let context_too_long = is("context_length_exceeded")
        || text.contains("prompt is too long")
        || text.contains("maximum context length")
        || text.contains("context window");
    match status {
        401 | 403 => LlmErrorKind::Unauthorized,
        404 => LlmErrorKind::NotFound,
        408 => LlmErrorKind::Timeout,
        409 => LlmErrorKind::Server,
        _ if (400..500).contains(&status) && out_of_credit => LlmErrorKind::QuotaExceeded,
        429 => LlmErrorKind::RateLimited,
        _ if (400..500).contains(&status) && context_too_long => LlmErrorKind::ContextTooLong,
        500..=599 => LlmErrorKind::Server,
        _ => LlmErrorKind::BadRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn answer(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> HttpAnswer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        HttpAnswer { status, headers: map, body: body.as_bytes().to_vec() }
    }

    fn body(message: &str, error_type: &str, code: Option<&str>) -> ProviderErrorBody {
        ProviderErrorBody {
            message: Some(message.into()),
            error_type: Some(error_type.into()),
            code: code.map(Into::into),
            request_id: None,
        }
    }

    #[test]
    fn statuses_map_to_kinds_and_retryability() {
        let table: &[(u16, ProviderErrorBody, LlmErrorKind, bool)] = &[
            (429, body("Rate limit reached", "requests", Some("rate_limit_exceeded")), LlmErrorKind::RateLimited, true),
            (
                429,
                body("You exceeded your current quota", "insufficient_quota", Some("insufficient_quota")),
                LlmErrorKind::QuotaExceeded,
                false,
            ),
            (
                429,
                body("Spend limit", "rate_limit_error", Some("enforced_spend_limit_reached")),
                LlmErrorKind::QuotaExceeded,
                false,
            ),
            (
                400,
                body("Your credit balance is too low to access the Anthropic API.", "invalid_request_error", None),
                LlmErrorKind::QuotaExceeded,
                false,
            ),
            (
                400,
                body(
                    "This model's maximum context length is 128000 tokens.",
                    "invalid_request_error",
                    Some("context_length_exceeded"),
                ),
                LlmErrorKind::ContextTooLong,
                false,
            ),
            (
                400,
                body("prompt is too long: 210000 tokens > 200000 maximum", "invalid_request_error", None),
                LlmErrorKind::ContextTooLong,
                false,
            ),
            (400, body("messages: field required", "invalid_request_error", None), LlmErrorKind::BadRequest, false),
            (401, body("invalid x-api-key", "authentication_error", None), LlmErrorKind::Unauthorized, false),
            (403, body("no", "permission_error", None), LlmErrorKind::Unauthorized, false),
            (404, body("model: claude-9", "not_found_error", None), LlmErrorKind::NotFound, false),
            (408, ProviderErrorBody::default(), LlmErrorKind::Timeout, true),
            (409, ProviderErrorBody::default(), LlmErrorKind::Server, true),
            (413, body("too large", "request_too_large", None), LlmErrorKind::BadRequest, false),
            (500, body("internal", "api_error", None), LlmErrorKind::Server, true),
            (503, ProviderErrorBody::default(), LlmErrorKind::Server, true),
            (529, body("Overloaded", "overloaded_error", None), LlmErrorKind::Server, true),
        ];
        for (status, parsed, kind, retryable) in table.iter().cloned() {
            let e = status_error("p", &answer(status, &[], "{}"), parsed, None);
            assert_eq!((e.kind(), e.is_retryable(), e.http_status()), (kind, retryable, Some(status)), "HTTP {status}");
        }
    }

    #[test]
    fn headers_give_hints_and_ids_and_override_retryability() {
        let e = status_error(
            "openai",
            &answer(429, &[("retry-after", "3"), ("x-request-id", "req_abc")], ""),
            body("slow down", "requests", None),
            None,
        );
        assert_eq!((e.retry_after(), e.request_id()), (Some(Duration::from_secs(3)), Some("req_abc")));
        let e = status_error("p", &answer(500, &[("x-should-retry", "false")], ""), ProviderErrorBody::default(), None);
        assert!(!e.is_retryable());
        let e = status_error("p", &answer(400, &[("x-should-retry", "true")], ""), body("x", "y", None), None);
        assert!(e.is_retryable());
        let e =
            status_error("anthropic", &answer(500, &[("request-id", "req_h")], ""), ProviderErrorBody::default(), None);
        assert_eq!(e.request_id(), Some("req_h"));
    }

    #[test]
    fn messages_never_show_the_key_and_odd_bodies_are_described() {
        let e =
            status_error("p", &answer(401, &[], ""), body("bad key sekrit-1234", "auth", None), Some("sekrit-1234"));
        assert_eq!(e.message(), "bad key [redacted]");
        let e = status_error(
            "p",
            &answer(502, &[], "<html>\n<h1>502 Bad Gateway</h1></html>"),
            ProviderErrorBody::default(),
            None,
        );
        assert_eq!(e.message(), "no error object in the body: <html> <h1>502 Bad Gateway</h1></html>");
        let e = status_error("p", &answer(503, &[], ""), ProviderErrorBody::default(), None);
        assert_eq!(e.message(), "no error object in the body (it is empty)");
    }

    #[test]
    fn endpoints_and_base_urls() {
        let base = parse_base_url("https://api.openai.com/v1/").unwrap();
        assert_eq!(endpoint(&base, &["chat", "completions"]).as_str(), "https://api.openai.com/v1/chat/completions");
        let base = parse_base_url("http://127.0.0.1:11434/v1").unwrap();
        assert_eq!(endpoint(&base, &["chat", "completions"]).as_str(), "http://127.0.0.1:11434/v1/chat/completions");
        for bad in ["api.openai.com", "ftp://x", "", "http://"] {
            assert!(matches!(parse_base_url(bad), Err(ClientBuildError::BadBaseUrl(_))), "{bad}");
        }
    }
}
