//! What to do about a failed Twilio send: try again (and when), or give up (and why).
//!
//! This module owns the table from Twilio's error codes to an [`ErrorClass`], which the outbox
//! uses to decide between rescheduling a send and marking the message `failed` (and, for bad
//! credentials or a number Twilio does not know as ours, flagging the sender for a person).
//! A known code decides first; for codes the table does not know, the HTTP status decides
//! (5xx and 429 retry, 401 and 403 point at the sender's credentials, other 4xx fail), and a
//! call that got no response at all is retried.
//!
//! Sources: Twilio's error dictionary pages (`/docs/api/errors/<code>`) for each code listed,
//! and the WhatsApp guides: 63016 is the 24-hour window (send a Content template with
//! `ContentSid`); 63018 and 20429 are rate limits (slow down, retry); 63038 is the account's
//! daily limit (retry after the rolling window moves on); 63003/63024/63032 are
//! recipient-side refusals; 20003 is authentication (the AccountSid or AuthToken is wrong).
//! Many WhatsApp errors arrive later, in a `failed`/`undelivered` status callback, rather than
//! from the API call; [`describe_code`] titles those when Twilio sends no `ErrorMessage`.
//!
//! A retry is not free of risk: Twilio's Messages API has no idempotency key, so a call that
//! timed out after Twilio accepted it is sent twice if retried. The outbox should cap attempts.
//! This module only classifies; it does not sleep, count attempts or log.

use super::api_error::{ApiErrorKind, TwilioApiError};
use std::time::Duration;

/// How long to wait after Twilio's daily account limit (63038) when it gives no hint: the
/// limit is over a rolling 24 hours, so retrying within minutes only fails again.
pub const DAILY_LIMIT_WAIT: Duration = Duration::from_secs(60 * 60);

/// Try again, or give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient: send the same request again, no sooner than `after` when given (otherwise
    /// with the caller's own backoff).
    Retry { after: Option<Duration> },
    /// Permanent for this message: record it as failed.
    Fail { reason: FailReason },
}

/// Why a message cannot be sent, in the terms the engine acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// 63016: more than 24 hours since the customer last wrote; only a template can go out.
    OutsideWindow,
    /// 20003, 20404, 21212, 21408, 21606, 30002, 63001, 63002, 63007, 63008, or HTTP 401/403:
    /// the credentials are wrong, the account is suspended, or the `From` number is not a
    /// WhatsApp sender of this account. Every send through the sender fails the same way.
    SenderNeedsAttention,
    /// 21211, 21610, 21614, 63003, 63024, 63032, 63049…: the recipient cannot or will not get
    /// this message (not on WhatsApp, opted out, a WhatsApp limitation).
    Recipient,
    /// 21617, 21619, 21655, 21656, 63005, 63013, 63019, 63021, 63027, 63028, 63030: the message
    /// itself is wrong (too long, empty, a bad template or variables, a policy violation).
    Content,
    /// Anything else, including an HTTP 2xx without a message sid (it may have been sent).
    Other,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutsideWindow => "outside_window",
            Self::SenderNeedsAttention => "sender_needs_attention",
            Self::Recipient => "recipient",
            Self::Content => "content",
            Self::Other => "other",
        }
    }

    /// Whether the sender (its credentials or number), not this message, is what is wrong.
    pub fn needs_sender_attention(self) -> bool {
        self == Self::SenderNeedsAttention
    }
}

#[derive(Clone, Copy)]
enum Class {
    Retry,
    DailyLimit,
    Window,
    Sender,
    Recipient,
    Content,
}

/// Codes confab knows: what they mean (a fallback title when Twilio sends none) and what to do.
const CODES: &[(i64, Class, &str)] = &[
    (20003, Class::Sender, "Authentication failed: the AccountSid or AuthToken is wrong"),
    (20404, Class::Sender, "The Twilio account or resource was not found"),
    (20429, Class::Retry, "Too many requests"),
    (20500, Class::Retry, "Twilio internal server error"),
    (20503, Class::Retry, "Twilio service unavailable"),
    (21211, Class::Recipient, "Invalid 'To' phone number"),
    (21212, Class::Sender, "Invalid 'From' phone number"),
    (21408, Class::Sender, "Permission to send to this region is not enabled"),
    (21606, Class::Sender, "The 'From' number is not a valid message-capable number of this account"),
    (21610, Class::Recipient, "The recipient has unsubscribed (replied STOP)"),
    (21611, Class::Retry, "The 'From' number has too many queued messages"),
    (21614, Class::Recipient, "The 'To' number is not a valid mobile number"),
    (21617, Class::Content, "The message body exceeds the 1600 character limit"),
    (21619, Class::Content, "A text body, media URL or content SID is required"),
    (21655, Class::Content, "The ContentSid is invalid"),
    (21656, Class::Content, "The ContentVariables parameter is invalid"),
    (30001, Class::Retry, "Queue overflow"),
    (30002, Class::Sender, "The Twilio account is suspended"),
    (63001, Class::Sender, "Channel authentication failed"),
    (63002, Class::Sender, "The channel could not find the From address"),
    (63003, Class::Recipient, "The channel could not find the To address"),
    (63005, Class::Content, "The channel did not accept the content"),
    (63007, Class::Sender, "Twilio could not find a WhatsApp sender with the specified From address"),
    (63008, Class::Sender, "The channel is misconfigured"),
    (63009, Class::Retry, "The channel provider returned an internal service error"),
    (63010, Class::Retry, "Twilio's platform encountered an internal error processing this message"),
    (63013, Class::Content, "This message violates a channel policy"),
    (63016, Class::Window, "Outside the 24-hour window: a free-form message cannot be sent; use a template"),
    (63017, Class::Retry, "Rate limit exceeded"),
    (63018, Class::Retry, "Rate limit exceeded for the channel"),
    (63019, Class::Content, "The media failed to download"),
    (63021, Class::Content, "The channel rejected the content as invalid"),
    (63024, Class::Recipient, "Invalid message recipient"),
    (63027, Class::Content, "The template does not exist for this language and locale"),
    (63028, Class::Content, "The number of template parameters does not match the template"),
    (63030, Class::Content, "Unsupported parameter for this type of channel message"),
    (63032, Class::Recipient, "This message cannot be sent to this user because of a WhatsApp limitation"),
    (63038, Class::DailyLimit, "The account exceeded its daily messages limit"),
    (63049, Class::Recipient, "Meta chose not to deliver this WhatsApp marketing message"),
];

/// What Twilio's error `code` means, when confab knows it.
pub fn describe_code(code: i64) -> Option<&'static str> {
    CODES.iter().find(|(c, _, _)| *c == code).map(|(_, _, title)| *title)
}

/// What to do about `error`.
pub fn classify(error: &TwilioApiError) -> ErrorClass {
    match error.kind {
        ApiErrorKind::Transport(_) => ErrorClass::Retry { after: error.retry_after },
        ApiErrorKind::Refused => ErrorClass::Fail { reason: FailReason::Content },
        ApiErrorKind::Response => classify_response(error.http_status.unwrap_or(0), error.code, error.retry_after),
    }
}

/// What to do about a response with `http_status` and Twilio's `code`; `hint` is the
/// `Retry-After` Twilio gave, if any.
pub fn classify_response(http_status: u16, code: Option<i64>, hint: Option<Duration>) -> ErrorClass {
    let known = code.and_then(|code| CODES.iter().find(|(c, _, _)| *c == code)).map(|(_, class, _)| *class);
    let fail = |reason| ErrorClass::Fail { reason };
    match known {
        Some(Class::Retry) => ErrorClass::Retry { after: hint },
        Some(Class::DailyLimit) => ErrorClass::Retry { after: Some(hint.unwrap_or(DAILY_LIMIT_WAIT)) },
        Some(Class::Window) => fail(FailReason::OutsideWindow),
        Some(Class::Sender) => fail(FailReason::SenderNeedsAttention),
        Some(Class::Recipient) => fail(FailReason::Recipient),
        Some(Class::Content) => fail(FailReason::Content),
        None => match http_status {
            429 | 500..=599 => ErrorClass::Retry { after: hint },
            401 | 403 => fail(FailReason::SenderNeedsAttention),
            // other 4xx, and a 2xx we could not use
            _ => fail(FailReason::Other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::api_error::TransportFailure;

    fn response(status: u16, code: Option<i64>) -> ErrorClass {
        classify_response(status, code, None)
    }

    #[test]
    fn the_codes_the_whatsapp_guides_name() {
        assert_eq!(response(400, Some(63016)), ErrorClass::Fail { reason: FailReason::OutsideWindow });
        for code in [63018, 20429, 63017, 20500, 20503, 63009, 63010, 30001, 21611] {
            assert_eq!(response(429, Some(code)), ErrorClass::Retry { after: None }, "{code}");
        }
        assert_eq!(response(400, Some(63038)), ErrorClass::Retry { after: Some(DAILY_LIMIT_WAIT) });
        assert_eq!(
            classify_response(429, Some(63038), Some(Duration::from_secs(5))),
            ErrorClass::Retry { after: Some(Duration::from_secs(5)) }
        );
        for code in [63003, 63024, 63032, 21211, 21610, 63049] {
            assert_eq!(response(400, Some(code)), ErrorClass::Fail { reason: FailReason::Recipient }, "{code}");
        }
        for code in [20003, 63007, 21606, 30002] {
            let class = response(401, Some(code));
            assert_eq!(class, ErrorClass::Fail { reason: FailReason::SenderNeedsAttention }, "{code}");
        }
        assert_eq!(response(400, Some(21656)), ErrorClass::Fail { reason: FailReason::Content });
    }

    #[test]
    fn unknown_codes_fall_back_to_the_http_status() {
        assert_eq!(response(503, None), ErrorClass::Retry { after: None });
        assert_eq!(
            classify_response(429, Some(99999), Some(Duration::from_secs(3))),
            ErrorClass::Retry { after: Some(Duration::from_secs(3)) }
        );
        assert_eq!(response(401, None), ErrorClass::Fail { reason: FailReason::SenderNeedsAttention });
        assert_eq!(response(403, Some(12345)), ErrorClass::Fail { reason: FailReason::SenderNeedsAttention });
        assert_eq!(response(400, Some(99999)), ErrorClass::Fail { reason: FailReason::Other });
        assert_eq!(response(201, None), ErrorClass::Fail { reason: FailReason::Other });
    }

    #[test]
    fn transport_and_refusals() {
        let timeout = TwilioApiError::transport(TransportFailure::Timeout, "timed out");
        assert_eq!(classify(&timeout), ErrorClass::Retry { after: None });
        assert_eq!(classify(&TwilioApiError::refused("too long")), ErrorClass::Fail { reason: FailReason::Content });
        let from_body = TwilioApiError::from_response(400, br#"{"code": 63016, "message": "Outside window"}"#, None);
        assert_eq!(classify(&from_body), ErrorClass::Fail { reason: FailReason::OutsideWindow });
    }

    #[test]
    fn the_table_is_consistent() {
        let mut codes: Vec<i64> = CODES.iter().map(|(c, _, _)| *c).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code is listed twice");
        assert!(CODES.iter().all(|(_, _, title)| !title.is_empty()));
        assert!(describe_code(63016).is_some_and(|t| t.contains("window")));
        assert_eq!(describe_code(1), None);
        assert!(
            FailReason::SenderNeedsAttention.needs_sender_attention()
                && !FailReason::Recipient.needs_sender_attention()
        );
    }
}
