//! A batch of delivery statuses, applied in memory: what each report does to its message, as
//! if the reports were applied one by one in order, so a backend can store the whole batch
//! with a fixed handful of statements (record the events in one insert, read the messages in
//! one query, write each changed message's final status) instead of three or four per report.
//!
//! The backend tells the plan which reports were new (their event row was inserted, the
//! first of equal reports in the batch winning) and what their messages were before the batch;
//! the plan answers each report's outcome, the fees to charge, and each changed message's
//! final status and error — the same rows the one-by-one path leaves.

use crate::rollup::MetricDeltas;
use crate::values::status_change;
use crate::{StatusInput, StatusOutcome};
use confab_domain::{ConversationId, DeliveryStatus, MessageId, MicroUsd, WorkspaceId};
use std::collections::{HashMap, HashSet};

/// A report's event key: one event row per (workspace, provider message id, status).
pub(crate) type EventKey = (WorkspaceId, String, DeliveryStatus);

pub(crate) fn event_key(u: &StatusInput) -> EventKey {
    (u.workspace_id, u.provider_message_id.clone(), u.status)
}

/// A message a report names, as it was before the batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StatusMessage {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub status: DeliveryStatus,
}

/// The provider's error a message ends the batch with, merged as successive
/// `error_x = COALESCE(new, error_x)` updates would: `None` fields keep what is stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorFields {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub details: Option<String>,
}

impl ErrorFields {
    pub fn is_empty(&self) -> bool {
        self.code.is_none() && self.title.is_none() && self.details.is_none()
    }
}

/// A message whose status the batch changed: its final status and error.
#[derive(Clone, Debug)]
pub(crate) struct StatusChange {
    pub message_id: MessageId,
    pub status: DeliveryStatus,
    pub error: ErrorFields,
}

/// What the batch does.
#[derive(Debug, Default)]
pub(crate) struct PlannedStatuses {
    /// One per report, in order.
    pub outcomes: Vec<StatusOutcome>,
    /// Fees reported by new reports of known messages, in order (the backend charges each
    /// message once: the first wins).
    pub fees: Vec<(MessageId, MicroUsd)>,
    /// One per changed message, in the order of their first change.
    pub changes: Vec<StatusChange>,
}

/// Which reports are new, given the event keys the insert recorded: the first report of each
/// recorded key is; later equal ones, and reports of keys not recorded, are duplicates.
pub(crate) fn recorded_reports(updates: &[StatusInput], mut inserted: HashSet<EventKey>) -> Vec<bool> {
    updates.iter().map(|u| inserted.remove(&event_key(u))).collect()
}

/// Applies `updates` in order to `messages` (by workspace and provider message id, as they
/// were before the batch); `recorded[i]` says whether report `i` is new. Counts failed
/// deliveries in `deltas` as they change.
pub(crate) fn plan_statuses(
    updates: &[StatusInput],
    recorded: &[bool],
    messages: &HashMap<(WorkspaceId, String), StatusMessage>,
    deltas: &mut MetricDeltas,
) -> PlannedStatuses {
    let mut plan = PlannedStatuses { outcomes: Vec::with_capacity(updates.len()), ..PlannedStatuses::default() };
    let mut current: HashMap<MessageId, DeliveryStatus> = HashMap::new();
    let mut changed: HashMap<MessageId, usize> = HashMap::new();
    for (u, &new) in updates.iter().zip(recorded) {
        if !new {
            plan.outcomes.push(StatusOutcome::Duplicate);
            continue;
        }
        let Some(message) = messages.get(&(u.workspace_id, u.provider_message_id.clone())) else {
            plan.outcomes.push(StatusOutcome::UnknownMessage);
            continue;
        };
        if let Some(fee) = u.fee {
            plan.fees.push((message.id, fee));
        }
        let status = current.entry(message.id).or_insert(message.status);
        let Some((next, error)) = status_change(*status, u) else {
            let outcome = StatusOutcome::Applied {
                message_id: message.id,
                conversation_id: message.conversation_id,
                status: *status,
            };
            plan.outcomes.push(outcome);
            continue;
        };
        deltas.status_changed(message.id.as_uuid(), *status == DeliveryStatus::Failed, next == DeliveryStatus::Failed);
        *status = next;
        let at = *changed.entry(message.id).or_insert_with(|| {
            plan.changes.push(StatusChange { message_id: message.id, status: next, error: ErrorFields::default() });
            plan.changes.len() - 1
        });
        let change = &mut plan.changes[at];
        change.status = next;
        if let Some(error) = error {
            change.error.code = error.code.or(change.error.code);
            change.error.title = Some(error.title.clone());
            change.error.details = error.details.clone().or(change.error.details.take());
        }
        plan.outcomes.push(StatusOutcome::Applied {
            message_id: message.id,
            conversation_id: message.conversation_id,
            status: next,
        });
    }
    plan
}

/// The changes without an error to write, by final status (one `UPDATE … WHERE id IN` each),
/// and those with one (written one by one).
pub(crate) fn group_changes(changes: &[StatusChange]) -> (Vec<(DeliveryStatus, Vec<MessageId>)>, Vec<&StatusChange>) {
    let mut plain: Vec<(DeliveryStatus, Vec<MessageId>)> = Vec::new();
    let mut with_error = Vec::new();
    for change in changes {
        if !change.error.is_empty() {
            with_error.push(change);
        } else if let Some((_, ids)) = plain.iter_mut().find(|(status, _)| *status == change.status) {
            ids.push(change.message_id);
        } else {
            plain.push((change.status, vec![change.message_id]));
        }
    }
    (plain, with_error)
}
