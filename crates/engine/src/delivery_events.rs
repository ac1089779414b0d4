//! Delivery changes as events: when a provider's status update (sent → delivered → read, or
//! failed) is applied to a message, its conversation is announced, so open dashboard pages
//! refresh the ticks and failure markers at once instead of waiting for a new message.
//! In-process only: each `confab` process announces the webhooks it received itself.

use confab_domain::{ConversationId, WorkspaceId};
use confab_storage::{StatusInput, StatusOutcome};

/// A conversation some of whose messages' delivery status was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryChanged {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
}

/// Where delivery changes are announced; nobody listening is fine.
pub type DeliveryEvents = tokio::sync::broadcast::Sender<DeliveryChanged>;

/// A channel for delivery changes, keeping up to `capacity` for slow listeners (a listener
/// that falls further behind only misses refreshes).
pub fn channel(capacity: usize) -> DeliveryEvents {
    tokio::sync::broadcast::channel(capacity).0
}

/// The conversations that applying `updates` changed (`outcomes`, one per update), each once.
pub fn changed_by(updates: &[StatusInput], outcomes: &[StatusOutcome]) -> Vec<DeliveryChanged> {
    let mut changed: Vec<DeliveryChanged> = Vec::new();
    for (update, outcome) in updates.iter().zip(outcomes) {
        if let StatusOutcome::Applied { conversation_id, .. } = outcome {
            let event = DeliveryChanged { workspace_id: update.workspace_id, conversation_id: *conversation_id };
            if !changed.contains(&event) {
                changed.push(event);
            }
        }
    }
    changed
}

/// Announces each change (a send only fails when nobody listens, which is fine).
pub fn announce(events: &DeliveryEvents, changed: &[DeliveryChanged]) {
    for change in changed {
        let _ = events.send(*change);
    }
}
