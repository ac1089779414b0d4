//! [`BookingStore`]: the appointments `schedule_appointment` books, cancels and moves.
//!
//! No double booking is the database's job, not the caller's: a unique index over the starts
//! of an assistant's live bookings ([`BOOKING_SLOT_TAKEN`], migration 0010) refuses the second
//! of two bookings of one slot however they race. Slots are a fixed grid (see
//! `confab_domain::availability`), so an equal start is the same slot.

use crate::Result;
use async_trait::async_trait;
use confab_domain::{AssistantId, Booking, BookingId, ConversationId, CustomerId, WorkspaceId};
use time::OffsetDateTime;

/// The conflict a booking or a move onto a slot that is already taken reports.
pub const BOOKING_SLOT_TAKEN: &str = "bookings_assistant_slot_key";

#[derive(Clone, Debug)]
pub struct NewBooking {
    pub workspace_id: WorkspaceId,
    pub assistant_id: AssistantId,
    pub conversation_id: Option<ConversationId>,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub notes: Option<String>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
}

#[async_trait]
pub trait BookingStore: Send + Sync {
    /// Books a slot. Fails with a conflict on [`BOOKING_SLOT_TAKEN`] when the assistant already
    /// has a live booking starting at the same instant.
    async fn create_booking(&self, booking: NewBooking, now: OffsetDateTime) -> Result<Booking>;
    /// The assistant's live bookings that overlap `[from, to)`, by start.
    async fn bookings_between(
        &self,
        workspace_id: WorkspaceId,
        assistant_id: AssistantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<Booking>>;
    /// The customer's live bookings with the assistant that end after `after`, by start.
    async fn customer_bookings(
        &self,
        workspace_id: WorkspaceId,
        assistant_id: AssistantId,
        customer_id: CustomerId,
        after: OffsetDateTime,
    ) -> Result<Vec<Booking>>;
    /// Every booking made in a conversation, live or cancelled, oldest first.
    async fn conversation_bookings(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
    ) -> Result<Vec<Booking>>;
    /// Cancels the customer's live booking. Not found when the booking is another customer's,
    /// another workspace's, or no longer live.
    async fn cancel_booking(
        &self,
        workspace_id: WorkspaceId,
        id: BookingId,
        customer_id: CustomerId,
        now: OffsetDateTime,
    ) -> Result<Booking>;
    /// Moves the customer's live booking to another slot in one statement: a conflict on
    /// [`BOOKING_SLOT_TAKEN`] leaves it where it was. Not found as for
    /// [`BookingStore::cancel_booking`].
    async fn reschedule_booking(
        &self,
        workspace_id: WorkspaceId,
        id: BookingId,
        customer_id: CustomerId,
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Booking>;
}

/// SQLite names the columns of a unique violation, PostgreSQL the index: both become
/// [`BOOKING_SLOT_TAKEN`].
pub(crate) fn slot_conflict(err: crate::StoreError) -> crate::StoreError {
    if err.is_conflict_on(BOOKING_SLOT_TAKEN, "bookings.assistant_id, bookings.starts_at") {
        crate::StoreError::Conflict { constraint: BOOKING_SLOT_TAKEN.into() }
    } else {
        err
    }
}
