//! Appointments an assistant booked for a customer with `schedule_appointment`.

use crate::{AssistantId, BookingId, ConversationId, CustomerId, WorkspaceId};
use serde::Serialize;
use time::OffsetDateTime;

/// Whether the slot is still held. A cancelled booking frees its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    Cancelled,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "booked" => Some(Self::Booked),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Booking {
    pub id: BookingId,
    pub workspace_id: WorkspaceId,
    pub assistant_id: AssistantId,
    /// The conversation it was booked in.
    pub conversation_id: Option<ConversationId>,
    /// Whose it is: only this customer's conversations may cancel or move it.
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub status: BookingStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
