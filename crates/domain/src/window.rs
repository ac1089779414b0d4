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

impl ServiceWindow {
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
