//! Domain → stored values, shared by both backends (the write-side twin of [`crate::rows`]):
//! the rules that decide what a row gets, written once so the backends cannot drift apart.

use crate::{NewMessage, StatusInput, StoreError};
use confab_domain::{
    AssistantId, ConversationType, CustomerIdentity, DeliveryError, DeliveryStatus, InboundMessage, Role, SenderId,
    WorkspaceId,
};

/// The identifiers a customer row may be found by, as its columns store them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CustomerKeys {
    pub phone: Option<String>,
    pub bsuid: Option<String>,
    pub external: Option<String>,
}

impl CustomerKeys {
    pub fn of(identity: &CustomerIdentity) -> Self {
        match identity {
            CustomerIdentity::Whatsapp { wa_id, business_scoped_user_id } => Self {
                phone: wa_id.as_ref().map(|p| p.as_str().to_string()),
                bsuid: business_scoped_user_id.clone(),
                external: None,
            },
            CustomerIdentity::External(id) => Self { phone: None, bsuid: None, external: Some(id.clone()) },
        }
    }

    /// The keys of an inbound message's customer; fails for an identity that names no one.
    pub fn of_inbound(m: &InboundMessage) -> Result<Self, StoreError> {
        if m.customer.is_empty() {
            return Err(StoreError::Corrupt("an inbound message must name its customer".into()));
        }
        Ok(Self::of(&m.customer))
    }
}

/// What an active conversation is found by, besides its customer: a WhatsApp number has one
/// per customer, whatever its assistant; other channels one per (assistant, type).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConversationKey {
    pub workspace_id: WorkspaceId,
    pub assistant_id: AssistantId,
    pub kind: ConversationType,
    pub sender_id: Option<SenderId>,
}

impl ConversationKey {
    pub fn of_inbound(m: &InboundMessage) -> Self {
        Self {
            workspace_id: m.workspace_id,
            assistant_id: m.assistant_id,
            kind: m.conversation_type,
            sender_id: m.sender_id,
        }
    }
}

/// The delivery status an ingested message has when we first see it: a customer's is
/// received; one a person sent from the WhatsApp Business app has already been sent.
pub(crate) fn observed_status(role: Role) -> DeliveryStatus {
    if role == Role::User {
        DeliveryStatus::Received
    } else {
        DeliveryStatus::Sent
    }
}

/// Whether a message confab produced goes to the customer (and so through the outbox, on a
/// channel that has one); notes and tool calls are simply stored.
pub(crate) fn to_customer(role: Role) -> bool {
    matches!(role, Role::Assistant | Role::Agent)
}

/// The delivery status a message confab produced starts with: queued when it goes to the
/// customer through an outbox; delivered when the channel hands it over in its own answer
/// (API and test conversations); received for notes and tool calls.
pub(crate) fn produced_status(role: Role, through_outbox: bool) -> DeliveryStatus {
    match (to_customer(role), through_outbox) {
        (true, true) => DeliveryStatus::Queued,
        (true, false) => DeliveryStatus::Delivered,
        (false, _) => DeliveryStatus::Received,
    }
}

/// What a provider's status report does to its message, whose status is `current`: the status
/// it moves to (only ever forward, [`DeliveryStatus::advance_to`]), and the provider's error
/// when that is a failure. `None` when the message stays as it is.
pub(crate) fn status_change(
    current: DeliveryStatus,
    u: &StatusInput,
) -> Option<(DeliveryStatus, Option<&DeliveryError>)> {
    let next = current.advance_to(u.status);
    (next != current).then(|| (next, u.error.as_ref().filter(|_| next == DeliveryStatus::Failed)))
}

/// The tokens a turn message adds to its conversation's total.
pub(crate) fn token_count(m: &NewMessage) -> i64 {
    m.usage.map_or(0, |u| i64::try_from(u.input_tokens + u.output_tokens).unwrap_or(i64::MAX))
}

/// A count as an `i64` column value.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// How long the model call behind a message took, as the responder put it in the payload
/// (`llm_latency_ms`); stored in its own column for the metrics.
pub(crate) fn llm_latency_ms(m: &NewMessage) -> Option<i64> {
    m.payload.get("llm_latency_ms").and_then(serde_json::Value::as_i64)
}

/// A JSON merge patch of conversation variables split for PostgreSQL's `(variables || sets) -
/// removes`: the keys it sets, and the keys its `null` values remove (SQLite's `json_patch`
/// takes the patch whole).
pub(crate) fn merge_patch_parts(
    patch: &serde_json::Map<String, serde_json::Value>,
) -> (serde_json::Value, Vec<String>) {
    let mut sets = serde_json::Map::new();
    let mut removes = Vec::new();
    for (key, value) in patch {
        if value.is_null() {
            removes.push(key.clone());
        } else {
            sets.insert(key.clone(), value.clone());
        }
    }
    (serde_json::Value::Object(sets), removes)
}
