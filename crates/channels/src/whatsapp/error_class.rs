//! What to do about a failed Graph API call: try again (and when), or give up (and why).
//!
//! This module owns the table from Meta's error codes to an [`ErrorClass`], which the outbox
//! uses to decide between rescheduling a send and marking the message `failed` (and, for a
//! broken access token or a restricted account, flagging the sender for a person to look at).
//! Meta says to build error handling on `code`, not on HTTP status or subcode, so a known code
//! decides first; the HTTP status only decides for codes this table does not know (5xx and
//! 429 retry, 401 and 403 point at the sender's token or permissions, other 4xx fail).
//!
//! Sources: Meta's WhatsApp Cloud API "Error codes" page (codes, titles, HTTP statuses and
//! advice), the Graph API "Handling Errors" guide (codes 1, 2, 4, 17, 102, 190, 341, 368, 613
//! and the 190 subcodes), and the Cloud API throughput / pair-rate-limit docs (80 messages a
//! second per number by default; about one message every 6 seconds to the same user).
//!
//! A retry is not free of risk: Meta has no idempotency key for sends, so a call that timed
//! out after Meta accepted it will be sent twice if retried. The outbox should cap attempts.
//! This module only classifies; it does not sleep, count attempts or log.

use super::graph_error::GraphError;
use std::time::Duration;

/// Meta's pacing for one business number writing to one user: about one message every six
/// seconds (error 131056).
pub const PAIR_RATE_LIMIT_WAIT: Duration = Duration::from_secs(6);

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
    /// 131047: more than 24 hours since the customer last wrote; only a template can go out.
    OutsideWindow,
    /// 131026: the number is not on WhatsApp, has not accepted the terms, runs too old an app,
    /// or has blocked the business.
    Undeliverable,
    /// 132xxx: the template does not exist in that language, is paused or disabled, or its
    /// parameters do not match it.
    Template,
    /// 100, 33, 131008, 131009, 131021, 131051, 135000: the request itself is wrong (a missing
    /// or invalid parameter, an unsupported type, sending to oneself).
    InvalidParameter,
    /// 131052, 131053: Meta could not fetch or process the media.
    Media,
    /// 190, 0, 102, 104, or HTTP 401: the access token is expired, revoked, invalid or missing.
    /// The sender needs attention: every send with this token will fail the same way.
    TokenExpired,
    /// 3, 10, 200–299, 131005, 100/33, or HTTP 403: the token lacks a permission or the phone
    /// number id is not one it may use. The sender needs attention.
    Permission,
    /// 368, 130497, 131031, 131037, 131042, 131045, 131048, 133010: the business account or
    /// number is restricted, blocked, unpaid or not registered. The sender needs attention.
    SenderRestricted,
    /// 130472, 131049, 131050: Meta or the customer declined this message (an experiment,
    /// ecosystem protection for marketing messages, marketing opt-out). Not worth retrying.
    Declined,
    /// Anything else, including an HTTP 2xx without a message id (it may have been sent).
    Other,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutsideWindow => "outside_window",
            Self::Undeliverable => "undeliverable",
            Self::Template => "template",
            Self::InvalidParameter => "invalid_parameter",
            Self::Media => "media",
            Self::TokenExpired => "token_expired",
            Self::Permission => "permission",
            Self::SenderRestricted => "sender_restricted",
            Self::Declined => "declined",
            Self::Other => "other",
        }
    }

    /// Whether the sender (its token or account), not this message, is what is wrong, so a
    /// person should be told and further sends through it are pointless until fixed.
    pub fn needs_sender_attention(self) -> bool {
        matches!(self, Self::TokenExpired | Self::Permission | Self::SenderRestricted)
    }
}

/// What to do about `error`.
pub fn classify(error: &GraphError) -> ErrorClass {
    if error.transport.is_some() {
        return ErrorClass::Retry { after: error.retry_after };
    }
    if let Some(class) = error.code.and_then(|code| by_code(code, error.subcode, error.retry_after)) {
        return class;
    }
    by_status(error.http_status, error.retry_after)
}

fn by_code(code: i64, subcode: Option<i32>, hint: Option<Duration>) -> Option<ErrorClass> {
    let retry = |default: Option<Duration>| ErrorClass::Retry { after: hint.or(default) };
    let fail = |reason| ErrorClass::Fail { reason };
    Some(match code {
        // transient: Meta's "Something went wrong", "Service unavailable", "Server temporarily
        // unavailable", Graph's "API Unknown" / "API Service" (wait and retry)
        131000 | 131016 | 133004 | 1 | 2 => retry(None),
        // 131057: account in maintenance mode (e.g. a throughput upgrade), minutes long
        131057 => retry(None),
        // throughput (130429) and app / account rate limits: slow down and retry
        130429 | 4 | 17 | 341 | 613 | 80007 => retry(None),
        131056 => retry(Some(PAIR_RATE_LIMIT_WAIT)),
        131047 => fail(FailReason::OutsideWindow),
        131026 => fail(FailReason::Undeliverable),
        132000..=132999 => fail(FailReason::Template),
        // 100 with subcode 33: "Object with ID … does not exist, cannot be loaded due to missing
        // permissions": the phone number id is wrong or not the token's
        100 if subcode == Some(33) => fail(FailReason::Permission),
        100 | 33 | 131008 | 131009 | 131021 | 131051 | 135000 => fail(FailReason::InvalidParameter),
        131052 | 131053 => fail(FailReason::Media),
        190 | 0 | 102 | 104 => fail(FailReason::TokenExpired),
        3 | 10 | 200..=299 | 131005 => fail(FailReason::Permission),
        368 | 130497 | 131031 | 131037 | 131042 | 131045 | 131048 | 133010 => fail(FailReason::SenderRestricted),
        130472 | 131049 | 131050 => fail(FailReason::Declined),
        _ => return None,
    })
}

fn by_status(http_status: u16, hint: Option<Duration>) -> ErrorClass {
    match http_status {
        0 | 429 | 500..=599 => ErrorClass::Retry { after: hint },
        401 => ErrorClass::Fail { reason: FailReason::TokenExpired },
        403 => ErrorClass::Fail { reason: FailReason::Permission },
        _ => ErrorClass::Fail { reason: FailReason::Other },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatsapp::TransportFailure;
    use ErrorClass::{Fail, Retry};
    use FailReason::*;

    fn error(http_status: u16, code: Option<i64>) -> GraphError {
        let mut e = GraphError::from_response(http_status, b"{}", None);
        e.code = code;
        e
    }

    const fn retry() -> ErrorClass {
        Retry { after: None }
    }

    const fn fail(reason: FailReason) -> ErrorClass {
        Fail { reason }
    }

    /// Every code the table knows, with the HTTP status Meta documents for it.
    #[test]
    fn every_known_code() {
        let table: &[(u16, i64, ErrorClass)] = &[
            (500, 131000, retry()),
            (503, 131016, retry()),
            (503, 133004, retry()),
            (400, 1, retry()),
            (503, 2, retry()),
            (500, 131057, retry()),
            (400, 130429, retry()),
            (400, 4, retry()),
            (400, 17, retry()),
            (400, 341, retry()),
            (400, 613, retry()),
            (400, 80007, retry()),
            (400, 131056, Retry { after: Some(PAIR_RATE_LIMIT_WAIT) }),
            (400, 131047, fail(OutsideWindow)),
            (400, 131026, fail(Undeliverable)),
            (400, 132000, fail(Template)),
            (404, 132001, fail(Template)),
            (400, 132005, fail(Template)),
            (400, 132007, fail(Template)),
            (400, 132008, fail(Template)),
            (400, 132012, fail(Template)),
            (400, 132015, fail(Template)),
            (400, 132016, fail(Template)),
            (400, 132068, fail(Template)),
            (400, 132069, fail(Template)),
            (400, 100, fail(InvalidParameter)),
            (400, 33, fail(InvalidParameter)),
            (400, 131008, fail(InvalidParameter)),
            (400, 131009, fail(InvalidParameter)),
            (400, 131021, fail(InvalidParameter)),
            (400, 131051, fail(InvalidParameter)),
            (400, 135000, fail(InvalidParameter)),
            (400, 131052, fail(Media)),
            (400, 131053, fail(Media)),
            (401, 190, fail(TokenExpired)),
            (401, 0, fail(TokenExpired)),
            (400, 102, fail(TokenExpired)),
            (400, 104, fail(TokenExpired)),
            (500, 3, fail(Permission)),
            (403, 10, fail(Permission)),
            (403, 200, fail(Permission)),
            (403, 299, fail(Permission)),
            (403, 131005, fail(Permission)),
            (403, 368, fail(SenderRestricted)),
            (403, 130497, fail(SenderRestricted)),
            (403, 131031, fail(SenderRestricted)),
            (400, 131037, fail(SenderRestricted)),
            (400, 131042, fail(SenderRestricted)),
            (500, 131045, fail(SenderRestricted)),
            (400, 131048, fail(SenderRestricted)),
            (400, 133010, fail(SenderRestricted)),
            (400, 130472, fail(Declined)),
            (400, 131049, fail(Declined)),
            (400, 131050, fail(Declined)),
        ];
        for &(status, code, expected) in table {
            assert_eq!(classify(&error(status, Some(code))), expected, "code {code} (HTTP {status})");
        }
    }

    #[test]
    fn a_known_code_beats_the_http_status() {
        // 131045 and 3 come with HTTP 500 but retrying cannot help
        assert_eq!(classify(&error(500, Some(131045))), fail(SenderRestricted));
        assert_eq!(classify(&error(500, Some(3))), fail(Permission));
        // and a retryable code stays retryable whatever the status
        assert_eq!(classify(&error(400, Some(131000))), retry());
    }

    #[test]
    fn unknown_codes_fall_back_on_the_http_status() {
        let table: &[(u16, Option<i64>, ErrorClass)] = &[
            (500, None, retry()),
            (502, None, retry()),
            (503, Some(999_999), retry()),
            (504, None, retry()),
            (429, None, retry()),
            (401, None, fail(TokenExpired)),
            (403, Some(999_999), fail(Permission)),
            (400, None, fail(Other)),
            (404, Some(999_999), fail(Other)),
            (200, None, fail(Other)),
        ];
        for &(status, code, expected) in table {
            assert_eq!(classify(&error(status, code)), expected, "HTTP {status} code {code:?}");
        }
    }

    #[test]
    fn subcode_33_on_100_is_a_sender_problem() {
        let mut e = error(400, Some(100));
        e.subcode = Some(33);
        assert_eq!(classify(&e), fail(Permission));
    }

    #[test]
    fn transport_failures_retry() {
        for failure in [TransportFailure::Timeout, TransportFailure::Connect, TransportFailure::Other] {
            assert_eq!(classify(&GraphError::transport(failure, "x")), retry());
        }
    }

    #[test]
    fn meta_hints_override_defaults() {
        let wait = Some(Duration::from_secs(120));
        for code in [Some(80007), Some(4), Some(131056), Some(130429), None] {
            let mut e = error(if code.is_some() { 400 } else { 503 }, code);
            e.retry_after = wait;
            assert_eq!(classify(&e), Retry { after: wait }, "{code:?}");
        }
    }

    #[test]
    fn sender_attention() {
        for reason in [TokenExpired, Permission, SenderRestricted] {
            assert!(reason.needs_sender_attention(), "{}", reason.as_str());
        }
        for reason in [OutsideWindow, Undeliverable, Template, InvalidParameter, Media, Declined, Other] {
            assert!(!reason.needs_sender_attention(), "{}", reason.as_str());
        }
    }
}
