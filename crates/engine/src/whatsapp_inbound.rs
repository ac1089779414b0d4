//! Accepting one Meta webhook POST whose signature was already checked: parse it, route each
//! item by `metadata.phone_number_id` to its sender, and store everything in a few short
//! transactions — customer messages (exactly once, by wamid), echoes of messages people sent
//! from the WhatsApp Business app, delivery statuses, and every other item kept for
//! inspection. Nothing here calls a network or an LLM: the webhook answers right after.
//!
//! Every write is idempotent, so when one fails the caller answers 500, Meta retries, and the
//! retry completes what is missing without doubling anything.

use crate::group_commit::GroupCommit;
use crate::ingest_batcher::IngestSink;
use confab_assistant::PriceTable;
use confab_channels::whatsapp::{
    parse_webhook, EchoMessage, InboundWhatsappMessage, TemplateStatusUpdate, WebhookBatch,
};
use confab_domain::{
    Assistant, AssistantId, ConversationType, CustomerIdentity, InboundMessage, IngestOutcome, MessageKind,
    PhoneNumber, Provider, Role, Sender, TemplateName, TemplateStatus, WorkspaceId,
};
use confab_storage::{NewWebhookEvent, StatusInput, StatusOutcome, Store, StoreError, WebhookEventKind};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Delivery statuses of concurrent webhooks, applied in shared transactions (Meta posts about
/// three per message sent, each in its own POST).
pub type StatusWrites = GroupCommit<StatusInput, StatusOutcome>;

/// Most statuses applied in one transaction.
const MAX_STATUSES_PER_TRANSACTION: usize = 2_000;

/// Starts the group commit for statuses; it ends when its last handle is dropped.
pub fn status_writes(store: Arc<dyn Store>) -> StatusWrites {
    GroupCommit::start(
        MAX_STATUSES_PER_TRANSACTION,
        Arc::new(move |statuses: Vec<StatusInput>, now| {
            let store = store.clone();
            Box::pin(async move { store.apply_statuses(&statuses, now).await })
        }),
    )
}

/// How inbound WhatsApp traffic is treated.
#[derive(Clone, Copy, Debug)]
pub struct InboundPolicy {
    /// Messages older than this when they reach us are stored but not answered (Meta replays
    /// backlogs after an outage; answering hours-old messages confuses customers).
    pub stale_after: Duration,
    /// Where payloads that name no known number are kept.
    pub default_workspace: WorkspaceId,
}

/// Sets the fee of each status whose `pricing` Meta marked billable, at its workspace's
/// prices (the defaults when it has none). Most statuses are of free service replies, so the
/// price tables are read only when a billable one is in the batch.
async fn price_billable_statuses(store: &dyn Store, statuses: &mut [StatusInput]) -> Result<(), StoreError> {
    let mut tables: HashMap<WorkspaceId, PriceTable> = HashMap::new();
    for status in statuses.iter_mut() {
        if status.pricing.get("billable").and_then(serde_json::Value::as_bool) != Some(true) {
            continue;
        }
        let table = match tables.entry(status.workspace_id) {
            std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let table = crate::workspace_prices::load(store, status.workspace_id).await?.unwrap_or_default();
                slot.insert(table)
            }
        };
        status.fee = table.meta_reported_fee(&status.pricing).filter(|fee| fee.0 > 0);
    }
    Ok(())
}

/// What one webhook POST led to, for logs and metrics (no message content, no phone numbers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AcceptSummary {
    /// Conversations whose messages' delivery status was applied, for live pages.
    pub deliveries_changed: Vec<crate::delivery_events::DeliveryChanged>,
    pub messages_stored: usize,
    pub messages_duplicate: usize,
    pub stale: usize,
    pub statuses_applied: usize,
    pub statuses_duplicate: usize,
    pub statuses_unknown_message: usize,
    pub events_kept: usize,
    /// Known templates whose review status a `message_template_status_update` changed.
    pub templates_updated: usize,
    pub unrouted: usize,
    pub dead_letters: usize,
}

/// Parses and stores a signed Meta webhook body. A body that cannot be parsed at all is kept
/// whole as a dead letter (and is not an error: Meta would only send it again).
pub async fn accept(
    store: &dyn Store,
    ingest: &dyn IngestSink,
    status_writes: &StatusWrites,
    raw_body: &[u8],
    now: OffsetDateTime,
    policy: InboundPolicy,
) -> Result<AcceptSummary, StoreError> {
    let batch = match parse_webhook(raw_body) {
        Ok(batch) => batch,
        Err(err) => {
            tracing::warn!(error = %err, bytes = raw_body.len(), "WhatsApp webhook kept as a dead letter");
            let dead = NewWebhookEvent {
                workspace_id: Some(policy.default_workspace),
                provider: Provider::Meta,
                kind: WebhookEventKind::DeadLetter,
                field: None,
                phone_number_id: None,
                reason: Some(err.to_string()),
                body: raw_body.to_vec(),
            };
            store.record_webhook_events(&[dead], now).await?;
            return Ok(AcceptSummary { dead_letters: 1, ..AcceptSummary::default() });
        }
    };
    let routes = Routes::resolve(store, &batch).await?;
    let mut summary = AcceptSummary::default();
    let mut events = Vec::new();
    // phone-number ids nobody is linked to, with how many items named each
    let mut unrouted: BTreeMap<&str, usize> = BTreeMap::new();

    let mut inbound = Vec::with_capacity(batch.messages.len() + batch.echoes.len());
    for message in &batch.messages {
        match routes.get(&message.phone_number_id) {
            Some(route) => {
                let stale = now - message.timestamp > policy.stale_after;
                summary.stale += usize::from(stale);
                inbound.push(customer_message(&route, message, stale));
            }
            None => *unrouted.entry(&message.phone_number_id).or_default() += 1,
        }
    }
    for echo in &batch.echoes {
        match routes.get(&echo.phone_number_id) {
            Some(route) => inbound.push(business_app_echo(&route, echo)),
            None => *unrouted.entry(&echo.phone_number_id).or_default() += 1,
        }
    }
    if !inbound.is_empty() {
        for outcome in ingest.ingest(inbound, now).await? {
            match outcome {
                IngestOutcome::Stored { .. } => summary.messages_stored += 1,
                IngestOutcome::Duplicate => summary.messages_duplicate += 1,
            }
        }
    }

    let mut statuses = Vec::with_capacity(batch.statuses.len());
    for update in &batch.statuses {
        let sender = routes.sender(&update.phone_number_id);
        match (sender, update.status) {
            (Some(sender), Some(status)) => statuses.push(StatusInput {
                workspace_id: sender.workspace_id,
                provider_message_id: update.wamid.clone(),
                status,
                occurred_at: update.timestamp,
                error: update.error().cloned(),
                pricing: update.pricing.clone().unwrap_or(serde_json::Value::Null),
                fee: None,
            }),
            (Some(sender), None) => events.push(kept_event(
                sender.workspace_id,
                "messages",
                Some(&update.phone_number_id),
                Some(format!("status `{}` is not one confab tracks", update.raw_status)),
                json_bytes(&serde_json::json!({ "id": update.wamid, "status": update.raw_status })),
            )),
            (None, _) => *unrouted.entry(&update.phone_number_id).or_default() += 1,
        }
    }
    if !statuses.is_empty() {
        price_billable_statuses(store, &mut statuses).await?;
        let outcomes = status_writes.write(statuses.clone(), now).await?;
        summary.deliveries_changed = crate::delivery_events::changed_by(&statuses, &outcomes);
        for outcome in outcomes {
            match outcome {
                StatusOutcome::Applied { .. } => summary.statuses_applied += 1,
                StatusOutcome::Duplicate => summary.statuses_duplicate += 1,
                StatusOutcome::UnknownMessage => summary.statuses_unknown_message += 1,
            }
        }
    }

    for other in &batch.other_events {
        let workspace_id = routes.workspace_of(other.phone_number_id.as_deref(), policy.default_workspace);
        if let Some(update) = TemplateStatusUpdate::from_event(other) {
            summary.templates_updated += usize::from(apply_template_status(store, workspace_id, &update).await?);
        }
        events.push(kept_event(
            workspace_id,
            &other.field,
            other.phone_number_id.as_deref(),
            None,
            json_bytes(&other.value),
        ));
    }
    for change_error in &batch.change_errors {
        let workspace_id = routes.workspace_of(change_error.phone_number_id.as_deref(), policy.default_workspace);
        let reason = format!("Meta reported an error: {}", change_error.error.title);
        let body = json_bytes(&serde_json::to_value(&change_error.error).unwrap_or_default());
        events.push(kept_event(
            workspace_id,
            &change_error.field,
            change_error.phone_number_id.as_deref(),
            Some(reason),
            body,
        ));
    }
    for unparsed in &batch.unparsed {
        events.push(NewWebhookEvent {
            workspace_id: Some(policy.default_workspace),
            provider: Provider::Meta,
            kind: WebhookEventKind::DeadLetter,
            field: None,
            phone_number_id: unparsed.phone_number_id.clone(),
            reason: Some(unparsed.reason.clone()),
            body: json_bytes(&unparsed.value),
        });
    }
    // the whole body, once per unknown number: it can be replayed once the sender is linked
    for (phone_number_id, items) in unrouted {
        events.push(NewWebhookEvent {
            workspace_id: Some(policy.default_workspace),
            provider: Provider::Meta,
            kind: WebhookEventKind::Unrouted,
            field: Some("messages".into()),
            phone_number_id: Some(phone_number_id.to_string()),
            reason: Some(format!(
                "{items} item(s) for phone number id {phone_number_id}, which no sender is linked to"
            )),
            body: raw_body.to_vec(),
        });
    }
    if !events.is_empty() {
        for event in &events {
            match event.kind {
                WebhookEventKind::Event => summary.events_kept += 1,
                WebhookEventKind::Unrouted => summary.unrouted += 1,
                WebhookEventKind::DeadLetter => summary.dead_letters += 1,
            }
        }
        if summary.unrouted > 0 {
            tracing::warn!(
                numbers = summary.unrouted,
                "WhatsApp webhook items for numbers no sender is linked to were kept as unrouted"
            );
        }
        if summary.dead_letters > 0 {
            tracing::warn!(
                items = summary.dead_letters,
                "WhatsApp webhook items that could not be parsed were kept as dead letters"
            );
        }
        store.record_webhook_events(&events, now).await?;
    }
    Ok(summary)
}

/// Sets the status of the workspace's template this review result names; whether a known
/// template changed. Templates are per business account and the event names no number, so it
/// applies in the workspace that keeps account events (the default one). The event itself is
/// kept as well, for inspection.
async fn apply_template_status(
    store: &dyn Store,
    workspace_id: WorkspaceId,
    update: &TemplateStatusUpdate,
) -> Result<bool, StoreError> {
    let (Some(status), Ok(name)) = (TemplateStatus::from_meta_event(&update.event), TemplateName::parse(&update.name))
    else {
        return Ok(false);
    };
    let changed = store.set_template_status(workspace_id, &name, &update.language, status).await?;
    if let Some(template) = &changed {
        tracing::info!(template_id = %template.id, status = status.as_str(), "template status updated by Meta");
    }
    Ok(changed.is_some())
}

/// The sender behind each phone-number id of a batch, and the assistant of those that brought
/// messages, looked up once each (a status needs only the sender's workspace).
struct Routes {
    senders: HashMap<String, Sender>,
    assistants: HashMap<AssistantId, Assistant>,
}

struct Route<'a> {
    sender: &'a Sender,
    assistant: &'a Assistant,
}

impl Routes {
    async fn resolve(store: &dyn Store, batch: &WebhookBatch) -> Result<Self, StoreError> {
        let with_messages: HashSet<&String> = batch
            .messages
            .iter()
            .map(|m| &m.phone_number_id)
            .chain(batch.echoes.iter().map(|e| &e.phone_number_id))
            .collect();
        let ids = with_messages
            .iter()
            .copied()
            .chain(batch.statuses.iter().map(|s| &s.phone_number_id))
            .chain(batch.other_events.iter().filter_map(|e| e.phone_number_id.as_ref()))
            .chain(batch.change_errors.iter().filter_map(|e| e.phone_number_id.as_ref()));
        let mut senders = HashMap::new();
        let mut assistants: HashMap<AssistantId, Assistant> = HashMap::new();
        for id in ids {
            if senders.contains_key(id) {
                continue;
            }
            let Some(sender) = store.sender_by_provider_id(Provider::Meta, id).await? else { continue };
            if with_messages.contains(id) && !assistants.contains_key(&sender.assistant_id) {
                let assistant = store.get_assistant(sender.workspace_id, sender.assistant_id).await?;
                assistants.insert(assistant.id, assistant);
            }
            senders.insert(id.clone(), sender);
        }
        Ok(Self { senders, assistants })
    }

    /// The sender and its assistant, for a phone-number id that brought messages.
    fn get(&self, phone_number_id: &str) -> Option<Route<'_>> {
        let sender = self.senders.get(phone_number_id)?;
        let assistant = self.assistants.get(&sender.assistant_id)?;
        Some(Route { sender, assistant })
    }

    fn sender(&self, phone_number_id: &str) -> Option<&Sender> {
        self.senders.get(phone_number_id)
    }

    /// The workspace of the sender with this phone-number id, or `fallback`.
    fn workspace_of(&self, phone_number_id: Option<&str>, fallback: WorkspaceId) -> WorkspaceId {
        phone_number_id.and_then(|id| self.sender(id)).map_or(fallback, |s| s.workspace_id)
    }
}
/// Reactions, deletions and WhatsApp's own notices are recorded but do not call for an answer.
fn calls_for_a_reply(kind: MessageKind) -> bool {
    !matches!(kind, MessageKind::Reaction | MessageKind::Revoke | MessageKind::System)
}

fn customer_message(route: &Route<'_>, m: &InboundWhatsappMessage, stale: bool) -> InboundMessage {
    InboundMessage {
        workspace_id: route.sender.workspace_id,
        role: Role::User,
        conversation_type: ConversationType::Whatsapp,
        assistant_id: route.assistant.id,
        sender_id: Some(route.sender.id),
        conversation_id: None,
        customer: m.customer_identity(),
        customer_name: m.profile_name.clone(),
        provider_message_id: Some(m.wamid.clone()),
        kind: m.kind,
        content: m.content.clone(),
        payload: m.payload.clone(),
        reply_to: m.reply_to.clone(),
        forwarded: m.forwarded,
        sent_at: m.timestamp,
        response_delay: route.assistant.response_delay,
        wants_reply: route.sender.ai_enabled && !stale && calls_for_a_reply(m.kind),
        system_note: stale.then(|| {
            "Not answered automatically: this message reached confab more than the stale-replay limit after it was sent \
             (WhatsApp replays backlogs after an outage)."
                .to_string()
        }),
    }
}

fn business_app_echo(route: &Route<'_>, e: &EchoMessage) -> InboundMessage {
    let customer = CustomerIdentity::Whatsapp {
        wa_id: e.customer_wa_id().and_then(|id| PhoneNumber::parse(id).ok()),
        business_scoped_user_id: e.to_user_id.clone(),
    };
    InboundMessage {
        workspace_id: route.sender.workspace_id,
        role: Role::Agent,
        conversation_type: ConversationType::Whatsapp,
        assistant_id: route.assistant.id,
        sender_id: Some(route.sender.id),
        conversation_id: None,
        customer,
        customer_name: None,
        provider_message_id: Some(e.wamid.clone()),
        kind: e.kind,
        content: e.content.clone(),
        payload: e.payload.clone(),
        reply_to: e.reply_to.clone(),
        forwarded: false,
        sent_at: e.timestamp,
        response_delay: route.assistant.response_delay,
        wants_reply: false,
        system_note: None,
    }
}

/// A payload item kept as an event: a field confab records but does not act on yet.
fn kept_event(
    workspace_id: WorkspaceId,
    field: &str,
    phone_number_id: Option<&str>,
    reason: Option<String>,
    body: Vec<u8>,
) -> NewWebhookEvent {
    NewWebhookEvent {
        workspace_id: Some(workspace_id),
        provider: Provider::Meta,
        kind: WebhookEventKind::Event,
        field: Some(field.to_string()),
        phone_number_id: phone_number_id.map(str::to_string),
        reason,
        body,
    }
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
