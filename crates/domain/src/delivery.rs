//! Delivery status of an outbound message, which only ever moves forward.

use serde::{Deserialize, Serialize};

/// Where a message is on its way to the customer. Inbound messages are `Received`.
/// Order: `Queued → Sent → Delivered → Read`; `Failed` can follow anything but `Read`
/// and is final. Providers re-send and reorder status callbacks, so a late `sent` after
/// `read` must change nothing: use [`DeliveryStatus::advance_to`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => Self::Received,
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" | "played" => Self::Read,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    fn rank(self) -> u8 {
        match self {
            Self::Received => 0,
            Self::Queued => 1,
            Self::Sent => 2,
            Self::Delivered => 3,
            Self::Read => 4,
            Self::Failed => 5,
        }
    }

    /// The status after an update to `next` arrives: `next` if it is further along, else
    /// `self` unchanged. A read message never becomes failed; a failed one stays failed.
    pub fn advance_to(self, next: Self) -> Self {
        match (self, next) {
            (Self::Failed, _) | (Self::Read, Self::Failed) | (Self::Received, _) => self,
            _ if next.rank() > self.rank() => next,
            _ => self,
        }
    }
}

/// Why a provider could not deliver a message, as the provider said it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryError {
    /// The provider's code, e.g. Meta `131047` or Twilio `63016`.
    pub code: Option<i64>,
    pub title: String,
    pub details: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::{self, *};
    use proptest::prelude::*;

    #[test]
    fn only_moves_forward() {
        assert_eq!(Queued.advance_to(Sent), Sent);
        assert_eq!(Read.advance_to(Sent), Read);
        assert_eq!(Delivered.advance_to(Delivered), Delivered);
        assert_eq!(Sent.advance_to(Failed), Failed);
        assert_eq!(Read.advance_to(Failed), Read);
        assert_eq!(Failed.advance_to(Read), Failed);
        assert_eq!(Received.advance_to(Read), Received);
        assert_eq!(DeliveryStatus::parse("played"), Some(Read));
    }

    fn status() -> impl Strategy<Value = DeliveryStatus> {
        prop_oneof![Just(Queued), Just(Sent), Just(Delivered), Just(Read), Just(Failed)]
    }

    proptest! {
        /// Whatever order updates arrive in, the final state depends only on the set of updates
        /// seen (a real message is never both read and failed, so those two are not mixed).
        #[test]
        fn order_does_not_matter(mut updates in proptest::collection::vec(status(), 0..8)) {
            if updates.contains(&Read) {
                updates.retain(|s| *s != Failed);
            }
            let forward = updates.iter().fold(Queued, |s, n| s.advance_to(*n));
            updates.reverse();
            let backward = updates.iter().fold(Queued, |s, n| s.advance_to(*n));
            prop_assert_eq!(forward, backward);
        }
    }
}
