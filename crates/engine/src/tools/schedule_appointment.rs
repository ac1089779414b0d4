//! `schedule_appointment`: the model books the customer into the assistant's own availability.
//!
//! Actions: `list_slots` (free slots of a date range, on the local wall clock), `book` (a listed
//! slot start → a booking), `cancel` and `reschedule` (only the conversation's customer's own
//! bookings). A booking sets the conversation variables `appointment_at` (local time with its
//! offset) and `appointment_id`. What a slot is lives in `confab_domain::availability`; that no
//! slot is booked twice is the database's job (`BookingStore`), so two customers racing for one
//! slot get one booking and one "taken" answer, never two bookings.

use super::{Tool, ToolContext, ToolRun};
use async_trait::async_trait;
use confab_assistant::ToolSpec;
use confab_domain::availability::{parse_local_start, WEEKDAYS};
use confab_domain::timezone::{to_timestamp, zone_or_utc};
use confab_domain::{Availability, Booking, BookingId, Slot};
use confab_storage::{NewBooking, Store, StoreError, BOOKING_SLOT_TAKEN};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Span;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

pub const SCHEDULE_APPOINTMENT: &str = "schedule_appointment";

/// `list_slots` covers at most this many days per call.
const MAX_LIST_DAYS: i64 = 14;
/// `list_slots` answers with at most this many free slots (the earliest), to keep the
/// model's context small.
const MAX_LISTED_SLOTS: usize = 120;

pub struct ScheduleAppointment {
    store: Arc<dyn Store>,
    availability: Availability,
    zone: TimeZone,
    zone_name: String,
}

impl ScheduleAppointment {
    /// The tool for an assistant with these hours; slots are read in the availability's time
    /// zone, or else the assistant's.
    pub fn new(store: Arc<dyn Store>, availability: Availability, assistant_timezone: &str) -> Self {
        let zone_name = availability.timezone_name(assistant_timezone).to_string();
        Self { store, zone: zone_or_utc(&zone_name), zone_name, availability }
    }

    fn today(&self, now: OffsetDateTime) -> Date {
        self.zone.to_datetime(to_timestamp(now)).date()
    }

    /// `2026-03-30T10:00` on the wall clock.
    fn local(&self, at: OffsetDateTime) -> String {
        self.zone.to_datetime(to_timestamp(at)).strftime("%Y-%m-%dT%H:%M").to_string()
    }

    /// `2026-03-30T10:00:00+02:00`: the wall clock with its offset.
    fn local_with_offset(&self, at: OffsetDateTime) -> String {
        to_timestamp(at).to_zoned(self.zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    fn hours_summary(&self) -> String {
        let days: Vec<String> = WEEKDAYS
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.availability.hours_of(*i).is_empty())
            .map(|(i, day)| {
                let spans: Vec<String> = self
                    .availability
                    .hours_of(i)
                    .iter()
                    .map(|(from, to)| format!("{:02}:{:02}-{:02}:{:02}", from / 60, from % 60, to / 60, to % 60))
                    .collect();
                format!("{day} {}", spans.join(", "))
            })
            .collect();
        if days.is_empty() {
            "no working hours".into()
        } else {
            days.join("; ")
        }
    }

    fn booking_json(&self, booking: &Booking) -> Value {
        json!({
            "booking_id": booking.id,
            "start": self.local(booking.starts_at),
            "end": self.local(booking.ends_at),
            "timezone": self.zone_name,
        })
    }

    /// The variables that name the customer's appointment (cleared when none is left).
    fn appointment_variables(&self, booking: Option<&Booking>) -> Map<String, Value> {
        let mut variables = Map::new();
        variables.insert(
            "appointment_at".into(),
            booking.map_or(Value::Null, |b| self.local_with_offset(b.starts_at).into()),
        );
        variables.insert("appointment_id".into(), booking.map_or(Value::Null, |b| b.id.to_string().into()));
        variables
    }

    /// The slot the model named in `start`, if it is bookable now: on the grid, in the future,
    /// inside the horizon.
    fn requested_slot(&self, arguments: &Value, now: OffsetDateTime) -> Result<Slot, String> {
        let text = arguments["start"]
            .as_str()
            .ok_or("start is required: a slot start from list_slots, e.g. 2026-03-30T10:00")?;
        let local = parse_local_start(text, &self.zone)
            .ok_or_else(|| format!("start `{text}` is not a date and time: write it as YYYY-MM-DDTHH:MM"))?;
        let slot = self.availability.slot_starting_at(local, &self.zone).ok_or_else(|| {
            format!(
                "{} is not a bookable slot: slots are {} minutes within the working hours ({}, {}); call list_slots",
                local.strftime("%Y-%m-%dT%H:%M"),
                self.availability.slot_minutes,
                self.hours_summary(),
                self.zone_name
            )
        })?;
        if slot.starts_at <= now {
            return Err(format!("{} has already begun: choose a later slot", local.strftime("%Y-%m-%dT%H:%M")));
        }
        if let Some(last) = self.availability.last_bookable_date(self.today(now)) {
            if slot.local_start.date() > last {
                return Err(format!("bookings are taken only up to {last}: choose an earlier slot"));
            }
        }
        Ok(slot)
    }

    /// Whether a live booking overlaps the slot (only after the hours or slot length changed:
    /// on one grid, the unique index already refuses an equal start).
    async fn overlaps(
        &self,
        context: &ToolContext<'_>,
        slot: &Slot,
        except: Option<BookingId>,
    ) -> Result<bool, String> {
        let taken = self
            .store
            .bookings_between(context.conversation.workspace_id, context.assistant.id, slot.starts_at, slot.ends_at)
            .await
            .map_err(unavailable)?;
        Ok(taken.iter().any(|b| Some(b.id) != except))
    }

    async fn list_slots(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let today = self.today(context.now);
        let from = match date_argument(arguments, "from_date") {
            Ok(date) => date.unwrap_or(today).max(today),
            Err(err) => return ToolRun::error(err),
        };
        let week = from.checked_add(Span::new().days(6)).unwrap_or(from);
        let mut to = match date_argument(arguments, "to_date") {
            Ok(date) => date.unwrap_or(week),
            Err(err) => return ToolRun::error(err),
        };
        to = to.min(from.checked_add(Span::new().days(MAX_LIST_DAYS - 1)).unwrap_or(from));
        if let Some(last) = self.availability.last_bookable_date(today) {
            to = to.min(last);
        }
        let slots: Vec<Slot> = if to < from {
            Vec::new()
        } else {
            self.availability
                .slots_between(from, to, &self.zone)
                .into_iter()
                .filter(|s| s.starts_at > context.now)
                .collect()
        };
        let taken = match (slots.first(), slots.last()) {
            (Some(first), Some(last)) => match self
                .store
                .bookings_between(
                    context.conversation.workspace_id,
                    context.assistant.id,
                    first.starts_at,
                    last.ends_at,
                )
                .await
            {
                Ok(taken) => taken,
                Err(err) => return ToolRun::error(unavailable(err)),
            },
            _ => Vec::new(),
        };
        let mut days: Vec<Value> = Vec::new();
        let mut current: Option<(Date, Vec<String>)> = None;
        let free: Vec<&Slot> = slots
            .iter()
            .filter(|s| !taken.iter().any(|b| b.starts_at < s.ends_at && b.ends_at > s.starts_at))
            .collect();
        let more = free.len() > MAX_LISTED_SLOTS;
        for slot in free.into_iter().take(MAX_LISTED_SLOTS) {
            let date = slot.local_start.date();
            if current.as_ref().is_some_and(|(d, _)| *d != date) {
                days.extend(current.take().map(|(d, free)| day_json(d, free)));
            }
            current.get_or_insert_with(|| (date, Vec::new())).1.push(slot.local_start.strftime("%H:%M").to_string());
        }
        days.extend(current.map(|(d, free)| day_json(d, free)));
        let mine = match self
            .store
            .customer_bookings(
                context.conversation.workspace_id,
                context.assistant.id,
                context.conversation.customer_id,
                context.now,
            )
            .await
        {
            Ok(mine) => mine,
            Err(err) => return ToolRun::error(unavailable(err)),
        };
        ToolRun::ok(json!({
            "timezone": self.zone_name,
            "slot_minutes": self.availability.slot_minutes,
            "from_date": from.to_string(),
            "to_date": to.to_string(),
            "free_slots": days,
            "more_slots_after_these": more,
            "customer_bookings": mine.iter().map(|b| self.booking_json(b)).collect::<Vec<_>>(),
        }))
    }

    async fn book(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let slot = match self.requested_slot(arguments, context.now) {
            Ok(slot) => slot,
            Err(err) => return ToolRun::error(err),
        };
        match self.overlaps(context, &slot, None).await {
            Ok(true) => return ToolRun::error(taken(&self.local(slot.starts_at))),
            Ok(false) => {}
            Err(err) => return ToolRun::error(err),
        }
        let customer_name =
            text_argument(arguments, "customer_name", 200).or_else(|| context.customer.and_then(|c| c.name.clone()));
        let booking = NewBooking {
            workspace_id: context.conversation.workspace_id,
            assistant_id: context.assistant.id,
            conversation_id: Some(context.conversation.id),
            customer_id: Some(context.conversation.customer_id),
            customer_name,
            notes: text_argument(arguments, "notes", 1000),
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
        };
        match self.store.create_booking(booking, context.now).await {
            Ok(booking) => {
                tracing::info!(conversation_id = %context.conversation.id, booking_id = %booking.id, "appointment booked");
                let mut run = ToolRun::ok(json!({ "status": "booked", "booking": self.booking_json(&booking) }));
                run.variables = self.appointment_variables(Some(&booking));
                run
            }
            Err(StoreError::Conflict { constraint }) if constraint == BOOKING_SLOT_TAKEN => {
                ToolRun::error(taken(&self.local(slot.starts_at)))
            }
            Err(err) => ToolRun::error(unavailable(err)),
        }
    }

    async fn cancel(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let id = match booking_id(context, arguments) {
            Ok(id) => id,
            Err(err) => return ToolRun::error(err),
        };
        let conversation = context.conversation;
        match self.store.cancel_booking(conversation.workspace_id, id, conversation.customer_id, context.now).await {
            Ok(cancelled) => {
                tracing::info!(conversation_id = %conversation.id, booking_id = %id, "appointment cancelled");
                // the variables now name the customer's next appointment, if any is left
                let left = self
                    .store
                    .customer_bookings(
                        conversation.workspace_id,
                        context.assistant.id,
                        conversation.customer_id,
                        context.now,
                    )
                    .await;
                let mut run = ToolRun::ok(json!({ "status": "cancelled", "booking": self.booking_json(&cancelled) }));
                match left {
                    Ok(left) => run.variables = self.appointment_variables(left.first()),
                    // the booking is cancelled all the same; the variables catch up on the next change
                    Err(err) => tracing::warn!(error = %err, "could not read the customer's other bookings"),
                }
                run
            }
            Err(StoreError::NotFound(_)) => ToolRun::error(not_theirs(id)),
            Err(err) => ToolRun::error(unavailable(err)),
        }
    }

    async fn reschedule(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        let id = match booking_id(context, arguments) {
            Ok(id) => id,
            Err(err) => return ToolRun::error(err),
        };
        let slot = match self.requested_slot(arguments, context.now) {
            Ok(slot) => slot,
            Err(err) => return ToolRun::error(err),
        };
        match self.overlaps(context, &slot, Some(id)).await {
            Ok(true) => return ToolRun::error(taken(&self.local(slot.starts_at))),
            Ok(false) => {}
            Err(err) => return ToolRun::error(err),
        }
        let conversation = context.conversation;
        let moved = self
            .store
            .reschedule_booking(
                conversation.workspace_id,
                id,
                conversation.customer_id,
                slot.starts_at,
                slot.ends_at,
                context.now,
            )
            .await;
        match moved {
            Ok(booking) => {
                tracing::info!(conversation_id = %conversation.id, booking_id = %id, "appointment rescheduled");
                let mut run = ToolRun::ok(json!({ "status": "rescheduled", "booking": self.booking_json(&booking) }));
                run.variables = self.appointment_variables(Some(&booking));
                run
            }
            Err(StoreError::Conflict { constraint }) if constraint == BOOKING_SLOT_TAKEN => {
                ToolRun::error(taken(&self.local(slot.starts_at)))
            }
            Err(StoreError::NotFound(_)) => ToolRun::error(not_theirs(id)),
            Err(err) => ToolRun::error(unavailable(err)),
        }
    }
}

#[async_trait]
impl Tool for ScheduleAppointment {
    fn spec(&self) -> ToolSpec {
        let zone = &self.zone_name;
        ToolSpec {
            name: SCHEDULE_APPOINTMENT.into(),
            description: format!(
                "Book, cancel or move the customer's appointments. Slots are {} minutes within the working hours \
                 ({}), time zone {zone}. First list_slots, offer the customer a few, then book the one they chose; \
                 cancel or reschedule only when they ask.",
                self.availability.slot_minutes,
                self.hours_summary()
            ),
            parameters: json!({
                "type": "object",
                "properties": {
                    "action": { "type": "string", "enum": ["list_slots", "book", "cancel", "reschedule"] },
                    "from_date": { "type": "string", "description": "list_slots: first day, YYYY-MM-DD (default today)" },
                    "to_date": { "type": "string", "description": format!("list_slots: last day, YYYY-MM-DD (default a week on; at most {MAX_LIST_DAYS} days)") },
                    "start": { "type": "string", "description": format!("book, reschedule: the slot's start as list_slots gave it, YYYY-MM-DDTHH:MM in {zone}") },
                    "customer_name": { "type": "string", "description": "book: the name to book under" },
                    "notes": { "type": "string", "description": "book: what the appointment is for" },
                    "booking_id": { "type": "string", "description": "cancel, reschedule: which booking (default: the one booked in this conversation)" },
                },
                "required": ["action"],
            }),
        }
    }

    async fn call(&self, context: &ToolContext<'_>, arguments: &Value) -> ToolRun {
        match arguments["action"].as_str() {
            Some("list_slots") => self.list_slots(context, arguments).await,
            Some("book") => self.book(context, arguments).await,
            Some("cancel") => self.cancel(context, arguments).await,
            Some("reschedule") => self.reschedule(context, arguments).await,
            _ => ToolRun::error("action must be one of list_slots, book, cancel, reschedule"),
        }
    }
}

fn day_json(date: Date, free: Vec<String>) -> Value {
    json!({ "date": date.to_string(), "weekday": WEEKDAYS[date.weekday().to_monday_zero_offset() as usize], "free": free })
}

fn date_argument(arguments: &Value, name: &str) -> Result<Option<Date>, String> {
    match arguments.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(|text| text.trim().parse::<Date>().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} must be a date as YYYY-MM-DD")),
    }
}

fn text_argument(arguments: &Value, name: &str, max_chars: usize) -> Option<String> {
    arguments[name].as_str().map(str::trim).filter(|t| !t.is_empty()).map(|t| t.chars().take(max_chars).collect())
}

/// The booking the model named, or the one this conversation booked.
fn booking_id(context: &ToolContext<'_>, arguments: &Value) -> Result<BookingId, String> {
    let text = arguments["booking_id"]
        .as_str()
        .or_else(|| context.conversation.variables.get("appointment_id").and_then(Value::as_str))
        .ok_or("booking_id is required: list_slots shows the customer's bookings with their ids")?;
    text.trim()
        .parse()
        .map_err(|_| format!("booking_id `{text}` is not a booking id: list_slots shows the customer's bookings"))
}

fn taken(start: &str) -> String {
    format!("the slot at {start} is already taken: call list_slots and offer the customer another")
}

fn not_theirs(id: BookingId) -> String {
    format!("there is no current booking {id} of this customer: list_slots shows the ones they have")
}

fn unavailable(err: StoreError) -> String {
    tracing::warn!(error = %err, "schedule_appointment could not reach the bookings");
    "the booking system is unavailable right now: apologise and offer to hand over to a person".into()
}
