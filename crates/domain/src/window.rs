//! WhatsApp's 24-hour customer-service window.
//!
//! It opens or refreshes with each inbound customer message, counted from when the customer
//! sent it (the message's own timestamp, not when it reached us). Inside it any message may be
//! sent; outside it only approved templates.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

pub const WINDOW_LENGTH: Duration = Duration::hours(24);

/// The window of one conversation, known from the newest inbound customer message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceWindow {
    pub last_customer_message_at: Option<OffsetDateTime>,
}

/// The window's state at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowState {
    Open {
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    Closed {
        /// When it closed; `None` if the customer never wrote.
        #[serde(with = "time::serde::rfc3339::option")]
        expired_at: Option<OffsetDateTime>,
    },
}

/// What a caller about to message a customer needs to know (the `session-status` answer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionStatus {
    pub is_open: bool,
    pub can_send_freeform: bool,
    pub requires_template: bool,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<OffsetDateTime>,
    pub minutes_remaining: i64,
    /// A sentence for people.
    pub message: String,
}

impl ServiceWindow {
    /// The window's state at `now`, phrased for API callers.
    pub fn session_status(&self, now: OffsetDateTime) -> SessionStatus {
        match self.state(now) {
            WindowState::Open { expires_at } => {
                let minutes_remaining = (expires_at - now).whole_minutes();
                SessionStatus {
                    is_open: true,
                    can_send_freeform: true,
                    requires_template: false,
                    expires_at: Some(expires_at),
                    expired_at: None,
                    minutes_remaining,
                    message: format!(
                        "The 24-hour window is open for {} h {} min more: any message can be sent.",
                        minutes_remaining / 60,
                        minutes_remaining % 60
                    ),
                }
            }
            WindowState::Closed { expired_at } => SessionStatus {
                is_open: false,
                can_send_freeform: false,
                requires_template: true,
                expires_at: None,
                expired_at,
                minutes_remaining: 0,
                message: match expired_at {
                    Some(_) => "The 24-hour window has closed: only an approved template can be sent until the customer writes again.".into(),
                    None => "The customer has not written yet: start the conversation with an approved template.".into(),
                },
            },
        }
    }

    pub fn new(last_customer_message_at: Option<OffsetDateTime>) -> Self {
        Self { last_customer_message_at }
    }

    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.last_customer_message_at.map(|t| t + WINDOW_LENGTH)
    }

    /// The window after a customer message sent at `sent_at`; an older message (arriving out
    /// of order) never shortens it.
    pub fn refreshed(self, sent_at: OffsetDateTime) -> Self {
        let newest = match self.last_customer_message_at {
            Some(t) if t >= sent_at => t,
            _ => sent_at,
        };
        Self::new(Some(newest))
    }

    pub fn state(&self, now: OffsetDateTime) -> WindowState {
        match self.expires_at() {
            Some(expires_at) if now < expires_at => WindowState::Open { expires_at },
            expired_at => WindowState::Closed { expired_at },
        }
    }

    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        matches!(self.state(now), WindowState::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn opens_for_24_hours_from_the_customer_timestamp() {
        let sent = datetime!(2026-11-01 10:00 UTC);
        let w = ServiceWindow::default_closed().refreshed(sent);
        assert!(w.is_open(sent + Duration::hours(23) + Duration::minutes(59)));
        assert!(!w.is_open(sent + Duration::hours(24)));
        assert!(!w.is_open(sent + Duration::hours(25)));
        assert_eq!(
            w.state(sent + Duration::hours(25)),
            WindowState::Closed { expired_at: Some(sent + Duration::hours(24)) }
        );
    }

    #[test]
    fn a_late_older_message_never_shortens_it() {
        let newer = datetime!(2026-11-01 10:00 UTC);
        let w = ServiceWindow::new(Some(newer)).refreshed(newer - Duration::hours(3));
        assert_eq!(w.last_customer_message_at, Some(newer));
    }

    #[test]
    fn session_status_for_api_callers() {
        let sent = datetime!(2026-11-01 10:00 UTC);
        let open = ServiceWindow::new(Some(sent)).session_status(sent + Duration::hours(22) + Duration::minutes(30));
        assert!(open.is_open && open.can_send_freeform && !open.requires_template);
        assert_eq!(open.minutes_remaining, 90);
        assert_eq!(open.expires_at, Some(sent + Duration::hours(24)));
        assert!(open.message.contains("1 h 30 min"), "{}", open.message);
        let closed = ServiceWindow::new(Some(sent)).session_status(sent + Duration::hours(25));
        assert!(!closed.is_open && closed.requires_template);
        assert_eq!((closed.expired_at, closed.minutes_remaining), (Some(sent + Duration::hours(24)), 0));
        assert!(ServiceWindow::new(None).session_status(sent).message.contains("has not written"));
    }

    #[test]
    fn never_written_is_closed() {
        let w = ServiceWindow::default_closed();
        assert_eq!(w.state(datetime!(2026-11-01 10:00 UTC)), WindowState::Closed { expired_at: None });
    }

    impl ServiceWindow {
        fn default_closed() -> Self {
            Self::new(None)
        }
    }
}
