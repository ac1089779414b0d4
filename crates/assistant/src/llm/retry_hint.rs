//! What a provider's response headers say about trying again.
//!
//! This module owns reading `Retry-After` (delay-seconds or an HTTP date, RFC 9110 §10.2.3),
//! `retry-after-ms` (milliseconds, sent by OpenAI and Azure OpenAI and honoured by both
//! official SDKs) and `x-should-retry` (`true`/`false`: the provider's own verdict, which the
//! official OpenAI and Anthropic SDKs let override the status code).
//!
//! It does not decide whether to retry; `retry` does, with these hints.

use reqwest::header::HeaderMap;
use std::time::Duration;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// The retry hints of one response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryHint {
    /// How long to wait before the next attempt.
    pub after: Option<Duration>,
    /// The provider's explicit verdict, when it gave one.
    pub should_retry: Option<bool>,
}

impl RetryHint {
    /// Reads `headers`, resolving an HTTP-date `Retry-After` against `now`.
    pub fn from_headers(headers: &HeaderMap, now: OffsetDateTime) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let after = header("retry-after-ms")
            .and_then(parse_retry_after_ms)
            .or_else(|| header("retry-after").and_then(|v| parse_retry_after(v, now)));
        let should_retry = match header("x-should-retry").map(str::trim) {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        Self { after, should_retry }
    }
}

/// `Retry-After`: a number of seconds, or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`),
/// which gives the time left until then (zero if it has passed).
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let left = at - now;
    Some(if left.is_positive() { left.unsigned_abs() } else { Duration::ZERO })
}

/// `retry-after-ms`: milliseconds, possibly fractional.
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let millis = value.trim().parse::<f64>().ok()?;
    Duration::try_from_secs_f64(millis / 1000.0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2015-10-21 07:27:30 UTC);

    #[test]
    fn seconds_and_http_dates() {
        assert_eq!(parse_retry_after("7", NOW), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", NOW), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5", NOW), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", NOW), Some(Duration::ZERO));
        for odd in ["-3", "soon", "", "NaN", "inf"] {
            assert_eq!(parse_retry_after(odd, NOW), None, "{odd}");
        }
        assert_eq!(parse_retry_after_ms("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_retry_after_ms("12.5"), Some(Duration::from_micros(12_500)));
        assert_eq!(parse_retry_after_ms("x"), None);
    }

    #[test]
    fn headers_prefer_milliseconds_and_read_the_verdict() {
        let mut headers = HeaderMap::new();
        assert_eq!(RetryHint::from_headers(&headers, NOW), RetryHint::default());
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(RetryHint::from_headers(&headers, NOW).after, Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("150"));
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
        let hint = RetryHint::from_headers(&headers, NOW);
        assert_eq!(hint, RetryHint { after: Some(Duration::from_millis(150)), should_retry: Some(false) });
    }
}
