//! Bookings on SQLite: the `bookings` table of migration 0010, whose partial unique index
//! `bookings_assistant_slot_key` is what refuses double bookings.

use super::{micros, SqliteStore};
use crate::booking_store::slot_conflict;
use crate::rows::{self, BOOKING_COLUMNS};
use crate::{BookingStore, NewBooking, Result, StoreError};
use async_trait::async_trait;
use confab_domain::{AssistantId, Booking, BookingId, BookingStatus, ConversationId, CustomerId, WorkspaceId};
use time::OffsetDateTime;

#[async_trait]
impl BookingStore for SqliteStore {
    async fn create_booking(&self, b: NewBooking, now: OffsetDateTime) -> Result<Booking> {
        let sql = format!(
            "INSERT INTO bookings (id, workspace_id, assistant_id, conversation_id, customer_id, customer_name, notes, \
             starts_at, ends_at, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {BOOKING_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(BookingId::new().as_uuid())
            .bind(b.workspace_id.as_uuid())
            .bind(b.assistant_id.as_uuid())
            .bind(b.conversation_id.map(|id| id.as_uuid()))
            .bind(b.customer_id.map(|id| id.as_uuid()))
            .bind(&b.customer_name)
            .bind(&b.notes)
            .bind(micros(b.starts_at))
            .bind(micros(b.ends_at))
            .bind(BookingStatus::Booked.as_str())
            .bind(micros(now))
            .fetch_one(&self.writer)
            .await
            .map_err(|e| slot_conflict(e.into()))?;
        rows::booking(&row)
    }

    async fn bookings_between(
        &self,
        workspace_id: WorkspaceId,
        assistant_id: AssistantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<Booking>> {
        let sql = format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE workspace_id = $1 AND assistant_id = $2 \
             AND status = 'booked' AND starts_at < $4 AND ends_at > $3 ORDER BY starts_at"
        );
        let found = sqlx::query(&sql)
            .bind(workspace_id.as_uuid())
            .bind(assistant_id.as_uuid())
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.reader)
            .await?;
        found.iter().map(rows::booking).collect()
    }

    async fn customer_bookings(
        &self,
        workspace_id: WorkspaceId,
        assistant_id: AssistantId,
        customer_id: CustomerId,
        after: OffsetDateTime,
    ) -> Result<Vec<Booking>> {
        let sql = format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE workspace_id = $1 AND assistant_id = $2 \
             AND customer_id = $3 AND status = 'booked' AND ends_at > $4 ORDER BY starts_at"
        );
        let found = sqlx::query(&sql)
            .bind(workspace_id.as_uuid())
            .bind(assistant_id.as_uuid())
            .bind(customer_id.as_uuid())
            .bind(micros(after))
            .fetch_all(&self.reader)
            .await?;
        found.iter().map(rows::booking).collect()
    }

    async fn conversation_bookings(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
    ) -> Result<Vec<Booking>> {
        let sql = format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE workspace_id = $1 AND conversation_id = $2 \
             ORDER BY created_at, id"
        );
        let found = sqlx::query(&sql)
            .bind(workspace_id.as_uuid())
            .bind(conversation_id.as_uuid())
            .fetch_all(&self.reader)
            .await?;
        found.iter().map(rows::booking).collect()
    }

    async fn cancel_booking(
        &self,
        workspace_id: WorkspaceId,
        id: BookingId,
        customer_id: CustomerId,
        now: OffsetDateTime,
    ) -> Result<Booking> {
        let sql = format!(
            "UPDATE bookings SET status = 'cancelled', updated_at = $4 WHERE id = $1 AND workspace_id = $2 \
             AND customer_id = $3 AND status = 'booked' RETURNING {BOOKING_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(customer_id.as_uuid())
            .bind(micros(now))
            .fetch_optional(&self.writer)
            .await?;
        rows::booking(&row.ok_or(StoreError::NotFound("booking"))?)
    }

    async fn reschedule_booking(
        &self,
        workspace_id: WorkspaceId,
        id: BookingId,
        customer_id: CustomerId,
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Booking> {
        let sql = format!(
            "UPDATE bookings SET starts_at = $4, ends_at = $5, updated_at = $6 WHERE id = $1 AND workspace_id = $2 \
             AND customer_id = $3 AND status = 'booked' RETURNING {BOOKING_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(customer_id.as_uuid())
            .bind(micros(starts_at))
            .bind(micros(ends_at))
            .bind(micros(now))
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| slot_conflict(e.into()))?;
        rows::booking(&row.ok_or(StoreError::NotFound("booking"))?)
    }
}
